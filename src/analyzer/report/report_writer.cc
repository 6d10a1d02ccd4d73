#include "analyzer/report/report_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "analyzer/report/report_format.h"

namespace yoloscope {
namespace {

using Json = nlohmann::ordered_json;

Json Num(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }
Json Opt(const std::optional<int64_t>& v) { return v ? Json(*v) : Json(nullptr); }

// Rounds to 4 significant decimals so that JSON stays readable and stable
// (the same whatever order the sums were added up in: StableValue first).
double Round(double v) {
  if (!std::isfinite(v) || v == 0) return v;
  v = StableValue(v);
  const double mag = std::pow(10.0, 4 - static_cast<int>(std::ceil(std::log10(std::fabs(v)))));
  return std::round(v * mag) / mag;
}
Json R(double v) { return Num(Round(v)); }
Json R(const std::optional<double>& v) { return v ? R(*v) : Json(nullptr); }

Json NumbersJson(const PredictedNumbers& n) {
  Json j;
  j["p50_ms"] = R(n.p50_ms);
  j["p90_ms"] = R(n.p90_ms);
  j["p99_ms"] = R(n.p99_ms);
  j["throughput_per_s"] = R(n.throughput_per_s);
  j["rejection_rate"] = R(n.rejection_rate);
  j["device_busy_fraction"] = R(n.device_busy_fraction);
  j["mean_batch_size"] = R(n.mean_batch_size);
  return j;
}

Json PredictedFixJson(const PredictedFix& p) {
  Json j;
  if (!p.cannot_predict.empty()) {
    j["cannot_predict"] = p.cannot_predict;
    return j;
  }
  j["what_if"] = p.what_if;
  j["summary"] = p.summary;
  j["observed"] = NumbersJson(p.observed);
  j["logged"] = NumbersJson(p.logged);
  j["predicted"] = NumbersJson(p.predicted);
  j["extrapolated"] = p.extrapolated;
  j["assumptions"] = p.assumptions;
  j["candidates"] = Json::array();
  for (const PredictedFix::Candidate& c : p.candidates) {
    Json o;
    o["what_if"] = c.what_if;
    o["p99_ms"] = R(c.p99_ms);
    o["rejection_rate"] = R(c.rejection_rate);
    if (!c.error.empty()) o["error"] = c.error;
    j["candidates"].push_back(o);
  }
  return j;
}

std::string TimeText(const AnalysisReport& r, int64_t ts_us) {
  return r.input.ts_monotonic ? FormatOffset(ts_us, r.summary.first_ts_us.value_or(0))
                              : FormatTime(ts_us);
}

Json TimeJson(const AnalysisReport& r, int64_t ts_us) { return TimeText(r, ts_us); }

Json GroupJson(const GroupSummary& g) {
  Json j;
  j["name"] = g.name;
  j["gpu_id"] = Opt(g.gpu_id);
  j["requests"] = g.requests;
  j["errors"] = g.errors;
  j["error_rate"] = R(g.error_rate);
  j["throughput_rps"] = R(g.throughput_rps);
  j["total_p50_ms"] = R(g.total_p50_ms);
  j["total_p99_ms"] = R(g.total_p99_ms);
  j["inference_p50_ms"] = R(g.inference_p50_ms);
  j["inference_p99_ms"] = R(g.inference_p99_ms);
  j["mean_batch_size"] = R(g.mean_batch_size);
  j["max_mem_used_mb"] = R(g.max_mem_used_mb);
  j["mem_total_mb"] = R(g.mem_total_mb);
  j["mean_gpu_util"] = R(g.mean_gpu_util);
  return j;
}

Json StreamJson(const StreamSummary& st) {
  Json j;
  j["name"] = st.name;
  j["frames"] = st.frames;
  j["errors"] = st.errors;
  j["fps"] = R(st.fps);
  j["target_fps"] = R(st.target_fps);
  j["source_fps"] = R(st.source_fps);
  j["frames_read"] = Opt(st.frames_read);
  j["frames_dropped"] = Opt(st.frames_dropped);
  j["frames_skipped"] = Opt(st.frames_skipped);
  j["drop_fraction"] = R(st.drop_fraction);
  j["latency_p50_ms"] = R(st.latency_p50_ms);
  j["latency_p99_ms"] = R(st.latency_p99_ms);
  j["decode_mean_ms"] = R(st.decode_mean_ms);
  j["queue_mean_ms"] = R(st.queue_mean_ms);
  j["inference_mean_ms"] = R(st.inference_mean_ms);
  j["mean_batch_size"] = R(st.mean_batch_size);
  return j;
}

Json RangeJson(const AnalysisReport& r, const TimeRange& t) {
  Json j;
  j["start"] = TimeJson(r, t.start_us);
  j["end"] = TimeJson(r, t.end_us);
  j["start_us"] = t.start_us;
  j["end_us"] = t.end_us;
  return j;
}

std::string Duration(double s) {
  if (s < 1) return FormatMs(s * 1000);
  if (s < 60) return FormatNumber(s) + " s";
  const int64_t t = static_cast<int64_t>(std::llround(s));
  if (t < 3600) return fmt::format("{}m {:02}s", t / 60, t % 60);
  if (t < 86400) return fmt::format("{}h {:02}m {:02}s", t / 3600, (t / 60) % 60, t % 60);
  return fmt::format("{}d {:02}h {:02}m", t / 86400, (t / 3600) % 24, (t / 60) % 60);
}

std::string Bytes(double b) {
  if (b >= 1e9) return FormatNumber(b / 1e9) + " GB";
  if (b >= 1e6) return FormatNumber(b / 1e6) + " MB";
  if (b >= 1e3) return FormatNumber(b / 1e3) + " kB";
  return FormatNumber(b) + " B";
}

std::string Count(int64_t n) {
  const std::string digits = std::to_string(n < 0 ? -n : n);
  std::string s;
  s.reserve(digits.size() + digits.size() / 3 + 1);
  if (n < 0) s += '-';
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s += ',';
    s += digits[i];
  }
  return s;
}

// "12.5 fps (target 10, source 25)"-style text of a stream's rates.
std::string StreamRates(const StreamSummary& st) {
  std::string t = st.fps ? FormatNumber(*st.fps) + " fps" : std::string("- fps");
  std::string paren;
  if (st.target_fps && *st.target_fps > 0) paren += "target " + FormatNumber(*st.target_fps);
  if (st.source_fps) {
    if (!paren.empty()) paren += ", ";
    paren += "source " + FormatNumber(*st.source_fps);
  }
  if (!paren.empty()) t += " (" + paren + ")";
  return t;
}

std::string StreamDrops(const StreamSummary& st) {
  if (!st.frames_read) return "-";
  std::string t = Count(st.frames_dropped.value_or(0)) + " of " + Count(*st.frames_read);
  if (st.drop_fraction) t += " (" + FormatPercent(*st.drop_fraction) + ")";
  return t;
}

std::string RangeText(const AnalysisReport& r, const TimeRange& t) {
  return TimeText(r, t.start_us) + " .. " + TimeText(r, t.end_us);
}

std::string Sparkline(const std::vector<std::optional<double>>& values, size_t width) {
  static constexpr const char* kBars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  std::vector<std::optional<double>> v = values;
  // Down-sample by max into `width` cells.
  if (v.size() > width && width > 0) {
    std::vector<std::optional<double>> out(width);
    for (size_t i = 0; i < values.size(); ++i) {
      auto& cell = out[i * width / values.size()];
      if (values[i]) cell = std::max(cell.value_or(values[i].value()), *values[i]);
    }
    v = std::move(out);
  }
  double lo = 1e300, hi = -1e300;
  for (const auto& x : v) {
    if (x) {
      lo = std::min(lo, *x);
      hi = std::max(hi, *x);
    }
  }
  std::string s;
  for (const auto& x : v) {
    if (!x) {
      s += " ";
      continue;
    }
    const int level = hi > lo ? static_cast<int>((*x - lo) / (hi - lo) * 7.0 + 0.5) : 0;
    s += kBars[std::clamp(level, 0, 7)];
  }
  return s;
}

struct Palette {
  bool on;
  std::string Wrap(std::string_view code, std::string_view text) const {
    if (!on) return std::string(text);
    return fmt::format("\033[{}m{}\033[0m", code, text);
  }
  std::string Bold(std::string_view t) const { return Wrap("1", t); }
  std::string Dim(std::string_view t) const { return Wrap("2", t); }
  std::string Sev(FindingSeverity s, std::string_view t) const {
    switch (s) {
      case FindingSeverity::kCritical:
        return Wrap("1;31", t);
      case FindingSeverity::kWarning:
        return Wrap("1;33", t);
      case FindingSeverity::kInfo:
        return Wrap("36", t);
    }
    return std::string(t);
  }
};

std::string SevLabel(FindingSeverity s) {
  switch (s) {
    case FindingSeverity::kCritical:
      return "CRITICAL";
    case FindingSeverity::kWarning:
      return "WARNING";
    case FindingSeverity::kInfo:
      return "info";
  }
  return "info";
}

std::string Bar(double share, int width) {
  const int n = static_cast<int>(std::clamp(share, 0.0, 1.0) * width + 0.5);
  std::string s;
  for (int i = 0; i < n; ++i) s += "█";
  for (int i = n; i < width; ++i) s += " ";
  return s;
}

// "served: 260 (28%), 4.33 rps" and the same for refused and failed (with
// their latency), for the text and Markdown summaries alike.
std::vector<std::string> OutcomeLines(const Summary& s) {
  std::vector<std::string> out;
  if (s.requests == 0) return out;
  auto rate = [](const std::optional<double>& rps) {
    return rps ? fmt::format(", {} rps", FormatNumber(*rps)) : std::string();
  };
  auto share = [&s](int64_t n) {
    return FormatPercent(static_cast<double>(n) / static_cast<double>(s.requests));
  };
  auto latency = [](const std::optional<double>& p50, const std::optional<double>& p99) {
    return p50 ? fmt::format(", latency p50 {} / p99 {}", FormatMs(*p50),
                             FormatMs(p99.value_or(*p50)))
               : std::string();
  };
  out.push_back(
      fmt::format("served: {} ({}){}", Count(s.served), share(s.served), rate(s.served_rps)));
  if (s.refused > 0) {
    out.push_back(fmt::format("refused: {} ({}){}{}", Count(s.refused), share(s.refused),
                              rate(s.refused_rps),
                              latency(s.refused_total_p50_ms, s.refused_total_p99_ms)));
  }
  if (s.failed > 0) {
    out.push_back(fmt::format("failed: {} ({}){}{}", Count(s.failed), share(s.failed),
                              rate(s.failed_rps),
                              latency(s.failed_total_p50_ms, s.failed_total_p99_ms)));
  }
  return out;
}

// The input's problems, one sentence each, for every format alike (JSON
// carries the same numbers in "input").
std::vector<std::string> InputProblems(const InputSummary& in) {
  std::vector<std::string> out;
  if (in.malformed > 0) {
    out.push_back(fmt::format("{} unreadable and skipped",
                              in.malformed == 1 ? std::string("1 line or row was")
                                                : Count(in.malformed) + " lines or rows were"));
    for (const std::string& e : in.malformed_examples) out.push_back("malformed: " + e);
  }
  if (in.field_errors > 0) {
    out.push_back(fmt::format(
        "{} with an unreadable field (left unknown)",
        in.field_errors == 1 ? std::string("1 record") : Count(in.field_errors) + " records"));
  }
  if (in.invalid_values > 0) {
    out.push_back(
        fmt::format("{} negative or non-finite stage time(s) ignored", Count(in.invalid_values)));
  }
  if (in.writer_dropped > 0) {
    out.push_back(
        fmt::format("the server dropped {} record(s) it could not log", Count(in.writer_dropped)));
  }
  for (const std::string& warning : in.warnings) out.push_back(warning);
  return out;
}

// A Markdown table cell: `|` escaped, line breaks as spaces.
std::string MdCell(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// "  (served requests only; 668 refused and 0 failed are in the summary)"
// when the log has refused or failed requests: the stage table is for
// served requests.
std::string ServedNote(const Summary& s) {
  if (s.refused == 0 && s.failed == 0) return "";
  return fmt::format("  (served requests only; {} refused and {} failed are in the summary)",
                     Count(s.refused), Count(s.failed));
}

std::string InputLine(const AnalysisReport& r) {
  const InputSummary& in = r.input;
  std::string s = fmt::format("{} {}, {} records", in.files.size(),
                              in.files.size() == 1 ? "file" : "files", Count(in.records));
  if (in.bytes > 0) s += ", " + Bytes(static_cast<double>(in.bytes));
  if (in.seconds > 0) {
    s += fmt::format(" in {}", Duration(in.seconds));
    if (in.bytes > 0)
      s += fmt::format(" ({}/s)", Bytes(static_cast<double>(in.bytes) / in.seconds));
  }
  if (in.malformed > 0) s += fmt::format(", {} malformed", Count(in.malformed));
  return s;
}

}  // namespace

std::string ReportWriter::Json(const AnalysisReport& r, int indent) {
  ::yoloscope::Json j;
  j["schema"] = kJsonSchema;

  ::yoloscope::Json in;
  in["files"] = r.input.files;
  ::yoloscope::Json formats = ::yoloscope::Json::object();
  for (const CountEntry& e : r.input.formats) formats[e.key] = e.count;
  in["formats"] = formats;
  in["bytes"] = r.input.bytes;
  in["raw_bytes"] = r.input.raw_bytes;
  in["records"] = r.input.records;
  in["malformed"] = r.input.malformed;
  in["malformed_examples"] = r.input.malformed_examples;
  in["field_errors"] = r.input.field_errors;
  in["writer_dropped"] = r.input.writer_dropped;
  in["invalid_values"] = r.input.invalid_values;
  in["warnings"] = r.input.warnings;
  in["ts_monotonic"] = r.input.ts_monotonic;
  in["threads"] = r.input.threads;
  in["seconds"] = R(r.input.seconds);
  in["bytes_per_s"] =
      r.input.seconds > 0 ? R(static_cast<double>(r.input.bytes) / r.input.seconds) : nullptr;
  j["input"] = in;

  const Summary& s = r.summary;
  ::yoloscope::Json sum;
  sum["requests"] = s.requests;
  sum["records"] = s.records;
  sum["batches"] = s.batches;
  sum["gpu_samples"] = s.gpu_samples;
  sum["errors"] = s.errors;
  sum["error_rate"] = R(s.error_rate);
  sum["served"] = s.served;
  sum["refused"] = s.refused;
  sum["failed"] = s.failed;
  sum["served_rps"] = R(s.served_rps);
  sum["refused_rps"] = R(s.refused_rps);
  sum["failed_rps"] = R(s.failed_rps);
  sum["refused_total_p50_ms"] = R(s.refused_total_p50_ms);
  sum["refused_total_p99_ms"] = R(s.refused_total_p99_ms);
  sum["failed_total_p50_ms"] = R(s.failed_total_p50_ms);
  sum["failed_total_p99_ms"] = R(s.failed_total_p99_ms);
  sum["first_ts"] = s.first_ts_us ? TimeJson(r, *s.first_ts_us) : nullptr;
  sum["last_ts"] = s.last_ts_us ? TimeJson(r, *s.last_ts_us) : nullptr;
  sum["span_s"] = R(s.span_s);
  sum["throughput_rps"] = R(s.throughput_rps);
  sum["mean_batch_size"] = R(s.mean_batch_size);
  sum["max_batch_size"] = Opt(s.max_batch_size);
  sum["mean_queue_len"] = R(s.mean_queue_len);
  sum["p90_queue_len"] = R(s.p90_queue_len);
  sum["max_queue_len"] = Opt(s.max_queue_len);
  sum["by_gpu"] = ::yoloscope::Json::array();
  for (const GroupSummary& g : s.by_gpu) sum["by_gpu"].push_back(GroupJson(g));
  sum["by_model"] = ::yoloscope::Json::array();
  for (const GroupSummary& g : s.by_model) sum["by_model"].push_back(GroupJson(g));
  sum["by_replica"] = ::yoloscope::Json::array();
  for (const GroupSummary& g : s.by_replica) sum["by_replica"].push_back(GroupJson(g));
  if (!s.by_stream.empty()) {  // only for logs with video streams
    sum["by_stream"] = ::yoloscope::Json::array();
    for (const StreamSummary& st : s.by_stream) sum["by_stream"].push_back(StreamJson(st));
  }
  sum["errors_by_status"] = ::yoloscope::Json::array();
  for (const CountEntry& e : s.errors_by_status) {
    sum["errors_by_status"].push_back({{"status", e.key}, {"count", e.count}});
  }
  sum["batch_sizes"] = ::yoloscope::Json::array();
  for (const BatchSizeEntry& e : s.batch_sizes) {
    sum["batch_sizes"].push_back(
        {{"batch_size", e.batch_size}, {"requests", e.requests}, {"batches", e.batches}});
  }
  j["summary"] = sum;

  j["stages"] = ::yoloscope::Json::array();
  for (const StageSummary& st : r.stages) {
    ::yoloscope::Json o;
    o["stage"] = st.stage;
    o["count"] = st.count;
    o["mean_ms"] = R(st.mean_ms);
    const bool known = st.stage != "other";
    o["p50_ms"] = known ? R(st.p50_ms) : nullptr;
    o["p90_ms"] = known ? R(st.p90_ms) : nullptr;
    o["p99_ms"] = known ? R(st.p99_ms) : nullptr;
    o["p999_ms"] = known ? R(st.p999_ms) : nullptr;
    o["max_ms"] = known ? R(st.max_ms) : nullptr;
    o["share"] = R(st.share);
    j["stages"].push_back(o);
  }

  j["findings"] = ::yoloscope::Json::array();
  for (const Finding& f : r.findings) {
    ::yoloscope::Json o;
    o["kind"] = f.kind;
    o["severity"] = std::string(SeverityName(f.severity));
    o["title"] = f.title;
    o["time_ranges"] = ::yoloscope::Json::array();
    for (const TimeRange& t : f.time_ranges) o["time_ranges"].push_back(RangeJson(r, t));
    o["affected_count"] = f.affected_count;
    o["affected_fraction"] = R(f.affected_fraction);
    o["request_ids"] = f.request_ids;
    o["evidence"] = f.evidence;
    ::yoloscope::Json m = ::yoloscope::Json::object();
    for (const auto& [k, v] : f.metrics) m[k] = R(v);
    o["metrics"] = m;
    o["recommendation"] = f.recommendation;
    if (f.predicted_fix) o["predicted_fix"] = PredictedFixJson(*f.predicted_fix);
    j["findings"].push_back(o);
  }

  j["skipped_checks"] = ::yoloscope::Json::array();
  for (const SkippedCheck& c : r.skipped_checks) {
    j["skipped_checks"].push_back(
        {{"check", c.check}, {"missing_fields", c.missing_fields}, {"reason", c.reason}});
  }

  ::yoloscope::Json ts;
  ts["window_s"] = R(r.time_series.window_s);
  ts["windows"] = ::yoloscope::Json::array();
  for (const WindowStats& w : r.time_series.windows) {
    ::yoloscope::Json o;
    o["start"] = TimeJson(r, w.start_us);
    o["start_us"] = w.start_us;
    o["end_us"] = w.end_us;
    o["records"] = w.records;
    o["requests"] = w.requests;
    o["errors"] = w.errors;
    o["rejections"] = w.rejections;
    o["ooms"] = w.ooms;
    o["alloc_retries"] = w.alloc_retries;
    o["throughput_rps"] = R(w.throughput_rps);
    o["error_rate"] = R(w.error_rate);
    o["total_p50_ms"] = R(w.total_p50_ms);
    o["total_p99_ms"] = R(w.total_p99_ms);
    o["inference_p50_ms"] = R(w.inference_p50_ms);
    o["inference_p99_ms"] = R(w.inference_p99_ms);
    o["inflation"] = R(w.inflation);
    o["queue_ms_mean"] = R(w.queue_ms_mean);
    if (!w.stage_means_ms.empty()) {
      ::yoloscope::Json stages = ::yoloscope::Json::object();
      for (const auto& [name, ms] : w.stage_means_ms) stages[name] = R(ms);
      o["stage_means_ms"] = stages;
    }
    o["queue_len_mean"] = R(w.queue_len_mean);
    o["batch_size_mean"] = R(w.batch_size_mean);
    o["mem_used_mb"] = R(w.mem_used_mb);
    o["mem_total_mb"] = R(w.mem_total_mb);
    o["mem_used_ratio"] = R(w.mem_used_ratio);
    o["mem_reserved_mb"] = R(w.mem_reserved_mb);
    o["mem_allocated_mb"] = R(w.mem_allocated_mb);
    o["mem_inactive_split_mb"] = R(w.mem_inactive_split_mb);
    o["mem_other_processes_mb"] = R(w.mem_other_processes_mb);
    o["gpu_util"] = R(w.gpu_util);
    o["sm_clock_mhz"] = R(w.sm_clock_mhz);
    o["temp_c"] = R(w.temp_c);
    o["throttled_fraction"] = R(w.throttled_fraction);
    o["slowest_request_id"] = w.slowest_request_id.empty()
                                  ? ::yoloscope::Json(nullptr)
                                  : ::yoloscope::Json(w.slowest_request_id);
    ts["windows"].push_back(o);
  }
  ts["changes"] = ::yoloscope::Json::array();
  for (const ChangePoint& c : r.time_series.changes) {
    ::yoloscope::Json o;
    o["metric"] = c.metric;
    o["kind"] = c.kind;
    o["range"] = RangeJson(r, c.range);
    o["value"] = R(c.value);
    o["baseline"] = R(c.baseline);
    o["score"] = R(c.score);
    ts["changes"].push_back(o);
  }
  j["time_series"] = ts;

  j["baselines"] = ::yoloscope::Json::array();
  for (const BaselineEntry& b : r.baselines) {
    ::yoloscope::Json o;
    o["model"] = b.model;
    o["gpu_id"] = Opt(b.gpu_id);
    o["batch_size"] = Opt(b.batch_size);
    o["input_size"] =
        b.input_size.empty() ? ::yoloscope::Json(nullptr) : ::yoloscope::Json(b.input_size);
    o["source"] = b.source;
    o["metric"] = b.metric;
    o["count"] = b.count;
    o["p50_ms"] = R(b.p50_ms);
    o["p90_ms"] = R(b.p90_ms);
    o["p99_ms"] = R(b.p99_ms);
    o["mean_ms"] = R(b.mean_ms);
    o["max_ms"] = R(b.max_ms);
    o["steady_ms"] = R(b.steady_ms);
    j["baselines"].push_back(o);
  }
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string ReportWriter::Text(const AnalysisReport& r, const TextReportOptions& options) {
  const Palette p{options.color};
  std::string out;
  auto line = [&out](const std::string& s) {
    out += s;
    out += '\n';
  };
  const Summary& s = r.summary;
  line(p.Bold("yoloscope analyze") + p.Dim("  " + InputLine(r)));
  for (const std::string& problem : InputProblems(r.input)) line(p.Dim("  note: " + problem));
  line("");

  line(p.Bold("Summary"));
  std::string l = fmt::format("  {} requests", Count(s.requests));
  if (s.span_s) l += " over " + Duration(*s.span_s);
  if (s.throughput_rps) l += fmt::format(", {} rps arriving", FormatNumber(*s.throughput_rps));
  l += fmt::format(", errors {} ({})", Count(s.errors), FormatPercent(s.error_rate));
  line(l);
  for (const std::string& o : OutcomeLines(s)) line("  " + o);
  if (s.first_ts_us && s.last_ts_us) {
    line(p.Dim(
        fmt::format("  from {} to {}", TimeText(r, *s.first_ts_us), TimeText(r, *s.last_ts_us))));
  }
  if (s.batches || s.gpu_samples) {
    line(fmt::format("  {} batch records, {} GPU samples", Count(s.batches), Count(s.gpu_samples)));
  }
  if (s.mean_batch_size || s.mean_queue_len) {
    std::string b = "  ";
    if (s.mean_batch_size)
      b += fmt::format("batch size mean {:.2f}, max {}", *s.mean_batch_size,
                       s.max_batch_size.value_or(0));
    if (s.mean_queue_len) {
      if (b.size() > 2) b += "; ";
      b += fmt::format("queue_len mean {:.1f}, p90 {}, max {}", *s.mean_queue_len,
                       FormatNumber(s.p90_queue_len.value_or(0)), s.max_queue_len.value_or(0));
    }
    line(b);
  }
  auto groups = [&](const char* label, const std::vector<GroupSummary>& gs) {
    if (gs.empty()) return;
    for (const GroupSummary& g : gs) {
      std::string t = fmt::format("  {:<9} {:<18} {:>10} req", label, g.name, Count(g.requests));
      if (g.total_p50_ms)
        t += fmt::format("  p50 {:>9}  p99 {:>9}", FormatMs(*g.total_p50_ms),
                         FormatMs(g.total_p99_ms.value_or(0)));
      if (g.errors) t += fmt::format("  errors {}", FormatPercent(g.error_rate));
      if (g.max_mem_used_mb) {
        t += fmt::format("  mem {}", FormatNumber(*g.max_mem_used_mb));
        if (g.mem_total_mb) t += fmt::format("/{}", FormatNumber(*g.mem_total_mb));
        t += " MB";
      }
      if (g.mean_gpu_util) t += fmt::format("  util {}%", FormatNumber(*g.mean_gpu_util));
      line(t);
    }
  };
  if (s.by_gpu.size() > 1 || (s.by_gpu.size() == 1 && s.by_gpu[0].requests > 0))
    groups("gpu", s.by_gpu);
  if (s.by_model.size() > 1) groups("model", s.by_model);
  if (!s.by_replica.empty()) groups("replica", s.by_replica);
  for (const StreamSummary& st : s.by_stream) {
    std::string t = fmt::format("  stream    {:<18} {:>10} frames  {}", st.name, Count(st.frames),
                                StreamRates(st));
    if (st.frames_read) t += "  dropped " + StreamDrops(st);
    if (st.latency_p50_ms)
      t += fmt::format("  latency p50 {} p99 {}", FormatMs(*st.latency_p50_ms),
                       FormatMs(st.latency_p99_ms.value_or(0)));
    if (st.errors) t += fmt::format("  errors {}", Count(st.errors));
    line(t);
  }
  if (!s.errors_by_status.empty()) {
    std::string t = "  errors by status:";
    for (size_t i = 0; i < s.errors_by_status.size() && i < 5; ++i) {
      t += fmt::format(" {} x{}", s.errors_by_status[i].key, Count(s.errors_by_status[i].count));
    }
    line(t);
  }
  line("");

  if (!r.stages.empty()) {
    line(p.Bold("Where the time goes") + p.Dim(ServedNote(s)));
    line(
        p.Dim(fmt::format("  {:<12}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}  {}", "stage",
                          "count", "mean", "p50", "p90", "p99", "p99.9", "max", "share of total")));
    for (const StageSummary& st : r.stages) {
      const bool other = st.stage == "other";
      auto cell = [&](double v) { return other ? std::string("-") : FormatMs(v); };
      std::string t =
          fmt::format("  {:<12}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}", st.stage,
                      Count(st.count), FormatMs(st.mean_ms), cell(st.p50_ms), cell(st.p90_ms),
                      cell(st.p99_ms), cell(st.p999_ms), cell(st.max_ms));
      if (st.share && st.stage != "total")
        t += "  " + Bar(*st.share, 20) + " " + FormatPercent(*st.share);
      line(t);
    }
    line("");
  }

  int counts[3] = {0, 0, 0};
  for (const Finding& f : r.findings) ++counts[static_cast<int>(f.severity)];
  if (r.findings.empty()) {
    line(p.Bold("Findings") + "  none: no bottleneck found in this log");
  } else {
    line(p.Bold("Findings") +
         fmt::format("  {} critical, {} warning, {} info", counts[2], counts[1], counts[0]));
  }
  for (const Finding& f : r.findings) {
    line("");
    line("  " + p.Sev(f.severity, SevLabel(f.severity)) + " " + p.Bold(f.kind) + "  " + f.title);
    if (!f.time_ranges.empty()) {
      std::string t = "when: ";
      for (size_t i = 0; i < f.time_ranges.size() && i < 4; ++i) {
        if (i) t += ", ";
        t += RangeText(r, f.time_ranges[i]);
      }
      if (f.time_ranges.size() > 4) t += fmt::format(" (+{} more)", f.time_ranges.size() - 4);
      line("    " + p.Dim(t));
    }
    if (f.affected_count > 0) {
      line("    " + p.Dim(fmt::format("affected: {} ({})", Count(f.affected_count),
                                      FormatPercent(f.affected_fraction))));
    }
    for (const std::string& e : f.evidence) line("    - " + e);
    line("    " + p.Bold("fix:") + " " + f.recommendation);
    if (f.predicted_fix && !f.predicted_fix->summary.empty()) {
      line("    " + p.Bold("predicted:") + " " + f.predicted_fix->summary);
    }
    if (!f.request_ids.empty()) {
      line("    " + p.Dim(fmt::format("e.g. {}", fmt::join(f.request_ids, ", "))));
    }
  }
  line("");

  if (!r.skipped_checks.empty()) {
    line(p.Bold("Checks not run"));
    for (const SkippedCheck& c : r.skipped_checks) {
      std::string t = fmt::format("  {:<22} ", c.check);
      if (!c.missing_fields.empty()) {
        t += fmt::format("needs {}", fmt::join(c.missing_fields, " and "));
        if (!c.reason.empty() && c.reason.rfind("the log has no", 0) != 0)
          t += " (" + c.reason + ")";
      } else {
        t += c.reason;
      }
      line(p.Dim(t));
    }
    line("");
  }

  const TimeSeries& ts = r.time_series;
  if (options.show_time_series && ts.windows.size() >= 3) {
    line(p.Bold("Time series") +
         p.Dim(fmt::format("  {} windows of {}", ts.windows.size(), Duration(ts.window_s))));
    auto row = [&](const char* label, auto get) {
      std::vector<std::optional<double>> v;
      double lo = 1e300, hi = -1e300;
      for (const WindowStats& w : ts.windows) {
        v.push_back(get(w));
        if (v.back()) {
          lo = std::min(lo, *v.back());
          hi = std::max(hi, *v.back());
        }
      }
      if (hi < lo) return;
      line(fmt::format("  {:<14} {}  {} .. {}", label, Sparkline(v, 60), FormatNumber(lo),
                       FormatNumber(hi)));
    };
    row("requests/s", [](const WindowStats& w) { return std::optional<double>(w.throughput_rps); });
    row("p99 ms", [](const WindowStats& w) { return w.total_p99_ms; });
    row("inflation", [](const WindowStats& w) { return w.inflation; });
    row("errors %", [](const WindowStats& w) {
      return w.requests ? std::optional<double>(100 * w.error_rate) : std::nullopt;
    });
    row("queue_len", [](const WindowStats& w) { return w.queue_len_mean; });
    row("batch size", [](const WindowStats& w) { return w.batch_size_mean; });
    row("mem used MB", [](const WindowStats& w) { return w.mem_used_mb; });
    row("gpu util %", [](const WindowStats& w) { return w.gpu_util; });
    for (const ChangePoint& c : ts.changes) {
      line(p.Dim(fmt::format(
          "  {} {} at {}: {} -> {}", c.metric, c.kind == "spike" ? "spike" : "level shift",
          TimeText(r, c.range.start_us), FormatNumber(c.baseline), FormatNumber(c.value))));
    }
    line("");
  }
  return out;
}

std::string ReportWriter::Markdown(const AnalysisReport& r) {
  std::string out;
  auto line = [&out](const std::string& s) {
    out += s;
    out += '\n';
  };
  const Summary& s = r.summary;
  line("# yoloscope analyze");
  line("");
  line(InputLine(r));
  line("");
  if (const auto problems = InputProblems(r.input); !problems.empty()) {
    line("Input problems:");
    line("");
    for (const std::string& problem : problems) line("- " + problem);
    line("");
  }
  line("## Summary");
  line("");
  line("| | |");
  line("|---|---|");
  line(fmt::format("| requests | {} |", Count(s.requests)));
  if (s.span_s) line(fmt::format("| span | {} |", Duration(*s.span_s)));
  if (s.throughput_rps) line(fmt::format("| arriving | {} rps |", FormatNumber(*s.throughput_rps)));
  line(fmt::format("| errors | {} ({}) |", Count(s.errors), FormatPercent(s.error_rate)));
  for (const std::string& o : OutcomeLines(s)) {
    const size_t colon = o.find(':');
    line(fmt::format("| {} | {} |", o.substr(0, colon), o.substr(colon + 2)));
  }
  if (s.mean_batch_size)
    line(fmt::format("| batch size | mean {:.2f}, max {} |", *s.mean_batch_size,
                     s.max_batch_size.value_or(0)));
  if (s.mean_queue_len)
    line(fmt::format("| queue_len | mean {:.1f}, max {} |", *s.mean_queue_len,
                     s.max_queue_len.value_or(0)));
  line("");
  auto groups = [&](const char* title, const std::vector<GroupSummary>& gs) {
    if (gs.empty()) return;
    line(fmt::format("### {}", title));
    line("");
    line("| name | requests | errors | p50 | p99 | max mem used | util |");
    line("|---|---:|---:|---:|---:|---:|---:|");
    for (const GroupSummary& g : gs) {
      line(fmt::format("| {} | {} | {} | {} | {} | {} | {} |", MdCell(g.name), Count(g.requests),
                       FormatPercent(g.error_rate),
                       g.total_p50_ms ? FormatMs(*g.total_p50_ms) : "-",
                       g.total_p99_ms ? FormatMs(*g.total_p99_ms) : "-",
                       g.max_mem_used_mb ? FormatNumber(*g.max_mem_used_mb) + " MB" : "-",
                       g.mean_gpu_util ? FormatNumber(*g.mean_gpu_util) + "%" : "-"));
    }
    line("");
  };
  groups("By GPU", s.by_gpu);
  groups("By model", s.by_model);
  groups("By replica", s.by_replica);
  if (!s.by_stream.empty()) {
    line("### By video stream");
    line("");
    line("| stream | frames | fps | dropped | latency p50 | p99 | decode | queue | inference |");
    line("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    auto ms = [](const std::optional<double>& v) { return v ? FormatMs(*v) : std::string("-"); };
    for (const StreamSummary& st : s.by_stream) {
      line(fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |", MdCell(st.name),
                       Count(st.frames), StreamRates(st), StreamDrops(st), ms(st.latency_p50_ms),
                       ms(st.latency_p99_ms), ms(st.decode_mean_ms), ms(st.queue_mean_ms),
                       ms(st.inference_mean_ms)));
    }
    line("");
  }
  if (!r.stages.empty()) {
    line("## Where the time goes");
    line("");
    if (const std::string note = ServedNote(s); !note.empty()) {
      line(note.substr(2));
      line("");
    }
    line("| stage | count | mean | p50 | p90 | p99 | p99.9 | max | share |");
    line("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const StageSummary& st : r.stages) {
      const bool other = st.stage == "other";
      auto cell = [&](double v) { return other ? std::string("-") : FormatMs(v); };
      line(fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |", st.stage, Count(st.count),
                       FormatMs(st.mean_ms), cell(st.p50_ms), cell(st.p90_ms), cell(st.p99_ms),
                       cell(st.p999_ms), cell(st.max_ms),
                       st.share ? FormatPercent(*st.share) : "-"));
    }
    line("");
  }
  line("## Findings");
  line("");
  if (r.findings.empty()) line("No bottleneck found in this log.");
  for (const Finding& f : r.findings) {
    line(fmt::format("### {} `{}`: {}", SevLabel(f.severity), f.kind, f.title));
    line("");
    if (!f.time_ranges.empty()) {
      std::vector<std::string> rs;
      for (const TimeRange& t : f.time_ranges) rs.push_back(RangeText(r, t));
      line(fmt::format("- **When:** {}", fmt::join(rs, ", ")));
    }
    if (f.affected_count > 0) {
      line(fmt::format("- **Affected:** {} ({})", Count(f.affected_count),
                       FormatPercent(f.affected_fraction)));
    }
    for (const std::string& e : f.evidence) line("- " + e);
    line(fmt::format("- **Fix:** {}", f.recommendation));
    if (f.predicted_fix && !f.predicted_fix->summary.empty()) {
      line(fmt::format("- **Predicted fix:** {}", f.predicted_fix->summary));
    }
    if (!f.request_ids.empty()) {
      std::vector<std::string> ids;
      for (const std::string& id : f.request_ids) ids.push_back("`" + id + "`");
      line(fmt::format("- **Examples:** {}", fmt::join(ids, ", ")));
    }
    line("");
  }
  if (!r.skipped_checks.empty()) {
    line("## Checks not run");
    line("");
    line("| check | missing fields | reason |");
    line("|---|---|---|");
    for (const SkippedCheck& c : r.skipped_checks) {
      line(fmt::format("| {} | {} | {} |", MdCell(c.check),
                       MdCell(fmt::format("{}", fmt::join(c.missing_fields, ", "))),
                       MdCell(c.reason)));
    }
    line("");
  }
  if (!r.time_series.changes.empty()) {
    line("## Changes over time");
    line("");
    line(fmt::format("Windows of {}.", Duration(r.time_series.window_s)));
    line("");
    for (const ChangePoint& c : r.time_series.changes) {
      line(fmt::format("- `{}` {} at {}: {} -> {}", c.metric,
                       c.kind == "spike" ? "spike" : "level shift", TimeText(r, c.range.start_us),
                       FormatNumber(c.baseline), FormatNumber(c.value)));
    }
    line("");
  }
  return out;
}

}  // namespace yoloscope
