#include "telemetry/process_telemetry.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

namespace yoloscope {
namespace {

// The value in kB of the line starting with `key` (e.g. "VmRSS:") in a
// /proc file made of "Key:   123 kB" lines; empty when absent.
std::optional<double> ReadKbField(const std::string& path, std::string_view key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) != 0) continue;
    const char* p = line.c_str() + key.size();
    char* end = nullptr;
    double v = std::strtod(p, &end);
    if (end == p) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

int AllowedCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace

ProcessTelemetry::ProcessTelemetry(const ProcessTelemetryConfig& config, Clock* clock)
    : config_(config), clock_(clock) {}

StatusOr<std::unique_ptr<ProcessTelemetry>> ProcessTelemetry::Create(
    const ProcessTelemetryConfig& config, Clock* clock) {
  if (clock == nullptr) return InvalidArgumentError("ProcessTelemetry needs a clock");
  std::unique_ptr<ProcessTelemetry> t(new ProcessTelemetry(config, clock));
  t->cores_ = AllowedCores();
  long tck = sysconf(_SC_CLK_TCK);
  if (tck > 0) t->ticks_per_second_ = tck;
  YS_ASSIGN_OR_RETURN(t->last_ticks_, t->ReadCpuTicks());
  t->last_ns_ = clock->NowNs();
  t->description_ = "process (/proc; CPU % of " + std::to_string(t->cores_) + " core" +
                    (t->cores_ == 1 ? "" : "s") + ")";
  if (!config.description_note.empty()) t->description_ += "; " + config.description_note;
  return t;
}

StatusOr<int64_t> ProcessTelemetry::ReadCpuTicks() const {
  std::string path = config_.proc_root + "/self/stat";
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.empty()) return UnavailableError("cannot read " + path + " (not a Linux host?)");
  // "pid (comm) state ppid ...": comm may hold spaces and ')', so parse after
  // the last ')'. Fields after it start at field 3 (state); utime is field
  // 14 and stime field 15.
  size_t close = text.rfind(')');
  if (close == std::string::npos) return DataLossError("unexpected format of " + path);
  std::istringstream fields(text.substr(close + 1));
  std::vector<std::string> tok;
  std::string t;
  while (fields >> t && tok.size() < 13) tok.push_back(t);
  if (tok.size() < 13) return DataLossError("unexpected format of " + path);
  char* end = nullptr;
  int64_t utime = std::strtoll(tok[11].c_str(), &end, 10);
  int64_t stime = std::strtoll(tok[12].c_str(), &end, 10);
  return utime + stime;
}

StatusOr<std::vector<DeviceSample>> ProcessTelemetry::Sample() {
  DeviceSample s;
  s.device = "cpu";
  int64_t now_ns = clock_->NowNs();
  auto ticks = ReadCpuTicks();
  if (ticks.ok()) {
    int64_t dt_ns = now_ns - last_ns_;
    if (dt_ns > 0) {
      double cpu_s = static_cast<double>(*ticks - last_ticks_) / ticks_per_second_;
      double util = 100.0 * cpu_s / (dt_ns / 1e9) / cores_;
      s.process_cpu_util = std::clamp(util, 0.0, 100.0);
    }
    last_ticks_ = *ticks;
    last_ns_ = now_ns;
  }
  if (auto rss_kb = ReadKbField(config_.proc_root + "/self/status", "VmRSS:")) {
    s.process_rss_mb = *rss_kb / 1024.0;
  }
  std::string meminfo = config_.proc_root + "/meminfo";
  auto total_kb = ReadKbField(meminfo, "MemTotal:");
  auto avail_kb = ReadKbField(meminfo, "MemAvailable:");
  if (total_kb) {
    s.host_mem_total_mb = *total_kb / 1024.0;
    if (avail_kb) s.host_mem_used_mb = (*total_kb - *avail_kb) / 1024.0;
  }
  return std::vector<DeviceSample>{std::move(s)};
}

}  // namespace yoloscope
