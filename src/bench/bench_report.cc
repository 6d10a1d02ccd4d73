#include "bench/bench_report.h"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace yoloscope {
namespace {

std::string Errors(const WindowSummary& s) {
  std::string out;
  for (const auto& [status, n] : s.status_counts) {
    if (status >= 200 && status <= 299) continue;
    if (!out.empty()) out += ' ';
    out += (status == 0 ? std::string("conn") : std::to_string(status)) + ":" + std::to_string(n);
  }
  return out.empty() ? "-" : out;
}

std::string BatchSizes(const WindowSummary& s) {
  if (s.batch_sizes.empty()) return "-";
  std::string out;
  for (const auto& [b, n] : s.batch_sizes) {
    if (!out.empty()) out += ' ';
    out += fmt::format("{}:{:.0f}%", b,
                       100.0 * static_cast<double>(n) / static_cast<double>(s.server_timed));
  }
  return out;
}

nlohmann::json SummaryJson(const WindowSummary& s) {
  nlohmann::json j = {
      {"duration_s", s.duration_s},
      {"responses", s.responses},
      {"ok", s.ok},
      {"throughput_rps", s.throughput},
      {"latency_ms",
       {{"mean", s.latency.mean_ms},
        {"p50", s.latency.p50_ms},
        {"p90", s.latency.p90_ms},
        {"p95", s.latency.p95_ms},
        {"p99", s.latency.p99_ms},
        {"max", s.latency.max_ms}}},
  };
  nlohmann::json statuses = nlohmann::json::object();
  for (const auto& [status, n] : s.status_counts) {
    statuses[status == 0 ? "connection_error" : std::to_string(status)] = n;
  }
  j["status_counts"] = statuses;
  if (s.server_timed > 0) {
    nlohmann::json stages = nlohmann::json::object();
    for (int i = 0; i < kNumStages; ++i) {
      stages[std::string(StageName(static_cast<Stage>(i)))] = {{"mean_ms", s.stages[i].mean_ms},
                                                               {"p50_ms", s.stages[i].p50_ms},
                                                               {"p99_ms", s.stages[i].p99_ms}};
    }
    nlohmann::json batches = nlohmann::json::object();
    for (const auto& [b, n] : s.batch_sizes) batches[std::to_string(b)] = n;
    j["server"] = {
        {"responses_with_timing", s.server_timed}, {"stages", stages}, {"batch_sizes", batches}};
  }
  return j;
}

}  // namespace

std::string_view LoadModeName(LoadMode mode) {
  switch (mode) {
    case LoadMode::kOpenLoop:
      return "open";
    case LoadMode::kReplay:
      return "replay";
    default:
      return "closed";
  }
}

std::string LevelResult::Label() const {
  switch (mode) {
    case LoadMode::kOpenLoop:
      return fmt::format("rate {:g}/s", level);
    case LoadMode::kReplay:
      return fmt::format("replay x{:g}", level);
    default:
      return fmt::format("concurrency {:g}", level);
  }
}

std::string BenchReport::ToTable() const {
  std::string out;
  out += fmt::format("target: {} ({})\nimages: {}\n", target, protocol, images);
  out += fmt::format("{:<18} {:>10} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8}  {:<8} {}\n", "level",
                     "ok req/s", "sent/s", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "max ms",
                     "stable", "errors");
  bool any_server = false;
  for (const LevelResult& l : levels) {
    const WindowSummary& s = l.summary;
    std::string stable = l.mode == LoadMode::kReplay ? "n/a"
                         : l.stable                  ? fmt::format("yes/{}", l.windows)
                                                     : fmt::format("NO/{}", l.windows);
    out += fmt::format(
        "{:<18} {:>10.1f} {:>9.1f} {:>8.3f} {:>8.3f} {:>8.3f} {:>8.3f} {:>8.3f}  "
        "{:<8} {}{}\n",
        l.Label(), s.throughput, l.send_rate, s.latency.p50_ms, s.latency.p90_ms, s.latency.p95_ms,
        s.latency.p99_ms, s.latency.max_ms, stable, Errors(s),
        l.unsent > 0 ? fmt::format(" unsent:{}", l.unsent) : "");
    any_server = any_server || s.server_timed > 0;
  }
  if (!any_server) return out;
  out += "\nserver-side stages from the responses' timing (mean / p99 ms), batch sizes seen:\n";
  out += fmt::format("{:<18}", "level");
  for (int i = 0; i < kNumStages; ++i) {
    out += fmt::format(" {:>15}", StageName(static_cast<Stage>(i)));
  }
  out += "  batch sizes\n";
  for (const LevelResult& l : levels) {
    const WindowSummary& s = l.summary;
    if (s.server_timed == 0) continue;
    out += fmt::format("{:<18}", l.Label());
    for (int i = 0; i < kNumStages; ++i) {
      out += fmt::format(" {:>15}",
                         fmt::format("{:.2f} / {:.2f}", s.stages[i].mean_ms, s.stages[i].p99_ms));
    }
    out += "  " + BatchSizes(s) + "\n";
  }
  return out;
}

std::string BenchReport::ToCsv() const {
  std::string out =
      "mode,level,throughput_rps,send_rps,ok,responses,p50_ms,p90_ms,p95_ms,p99_ms,max_ms,mean_ms,"
      "stable,windows,errors,unsent,max_in_flight";
  for (int i = 0; i < kNumStages; ++i) {
    std::string name(StageName(static_cast<Stage>(i)));
    out += "," + name + "_mean_ms," + name + "_p99_ms";
  }
  out += ",batch_sizes\n";
  for (const LevelResult& l : levels) {
    const WindowSummary& s = l.summary;
    out += fmt::format(
        "{},{:g},{:.3f},{:.3f},{},{},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f},{},{},"
        "{},{},{}",
        LoadModeName(l.mode), l.level, s.throughput, l.send_rate, s.ok, s.responses,
        s.latency.p50_ms, s.latency.p90_ms, s.latency.p95_ms, s.latency.p99_ms, s.latency.max_ms,
        s.latency.mean_ms, l.stable ? "true" : "false", l.windows, Errors(s), l.unsent,
        l.max_in_flight);
    for (int i = 0; i < kNumStages; ++i) {
      if (s.server_timed > 0) {
        out += fmt::format(",{:.4f},{:.4f}", s.stages[i].mean_ms, s.stages[i].p99_ms);
      } else {
        out += ",,";
      }
    }
    out += ',';
    if (s.server_timed > 0) out += BatchSizes(s);
    out += '\n';
  }
  return out;
}

std::string BenchReport::ToJson() const {
  nlohmann::json levels_json = nlohmann::json::array();
  for (const LevelResult& l : levels) {
    nlohmann::json windows = nlohmann::json::array();
    for (const WindowSummary& w : l.window_series) windows.push_back(SummaryJson(w));
    nlohmann::json j = {{"mode", LoadModeName(l.mode)},
                        {"level", l.level},
                        {"label", l.Label()},
                        {"stable", l.stable},
                        {"throughput_deviation", l.verdict.throughput_deviation},
                        {"p99_deviation", l.verdict.p99_deviation},
                        {"windows_measured", l.windows},
                        {"send_rate_rps", l.send_rate},
                        {"unsent", l.unsent},
                        {"max_in_flight", l.max_in_flight},
                        {"connections", l.connections},
                        {"summary", SummaryJson(l.summary)},
                        {"windows", windows}};
    levels_json.push_back(j);
  }
  nlohmann::json j = {{"tool", "yoloscope bench"},
                      {"target", target},
                      {"protocol", protocol},
                      {"images", images},
                      {"levels", levels_json}};
  return j.dump(2) + "\n";
}

Status WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return InternalError("cannot write " + path);
  out << text;
  out.close();
  if (!out) return InternalError("cannot write " + path);
  return Status::Ok();
}

Status BenchReport::Verdict() const {
  std::string failed;
  for (const LevelResult& level : levels) {
    const WindowSummary& s = level.summary;
    if (s.ok > 0) continue;
    if (!failed.empty()) failed += "; ";
    failed += level.Label() + ": ";
    if (s.responses == 0) {
      failed += "no response at all";
      continue;
    }
    failed += "all " + std::to_string(s.responses) + " requests failed (";
    bool first = true;
    for (const auto& [status, count] : s.status_counts) {
      if (!first) failed += ", ";
      first = false;
      failed += (status == 0 ? std::string("connection error") : std::to_string(status)) + " x " +
                std::to_string(count);
    }
    failed += ")";
  }
  if (failed.empty()) return Status::Ok();
  return FailedPreconditionError("nothing was measured: " + failed);
}

}  // namespace yoloscope
