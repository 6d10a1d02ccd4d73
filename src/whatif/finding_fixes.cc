#include "whatif/finding_fixes.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "analyzer/report/report_format.h"

namespace yoloscope {
namespace {

std::optional<double> MetricOf(const Finding& f, std::string_view name) {
  for (const auto& [k, v] : f.metrics) {
    if (k == name && std::isfinite(v)) return v;
  }
  return std::nullopt;
}

PredictedNumbers FromResult(const SimulationResult& r) {
  PredictedNumbers n;
  n.p50_ms = r.p50_ms;
  n.p90_ms = r.p90_ms;
  n.p99_ms = r.p99_ms;
  n.throughput_per_s = r.throughput_per_s;
  n.rejection_rate = r.rejection_rate;
  n.device_busy_fraction = r.device_busy_fraction;
  n.mean_batch_size = r.mean_batch_size;
  return n;
}

PredictedNumbers FromObserved(const ObservedRun& o) {
  PredictedNumbers n;
  if (o.has_latency) {
    n.p50_ms = o.p50_ms;
    n.p90_ms = o.p90_ms;
    n.p99_ms = o.p99_ms;
  }
  n.throughput_per_s = o.throughput_per_s;
  n.rejection_rate = o.rejection_rate;
  if (o.has_device_busy) n.device_busy_fraction = o.device_busy_fraction;
  if (o.batches > 0) n.mean_batch_size = o.mean_batch_size;
  return n;
}

std::string CannotPredict(const std::string& message) {
  const size_t at = message.find("cannot predict");
  if (at != std::string::npos) return message.substr(at);
  return "cannot predict: " + message;
}

// Fewer rejections first (beyond 0.1 point), then the lower p99.
bool Better(const SimulationResult& a, const SimulationResult& b) {
  if (std::fabs(a.rejection_rate - b.rejection_rate) > 0.001) {
    return a.rejection_rate < b.rejection_rate;
  }
  return a.p99_ms < b.p99_ms;
}

// "max_batch=8: p99 1.2 s -> 140 ms, throughput 95 -> 140 req/s (predicted;
// the log shows p99 1.3 s)". Both sides are the model's (the logged setting
// and the fix), as `analyze --what-if` compares them, so a bias of the model
// cancels; the log's own p99 is named beside them.
std::string FixSummary(const std::string& spec, const ObservedRun& o, const Prediction& logged,
                       const Prediction& fix) {
  const SimulationResult& l = logged.result;
  const SimulationResult& r = fix.result;
  std::string s = fmt::format("{}: p99 {} -> {}", spec, FormatMs(l.p99_ms), FormatMs(r.p99_ms));
  if (l.throughput_per_s > 0 &&
      std::fabs(r.throughput_per_s - l.throughput_per_s) / l.throughput_per_s >= 0.02) {
    s += fmt::format(", throughput {} -> {} req/s", FormatNumber(l.throughput_per_s),
                     FormatNumber(r.throughput_per_s));
  }
  if (l.rejection_rate > 0 || r.rejection_rate > 0) {
    s += fmt::format(", rejected {} -> {}", FormatPercent(l.rejection_rate),
                     FormatPercent(r.rejection_rate));
  }
  if (std::fabs(r.mean_batch_size - l.mean_batch_size) >= 0.5) {
    s += fmt::format(", mean batch {} -> {}", FormatNumber(l.mean_batch_size),
                     FormatNumber(r.mean_batch_size));
  }
  s += " (predicted";
  if (fix.extrapolated) s += ", extrapolated";
  // Near capacity the fix's latency is a range (WhatIfEngine's sensitivity).
  if (fix.sensitivity && fix.sensitivity->sensitive) s += ", sensitive to 1% of service time";
  if (o.has_latency) s += fmt::format("; the log shows p99 {}", FormatMs(o.p99_ms));
  return s + ")";
}

}  // namespace

bool FindingFixes::Linkable(std::string_view kind) {
  return kind == "underbatching" || kind == "batch_window_too_long" || kind == "queue_saturation";
}

std::vector<std::string> FindingFixes::Candidates(const Finding& f, const WhatIfSetting& logged) {
  std::vector<std::string> out;
  if (f.kind == "underbatching") {
    const int batch =
        static_cast<int>(std::clamp(MetricOf(f, "suggested_max_batch").value_or(8.0), 2.0, 64.0));
    const int64_t window_us = std::llround(
        std::clamp(MetricOf(f, "suggested_max_wait_ms").value_or(2.0), 0.0, 1000.0) * 1000);
    if (batch > logged.max_batch_size) {
      out.push_back(fmt::format("max_batch={},max_queue_delay_us={}", batch, window_us));
      out.push_back(fmt::format("max_batch={}", batch));
    } else {
      out.push_back(fmt::format("max_queue_delay_us={}", window_us));
      out.push_back(fmt::format("max_batch={},max_queue_delay_us={}",
                                std::min(64, 2 * logged.max_batch_size), window_us));
    }
  } else if (f.kind == "batch_window_too_long") {
    const auto wait_ms = MetricOf(f, "suggested_max_wait_ms");
    const int64_t window_us = wait_ms ? std::llround(std::clamp(*wait_ms, 0.0, 1000.0) * 1000)
                                      : logged.max_queue_delay_us / 4;
    out.push_back(fmt::format("max_queue_delay_us={}", window_us));
  } else if (f.kind == "queue_saturation") {
    // Another instance on the same device(s) only overlaps host work;
    // another device adds capacity. Both are tried.
    out.push_back(fmt::format("instances={}", logged.instances + 1));
    out.push_back(fmt::format("devices={}", std::max(1, logged.devices) + 1));
    if (logged.max_batch_size < 64) {
      out.push_back(fmt::format("max_batch={}", std::min(64, 2 * logged.max_batch_size)));
    }
  }
  return out;
}

void FindingFixes::Attach(const WhatIfEngine& engine, const Prediction& logged,
                          AnalysisReport* report) {
  const ObservedRun& o = engine.profile().observed;
  for (Finding& f : report->findings) {
    if (!Linkable(f.kind)) continue;
    PredictedFix fix;
    std::optional<Prediction> best;
    std::string first_error;
    for (const std::string& spec : Candidates(f, logged.setting)) {
      PredictedFix::Candidate c;
      c.what_if = spec;
      auto setting = ApplyWhatIf(spec, logged.setting);
      StatusOr<Prediction> p =
          setting.ok() ? engine.Predict(*setting) : StatusOr<Prediction>(setting.status());
      if (p.ok()) {
        c.p99_ms = p->result.p99_ms;
        c.rejection_rate = p->result.rejection_rate;
        if (!best || Better(p->result, best->result)) {
          best = std::move(p).value();
          fix.what_if = spec;
        }
      } else {
        c.error = CannotPredict(p.status().message());
        if (first_error.empty()) first_error = c.error;
      }
      fix.candidates.push_back(std::move(c));
    }
    if (!best) {
      PredictedFix none;
      none.cannot_predict = first_error.empty() ? "cannot predict: no fix to try" : first_error;
      f.predicted_fix = std::move(none);
      continue;
    }
    fix.observed = FromObserved(o);
    fix.logged = FromResult(logged.result);
    fix.predicted = FromResult(best->result);
    fix.extrapolated = best->extrapolated;
    fix.assumptions = best->assumptions;
    fix.summary = FixSummary(fix.what_if, o, logged, *best);
    f.predicted_fix = std::move(fix);
  }
}

void FindingFixes::AttachCannotPredict(const std::string& why, AnalysisReport* report) {
  for (Finding& f : report->findings) {
    if (!Linkable(f.kind)) continue;
    PredictedFix none;
    none.cannot_predict = CannotPredict(why);
    f.predicted_fix = std::move(none);
  }
}

WhatIfAnalyzeExtension::WhatIfAnalyzeExtension(WhatIfOptions options)
    : options_(std::move(options)) {}

WhatIfAnalyzeExtension::WhatIfAnalyzeExtension(WhatIfOptions options,
                                               std::shared_ptr<const WhatIfEngine> engine,
                                               WhatIfReportInput report)
    : options_(std::move(options)),
      engine_(std::move(engine)),
      input_(std::move(report)),
      has_rows_(true) {}

void WhatIfAnalyzeExtension::Annotate(AnalysisReport* report) {
  const bool any = std::any_of(report->findings.begin(), report->findings.end(),
                               [](const Finding& f) { return FindingFixes::Linkable(f.kind); });
  if (!any) return;
  if (!engine_ && options_.predict_max_requests > 0 &&
      report->summary.requests > options_.predict_max_requests) {
    FindingFixes::AttachCannotPredict(
        "the log has " + std::to_string(report->summary.requests) +
            " requests, above --predict-max-requests " +
            std::to_string(options_.predict_max_requests) +
            " (a prediction reads the log again and holds every request in memory); run "
            "`analyze LOG --what-if SPEC`, or raise the limit",
        report);
    return;
  }
  if (!engine_) {
    // stdin was consumed by the diagnosis: it cannot be read again.
    if (std::find(options_.paths.begin(), options_.paths.end(), "-") != options_.paths.end()) {
      FindingFixes::AttachCannotPredict("needs the log in a file (it was read from stdin)", report);
      return;
    }
    WhatIfOptions o = options_;
    o.format = "text";
    auto engine = WhatIfCommand::LoadEngine(o);
    if (!engine.ok()) {
      FindingFixes::AttachCannotPredict(engine.status().message(), report);
      return;
    }
    engine_ = std::shared_ptr<const WhatIfEngine>(std::move(engine).value());
  }
  if (!input_) {
    auto in = WhatIfCommand::PredictLogged(*engine_, options_);
    if (!in.ok()) {
      FindingFixes::AttachCannotPredict(in.status().message(), report);
      return;
    }
    input_ = std::move(in).value();
  }
  FindingFixes::Attach(*engine_, input_->logged, report);
}

void WhatIfAnalyzeExtension::ExtendHtml(nlohmann::json* doc) {
  if (!has_rows_ || !input_ || !engine_) return;
  (*doc)["what_if"] = nlohmann::json::parse(WhatIfReport::Json(*input_).dump());
}

}  // namespace yoloscope
