#include "whatif/what_if_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "whatif/quantile.h"

namespace yoloscope {
namespace {

// One compared quantity. `points`: the change is in percentage points
// (rates and fractions), else relative (%).
struct Metric {
  const char* key;
  const char* label;
  double (*predicted)(const SimulationResult&);
  // The log's own value; NaN when the log does not show it.
  double (*observed)(const ObservedRun&);
  double scale;  // display factor (100 for fractions shown in %)
  int decimals;
  bool points;
};

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const Metric kMetrics[] = {
    {"p50_ms", "p50 ms", [](const SimulationResult& r) { return r.p50_ms; },
     [](const ObservedRun& o) { return o.has_latency ? o.p50_ms : kNaN; }, 1, 1, false},
    {"p90_ms", "p90 ms", [](const SimulationResult& r) { return r.p90_ms; },
     [](const ObservedRun& o) { return o.has_latency ? o.p90_ms : kNaN; }, 1, 1, false},
    {"p99_ms", "p99 ms", [](const SimulationResult& r) { return r.p99_ms; },
     [](const ObservedRun& o) { return o.has_latency ? o.p99_ms : kNaN; }, 1, 1, false},
    {"throughput_per_s", "throughput req/s",
     [](const SimulationResult& r) { return r.throughput_per_s; },
     [](const ObservedRun& o) { return o.throughput_per_s; }, 1, 1, false},
    {"rejection_rate", "rejected %", [](const SimulationResult& r) { return r.rejection_rate; },
     [](const ObservedRun& o) { return o.rejection_rate; }, 100, 2, true},
    {"device_busy_fraction", "device busy %",
     [](const SimulationResult& r) { return r.device_busy_fraction; },
     [](const ObservedRun& o) { return o.has_device_busy ? o.device_busy_fraction : kNaN; }, 100,
     1, true},
    {"mean_batch_size", "mean batch size",
     [](const SimulationResult& r) { return r.mean_batch_size; },
     [](const ObservedRun& o) { return o.mean_batch_size; }, 1, 2, false},
    {"mean_queue_length", "mean queue length",
     [](const SimulationResult& r) { return r.mean_queue_length; },
     [](const ObservedRun& o) { return o.has_queue_len ? o.mean_queue_length : kNaN; }, 1, 2,
     false},
};

std::string Num(double v, int decimals) {
  if (std::isnan(v)) return "-";
  return fmt::format("{:.{}f}", v, decimals);
}

std::string Change(const Metric& m, double base, double now) {
  if (m.points) {
    const double d = (now - base) * m.scale;
    if (std::fabs(d) < 0.05) return "";
    return fmt::format(" ({:+.1f} pt)", d);
  }
  if (!(base > 0)) return "";
  const double rel = (now - base) / base * 100;
  if (std::fabs(rel) < 0.5) return " (=)";
  return fmt::format(" ({:+.0f}%)", rel);
}

nlohmann::ordered_json SettingJson(const WhatIfSetting& s, double rate_scale) {
  nlohmann::ordered_json j;
  j["max_batch"] = s.max_batch_size;
  j["max_queue_delay_us"] = s.max_queue_delay_us;
  j["instances"] = s.instances;
  if (s.devices > 0) j["devices"] = s.devices;
  j["queue_size"] = s.max_queue_size;
  j["preprocess_workers"] = s.preprocess_workers;
  j["postprocess_workers"] = s.postprocess_workers;
  j["policy"] = std::string(BatchPolicyName(s.policy));
  j["rate_scale"] = rate_scale;
  return j;
}

// A latency distribution (DistributionQuantiles) rounded to the microsecond.
nlohmann::ordered_json DistributionJson(const std::vector<double>& ms) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (double v : ms) j.push_back(std::round(v * 1000) / 1000);
  return j;
}

nlohmann::ordered_json PredictedJson(const SimulationResult& r) {
  nlohmann::ordered_json j;
  for (const Metric& m : kMetrics) j[m.key] = m.predicted(r);
  j["offered"] = r.offered;
  j["served"] = r.served;
  j["rejected"] = r.rejected;
  j["batches"] = r.batches;
  j["largest_batch"] = r.largest_batch;
  j["span_s"] = r.span_s;
  j["distribution_ms"] = DistributionJson(r.distribution_ms);
  return j;
}

nlohmann::ordered_json ChangeJson(const SimulationResult& base, const SimulationResult& now) {
  nlohmann::ordered_json j;
  for (const Metric& m : kMetrics) {
    const double b = m.predicted(base), n = m.predicted(now);
    if (m.points) {
      j[std::string(m.key) + "_points"] = (n - b) * 100;
    } else if (b > 0) {
      j[std::string(m.key) + "_pct"] = (n - b) / b * 100;
    } else {
      j[std::string(m.key) + "_pct"] = nullptr;
    }
  }
  return j;
}

nlohmann::ordered_json PredictionJson(const std::string& label, const Prediction& p,
                                      const Prediction* logged) {
  nlohmann::ordered_json j;
  j["label"] = label;
  j["setting"] = SettingJson(p.setting, p.rate_scale);
  j["predicted"] = PredictedJson(p.result);
  if (logged != nullptr) j["change_vs_logged"] = ChangeJson(logged->result, p.result);
  j["extrapolated"] = p.extrapolated;
  j["assumptions"] = p.assumptions;
  j["replays"] = p.replays;
  if (p.sensitivity) {
    const Sensitivity& s = *p.sensitivity;
    nlohmann::ordered_json e;
    e["service_pct"] = s.service_pct;
    e["p50_pct"] = s.p50_pct;
    e["mean_pct"] = s.mean_pct;
    e["p99_pct"] = s.p99_pct;
    e["throughput_pct"] = s.throughput_pct;
    e["sensitive"] = s.sensitive;
    if (s.sensitive) {
      e["p50_range_ms"] = s.p50_range_ms;
      e["p99_range_ms"] = s.p99_range_ms;
    }
    j["sensitivity"] = std::move(e);
  }
  return j;
}

nlohmann::ordered_json HeaderJson(const WhatIfReportInput& in) {
  const PipelineProfile& prof = in.engine->profile();
  const ObservedRun& o = prof.observed;
  nlohmann::ordered_json j;
  j["schema"] = WhatIfReport::kJsonSchema;
  j["source"] = in.source;
  j["model"] = prof.model;
  nlohmann::ordered_json log;
  log["replayed"] = prof.requests.size();
  log["offered"] = o.offered;
  log["served"] = o.served;
  log["rejected"] = o.rejected;
  log["timed_out"] = o.timed_out;
  log["mean_rate_per_s"] = in.engine->arrivals().MeanRatePerS();
  log["peak_rate_per_s"] = in.engine->arrivals().PeakRatePerS();
  log["duration_s"] = in.engine->arrivals().DurationS();
  log["skip_s"] =
      static_cast<double>(prof.measure_from_us - prof.requests.front().arrival_us) / 1e6;
  nlohmann::ordered_json observed;
  for (const Metric& m : kMetrics) {
    const double v = m.observed(o);
    observed[m.key] = std::isnan(v) ? nlohmann::ordered_json() : nlohmann::ordered_json(v);
  }
  observed["distribution_ms"] = DistributionJson(o.distribution_ms);
  log["observed"] = observed;
  // The quantiles (0-1) of every distribution_ms array in this document.
  log["distribution_quantiles"] = DistributionQuantiles();
  j["log"] = log;
  nlohmann::ordered_json curve = nlohmann::ordered_json::array();
  for (const ObservedBatchSize& b : in.engine->curve().observed()) {
    curve.push_back({{"batch_size", b.batch_size},
                     {"batches", b.batches},
                     {"median_ms", b.median_us / 1000},
                     {"p10_ms", b.p10_us / 1000},
                     {"p90_ms", b.p90_us / 1000},
                     {"p99_ms", b.p99_us / 1000}});
  }
  j["curve"] = {{"source", prof.device_source},
                {"observed", curve},
                {"slope_above_ms_per_image", in.engine->curve().upper_slope_us() / 1000},
                {"slope_below_ms_per_image", in.engine->curve().lower_slope_us() / 1000},
                {"turnaround_ms", prof.turnaround_ms}};
  if (in.engine->curve().has_overhead()) {
    j["curve"]["host_work_per_batch"] = {
        {"median_ms", in.engine->curve().median_overhead_us() / 1000},
        {"base_ms", in.engine->curve().overhead_base_us() / 1000},
        {"per_image_ms", in.engine->curve().overhead_slope_us() / 1000}};
  }
  if (!prof.wake_us.empty()) {
    std::vector<double> w = prof.wake_us;
    std::sort(w.begin(), w.end());
    j["curve"]["wake_up"] = {{"median_ms", QuantileOfSorted(w, 0.5) / 1000},
                             {"p90_ms", QuantileOfSorted(w, 0.9) / 1000},
                             {"batches", w.size()}};
  }
  j["notes"] = prof.notes;
  j["logged_setting_sources"] = in.logged_sources;
  j["logged"] = PredictionJson("logged", in.logged, nullptr);
  return j;
}

std::string HeaderText(const WhatIfReportInput& in) {
  const PipelineProfile& prof = in.engine->profile();
  const ObservedRun& o = prof.observed;
  const ArrivalReplay& a = in.engine->arrivals();
  std::string out = fmt::format(
      "what-if from {}{}: {} requests over {:.1f} s ({:.1f} req/s mean, {:.1f} req/s 1 s peak)\n",
      in.source, prof.model.empty() ? "" : " (model " + prof.model + ")", prof.requests.size(),
      a.DurationS(),
      a.MeanRatePerS(), a.PeakRatePerS());
  const double skipped_s =
      static_cast<double>(prof.measure_from_us - prof.requests.front().arrival_us) / 1e6;
  if (skipped_s > 0) {
    out += fmt::format("measured from {:.1f} s on ({} requests; the warm-up is replayed, not counted)\n",
                       skipped_s, o.offered);
  }
  out += "logged setting: ";
  for (size_t i = 0; i < in.logged_sources.size(); ++i) {
    out += (i ? ", " : "") + in.logged_sources[i];
  }
  out += "\nbatch device time (" + prof.device_source + "), median [p10, p90] ms:";
  for (const ObservedBatchSize& b : in.engine->curve().observed()) {
    out += fmt::format("  b{}: {:.2f} [{:.2f}, {:.2f}] x{}", b.batch_size, b.median_us / 1000,
                       b.p10_us / 1000, b.p90_us / 1000, b.batches);
  }
  const BatchLatencyFit& curve = in.engine->curve();
  if (curve.has_overhead()) {
    out += fmt::format(
        "\ninstance host work per batch (busy_ms - device time): {:.3f} ms median, modelled as "
        "{:.3f} + {:.3f} ms per image plus the logged spread\n",
        curve.median_overhead_us() / 1000, curve.overhead_base_us() / 1000,
        curve.overhead_slope_us() / 1000);
  } else {
    out += fmt::format("\ninstance turnaround between batches: {:.3f} ms{}\n", prof.turnaround_ms,
                       prof.turnaround_ms > 0
                           ? " (floor of start gap - device time in batch records; no busy_ms)"
                           : " (not shown by the log)");
  }
  if (!prof.wake_us.empty()) {
    std::vector<double> w = prof.wake_us;
    std::sort(w.begin(), w.end());
    out += fmt::format(
        "idle instance's wake-up (batch start - the fixed policy's dispatch moment): {:.3f} ms "
        "median, {:.3f} ms p90, over {} batches; drawn for each wake-up\n",
        QuantileOfSorted(w, 0.5) / 1000, QuantileOfSorted(w, 0.9) / 1000, w.size());
  }
  out += in.engine->replays() > 1 ? fmt::format("predicted figures: medians of {} seeded replays\n",
                                                in.engine->replays())
                                  : "predicted figures: one seeded replay\n";
  for (const std::string& n : prof.notes) out += "note: " + n + "\n";
  return out;
}

// A table: first column labels, then one column per entry of `columns`.
std::string Table(const std::vector<std::string>& headers,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(headers.size(), 0);
  for (size_t c = 0; c < headers.size(); ++c) width[c] = headers[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t c = 0; c < cells.size(); ++c) {
      s += c == 0 ? fmt::format("{:<{}}", cells[c], width[c])
                  : fmt::format("  {:>{}}", cells[c], width[c]);
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  };
  std::string out = line(headers);
  for (const auto& row : rows) out += line(row);
  return out;
}

}  // namespace

std::string WhatIfReport::Text(const WhatIfReportInput& in) {
  std::string out = HeaderText(in) + "\n";
  std::vector<std::string> headers = {"", "observed", "logged (pred.)"};
  for (size_t i = 0; i < in.rows.size(); ++i) headers.push_back(fmt::format("[{}]", i + 1));
  std::vector<std::vector<std::string>> rows;
  const ObservedRun& o = in.engine->profile().observed;
  for (const Metric& m : kMetrics) {
    std::vector<std::string> row = {m.label, Num(m.observed(o) * m.scale, m.decimals),
                                    Num(m.predicted(in.logged.result) * m.scale, m.decimals)};
    for (const WhatIfRow& w : in.rows) {
      if (!w.prediction) {
        row.push_back("n/a");
        continue;
      }
      const double v = m.predicted(w.prediction->result);
      row.push_back(Num(v * m.scale, m.decimals) +
                    Change(m, m.predicted(in.logged.result), v));
    }
    rows.push_back(std::move(row));
  }
  out += Table(headers, rows);
  out += "\n(change) is against the logged setting's prediction; \"observed\" is the log itself\n";
  for (const std::string& a : in.logged.assumptions) out += "logged: " + a + "\n";
  for (size_t i = 0; i < in.rows.size(); ++i) {
    const WhatIfRow& w = in.rows[i];
    out += fmt::format("[{}] {}", i + 1, w.spec);
    if (!w.prediction) {
      out += ": " + w.error + "\n";
      continue;
    }
    out += w.prediction->extrapolated ? "  (extrapolated)\n" : "\n";
    for (const std::string& a : w.prediction->assumptions) out += "    " + a + "\n";
  }
  return out;
}

nlohmann::ordered_json WhatIfReport::Json(const WhatIfReportInput& in) {
  nlohmann::ordered_json j = HeaderJson(in);
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const WhatIfRow& w : in.rows) {
    if (w.prediction) {
      rows.push_back(PredictionJson(w.spec, *w.prediction, &in.logged));
    } else {
      rows.push_back({{"label", w.spec}, {"error", w.error}});
    }
  }
  j["what_if"] = rows;
  return j;
}

std::string WhatIfReport::PlanText(const WhatIfReportInput& in, const PlanConfig& config,
                                   const PlanResult& plan) {
  std::string out = HeaderText(in);
  out += fmt::format(
      "goal: p99 <= {:.1f} ms with <= {:.2f}% rejected; searched {} settings (max_batch x window x "
      "1..{} instances, one per device)\n\n",
      config.slo_p99_ms, config.max_rejection_rate * 100, plan.candidates.size(),
      config.max_instances);
  const SimulationResult& base = in.logged.result;
  if (!plan.recommended) {
    out += "no setting meets the goal within the search";
    // The closest: the lowest p99 among those within the rejection bound.
    const PlanCandidate* best = nullptr;
    for (const PlanCandidate& c : plan.candidates) {
      if (c.prediction && (best == nullptr || c.prediction->result.p99_ms < best->prediction->result.p99_ms)) best = &c;
    }
    if (best != nullptr) {
      out += fmt::format("; lowest predicted p99: {} -> {:.1f} ms, {:.2f}% rejected",
                         best->setting.label, best->prediction->result.p99_ms,
                         best->prediction->result.rejection_rate * 100);
    }
    out += "\n";
  } else {
    const PlanCandidate& c = plan.candidates[*plan.recommended];
    const SimulationResult& r = c.prediction->result;
    out += fmt::format("recommended: {}{}\n", c.setting.label,
                       c.prediction->extrapolated ? "  (extrapolated)" : "");
    std::vector<std::vector<std::string>> rows;
    for (const Metric& m : kMetrics) {
      rows.push_back({m.label, Num(m.predicted(base) * m.scale, m.decimals),
                      Num(m.predicted(r) * m.scale, m.decimals) + Change(m, m.predicted(base), m.predicted(r))});
    }
    out += Table({"", "logged (pred.)", "recommended (pred.)"}, rows);
    for (const std::string& a : c.prediction->assumptions) out += "    " + a + "\n";
  }
  // Best candidate per instance count, for context.
  out += "\nbest per instance count (lowest predicted p99):\n";
  std::vector<std::vector<std::string>> rows;
  for (int n = 1; n <= config.max_instances; ++n) {
    const PlanCandidate* best = nullptr;
    int unpredictable = 0;
    for (const PlanCandidate& c : plan.candidates) {
      if (c.setting.instances != n) continue;
      if (!c.prediction) {
        ++unpredictable;
        continue;
      }
      if (best == nullptr || c.prediction->result.p99_ms < best->prediction->result.p99_ms) best = &c;
    }
    if (best == nullptr) {
      rows.push_back({fmt::format("{}", n), "-", "-", "-", "-",
                      fmt::format("{} settings cannot be predicted", unpredictable)});
      continue;
    }
    const SimulationResult& r = best->prediction->result;
    rows.push_back({fmt::format("{}", n),
                    fmt::format("max_batch={},window_us={}", best->setting.max_batch_size,
                                best->setting.max_queue_delay_us),
                    Num(r.p99_ms, 1), Num(r.rejection_rate * 100, 2), Num(r.device_busy_fraction * 100, 1),
                    std::string(best->meets ? "meets" : "misses") +
                        (best->prediction->extrapolated ? ", extrapolated" : "")});
  }
  out += Table({"instances", "setting", "p99 ms", "rejected %", "busy %", ""}, rows);
  int unpredictable = 0;
  std::string example;
  for (const PlanCandidate& c : plan.candidates) {
    if (!c.prediction) {
      if (unpredictable++ == 0) example = c.error;
    }
  }
  if (unpredictable > 0) {
    out += fmt::format("{} settings could not be predicted, e.g.: {}\n", unpredictable, example);
  }
  return out;
}

nlohmann::ordered_json WhatIfReport::PlanJson(const WhatIfReportInput& in, const PlanConfig& config,
                                              const PlanResult& plan) {
  nlohmann::ordered_json j = HeaderJson(in);
  j["goal"] = {{"slo_p99_ms", config.slo_p99_ms},
               {"max_rejection_rate", config.max_rejection_rate},
               {"max_instances", config.max_instances}};
  if (plan.recommended) {
    const PlanCandidate& c = plan.candidates[*plan.recommended];
    j["recommended"] = PredictionJson(c.setting.label, *c.prediction, &in.logged);
  } else {
    j["recommended"] = nullptr;
  }
  nlohmann::ordered_json cands = nlohmann::ordered_json::array();
  for (const PlanCandidate& c : plan.candidates) {
    nlohmann::ordered_json e;
    e["label"] = c.setting.label;
    if (c.prediction) {
      e["meets"] = c.meets;
      e["extrapolated"] = c.prediction->extrapolated;
      e["p99_ms"] = c.prediction->result.p99_ms;
      e["rejection_rate"] = c.prediction->result.rejection_rate;
      e["throughput_per_s"] = c.prediction->result.throughput_per_s;
    } else {
      e["error"] = c.error;
    }
    cands.push_back(e);
  }
  j["candidates"] = cands;
  return j;
}

}  // namespace yoloscope
