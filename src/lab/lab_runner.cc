#include "lab/lab_runner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "analyzer/analyze_command.h"
#include "bench/arrival_schedule.h"
#include "bench/image_set.h"
#include "bench/load_generator.h"
#include "lab/served_check.h"
#include "server/inference_server.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;

// Photos cut at 55% of their bytes: the header survives (the load
// generator and the server's probe accept them), decoding fails.
StatusOr<std::string> MakeCorruptImages(const std::string& photos, const std::string& dir) {
  fs::create_directories(dir);
  int n = 0;
  for (const auto& e : fs::directory_iterator(photos)) {
    if (e.path().extension() != ".jpg") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(fs::path(dir) / e.path().filename(), std::ios::binary)
        << bytes.substr(0, bytes.size() * 55 / 100);
    ++n;
  }
  if (n == 0) return NotFoundError("no .jpg photos in " + photos);
  return dir;
}

// "generated:WxH" -> w, h; false otherwise.
bool ParseGenerated(const std::string& spec, int* w, int* h) {
  char rest = 0;
  return std::sscanf(spec.c_str(), "generated:%dx%d%c", w, h, &rest) == 2 && *w > 0 && *h > 0;
}

// A folder the load generator cycles in file-name order: files 0..n-2 are the
// base images (the photos, or generated WxH variants), file n-1 the odd one
// (a generated W2xH2 JPEG), so every n-th request carries it.
StatusOr<std::string> MakeEveryNthFolder(const std::string& base, int n, int w2, int h2,
                                         const LabConfig& cfg, const std::string& dir) {
  std::vector<std::string> base_images;
  int w = 0, h = 0;
  if (base == "photos") {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(cfg.photos_dir)) {
      if (e.path().extension() == ".jpg") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      std::ifstream in(f, std::ios::binary);
      base_images.emplace_back((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    }
    if (base_images.empty()) return NotFoundError("no .jpg photos in " + cfg.photos_dir);
  } else if (ParseGenerated(base, &w, &h)) {
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      auto jpeg = ImageSet::GenerateJpeg(w, h, 90, seed);
      if (!jpeg.ok()) return jpeg.status();
      base_images.push_back(std::move(jpeg).value());
    }
  } else {
    return InvalidArgumentError("unknown images '" + base +
                                "' before ', every' (photos or generated:WxH)");
  }
  auto odd = ImageSet::GenerateJpeg(w2, h2, 90, 7);
  if (!odd.ok()) return odd.status();
  fs::create_directories(dir);
  for (int i = 0; i < n; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "%05d.jpg", i);
    std::ofstream out(fs::path(dir) / name, std::ios::binary);
    out << (i == n - 1 ? *odd : base_images[static_cast<size_t>(i) % base_images.size()]);
    if (!out) return InternalError("cannot write " + (fs::path(dir) / name).string());
  }
  return dir;
}

Status ImagesFor(const std::string& spec, const LabConfig& cfg, const std::string& work,
                 ImageSetConfig* out) {
  if (spec == "photos") {
    out->directory = cfg.photos_dir;
    return Status::Ok();
  }
  if (spec == "corrupt") {
    auto dir = MakeCorruptImages(cfg.photos_dir, work + "/corrupt");
    if (!dir.ok()) return dir.status();
    out->directory = *dir;
    return Status::Ok();
  }
  int w = 0, h = 0;
  if (ParseGenerated(spec, &w, &h)) {
    out->directory.clear();
    out->width = w;
    out->height = h;
    return Status::Ok();
  }
  // "BASE, every Nth: generated:WxH" (BASE: photos or generated:WxH).
  const size_t comma = spec.find(", every ");
  if (comma != std::string::npos) {
    int n = 0, w2 = 0, h2 = 0;
    char suffix[8] = {}, rest = 0;
    const std::string tail = spec.substr(comma + 8);
    if (std::sscanf(tail.c_str(), "%d%7[a-z]: generated:%dx%d%c", &n, suffix, &w2, &h2, &rest) ==
            4 &&
        n >= 2 && n <= 10000 && w2 > 0 && h2 > 0) {
      auto dir = MakeEveryNthFolder(spec.substr(0, comma), n, w2, h2, cfg,
                                    work + "/every-" + std::to_string(n));
      if (!dir.ok()) return dir.status();
      out->directory = *dir;
      return Status::Ok();
    }
  }
  return InvalidArgumentError("unknown images '" + spec +
                              "' (photos, corrupt, generated:WxH, or 'photos|generated:WxH, "
                              "every Nth: generated:WxH')");
}

}  // namespace

LabRunner::LabRunner(LabConfig config) : config_(std::move(config)) {}

Status LabRunner::RunScenario(const Scenario& s, const std::string& dir, ScenarioResult* r) {
  ServeConfig cfg;
  YS_RETURN_IF_ERROR(LoadServeConfigYaml(s.server_yaml, s.path + " (server)", &cfg));
  cfg.http.port = 0;
  cfg.grpc.enabled = false;  // the lab drives HTTP
  cfg.http.host = "127.0.0.1";
  cfg.log.enabled = true;
  cfg.log.path = dir + "/requests.jsonl";
  r->log_path = cfg.log.path;
  auto server = InferenceServer::Create(cfg);
  if (!server.ok()) return server.status().WithContext("starting the server");
  YS_RETURN_IF_ERROR((*server)->Start());
  const std::string url = "http://127.0.0.1:" + std::to_string((*server)->port());

  uint64_t seed = 1;
  for (const LoadPhase& ph : s.phases) {
    LoadGeneratorConfig lg;
    lg.target.url = url;
    lg.seed = seed++;
    YS_RETURN_IF_ERROR(ImagesFor(ph.images, config_, dir, &lg.images));
    lg.measurement.drain_timeout_ms = 15'000;
    if (ph.rate > 0) {
      // A rate over a fixed duration: a synthetic arrival list, sent open loop
      // (latency from the scheduled time) and measured as one window.
      auto process = ParseArrivalProcess(ph.arrivals);
      if (!process.ok()) return process.status();
      ArrivalSchedule sched = ArrivalSchedule::FromRate(ph.rate, *process, lg.seed);
      const int64_t end_ns = static_cast<int64_t>(ph.duration_s * 1e9);
      while (auto a = sched.Next()) {
        if (a->offset_ns >= end_ns) break;
        lg.replay.push_back(*a);
      }
      lg.mode = LoadMode::kReplay;
      lg.initial_connections = 8;
    } else {
      lg.mode = LoadMode::kClosedLoop;
      lg.concurrency = {ph.concurrency};
      lg.measurement.warmup_ms = 0;
      lg.measurement.stability.windows = 2;
      lg.measurement.max_windows = 2;
      lg.measurement.window_ms = static_cast<int64_t>(ph.duration_s * 500);
    }
    auto gen = LoadGenerator::Create(lg);
    if (!gen.ok()) return gen.status().WithContext("load phase");
    auto report = (*gen)->Run();
    if (!report.ok()) return report.status().WithContext("load phase");
  }
  (*server)->Shutdown(std::chrono::seconds(15));
  server->reset();

  AnalyzeOptions ao;
  ao.paths = {cfg.log.path};
  ao.format = "json";
  AnalyzeCommand cmd(ao);
  auto analysis = cmd.Analyze();
  if (!analysis.ok()) return analysis.status().WithContext("analyzing the log");
  r->requests = analysis->summary.requests;

  std::set<std::string> any, serious;
  for (const Finding& f : analysis->findings) {
    r->found.push_back(f.kind + "(" + std::string(SeverityName(f.severity)) + ")");
    any.insert(f.kind);
    if (f.severity != FindingSeverity::kInfo) serious.insert(f.kind);
  }
  for (const auto& k : s.expect_kinds) {
    if (!any.count(k)) r->missing.push_back(k);
  }
  for (const auto& k : s.absent_kinds) {
    if (serious.count(k)) r->unexpected.push_back(k);
  }
  if (s.healthy) {
    for (const auto& k : serious) r->unexpected.push_back(k);
  }
  // The key evidence: the first expected finding's first evidence line.
  for (const Finding& f : analysis->findings) {
    const bool wanted =
        std::find(s.expect_kinds.begin(), s.expect_kinds.end(), f.kind) != s.expect_kinds.end();
    if (wanted && !f.evidence.empty()) {
      r->evidence = f.kind + ": " + f.evidence.front();
      break;
    }
  }
  if (r->evidence.empty() && s.healthy) {
    r->evidence = "no warning or critical finding in " + std::to_string(r->requests) + " requests";
  }
  // The numbers around the findings: served percentiles and served capacity
  // must be what the raw records say (an overload's refusals answered in
  // microseconds are no latency sample, and not capacity).
  auto truth = ReadServedTruth(cfg.log.path);
  if (!truth.ok()) return truth.status().WithContext("reading the log back");
  for (const std::string& p : CompareServedNumbers(*truth, *analysis)) {
    r->unexpected.push_back("served numbers: " + p);
  }
  r->passed = r->missing.empty() && r->unexpected.empty();
  return Status::Ok();
}

ScenarioResult LabRunner::Run(const Scenario& s) {
  ScenarioResult r;
  r.name = s.name;
  const auto t0 = std::chrono::steady_clock::now();
  std::string dir =
      config_.work_dir.empty()
          ? (fs::temp_directory_path() / ("yoloscope-lab-" + std::to_string(getpid()))).string()
          : config_.work_dir;
  dir += "/" + s.name;
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  Status st = RunScenario(s, dir, &r);
  if (!st.ok()) r.error = st.ToString();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!config_.keep_logs && r.passed) fs::remove_all(dir, ec);
  return r;
}

void LabRunner::PrintTable(const std::vector<ScenarioResult>& results, std::FILE* out) {
  std::fprintf(out, "\n%-26s %-5s %6s %6s  %s\n", "scenario", "", "reqs", "secs",
               "findings / evidence");
  int passed = 0;
  for (const auto& r : results) {
    passed += r.passed;
    std::string found;
    for (const auto& f : r.found) found += (found.empty() ? "" : ", ") + f;
    std::fprintf(out, "%-26s %-5s %6lld %6.1f  %s\n", r.name.c_str(), r.passed ? "PASS" : "FAIL",
                 static_cast<long long>(r.requests), r.seconds,
                 found.empty() ? "(no findings)" : found.c_str());
    if (!r.evidence.empty()) std::fprintf(out, "%-41s  %s\n", "", r.evidence.c_str());
    for (const auto& m : r.missing) std::fprintf(out, "%-41s  missing: %s\n", "", m.c_str());
    for (const auto& u : r.unexpected) {
      std::fprintf(out, "%-41s  unexpected: %s\n", "", u.c_str());
    }
    if (!r.error.empty()) std::fprintf(out, "%-41s  error: %s\n", "", r.error.c_str());
    if (!r.passed && !r.log_path.empty()) {
      std::fprintf(out, "%-41s  log kept: %s\n", "", r.log_path.c_str());
    }
  }
  std::fprintf(out, "\n%d passed, %d failed\n", passed, static_cast<int>(results.size()) - passed);
}

}  // namespace yoloscope
