// `yoloscope bench`: flags -> LoadGeneratorConfig (load a server over HTTP)
// or EngineProfilerConfig + AdvisorConfig (`--engine`: profile a model
// in-process and recommend a batching configuration).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench/batching_advisor.h"
#include "bench/engine_curve.h"
#include "bench/engine_profiler.h"
#include "bench/grpc_load_generator.h"
#include "bench/level_range.h"
#include "bench/load_generator.h"
#include "bench/replay_log.h"
#include "bench/served_model.h"

namespace yoloscope {
namespace {

int Fail(const std::string& what) {
  std::fprintf(stderr, "yoloscope bench: %s\n", what.c_str());
  return 2;
}

// A bare model name ("yolov8tiny_320") names a generated model in the build's
// models folder; anything that exists as a path is used as it is.
std::string ResolveModel(const std::string& model, const std::string& backend) {
  if (model.empty() || std::filesystem::exists(model)) return model;
  const std::string dir = YOLOSCOPE_DEFAULT_MODELS_DIR;
  for (const char* ext : backend == "opencv" ? std::vector<const char*>{".onnx"}
                                             : std::vector<const char*>{".torchscript", ".onnx"}) {
    std::string path = dir + "/" + model + ext;
    if (std::filesystem::exists(path)) return path;
  }
  return model;
}

int RunEngine(const EngineProfilerConfig& profile, const AdvisorConfig& advice,
              const std::string& curve_in, const std::vector<std::string>& save_curve) {
  EngineCurve curve;
  if (!curve_in.empty()) {
    auto loaded = EngineCurve::Load(curve_in);
    if (!loaded.ok()) return Fail(loaded.status().message());
    curve = std::move(loaded).value();
  } else {
    std::fprintf(stderr, "yoloscope bench: loading %s ...\n", profile.backend.model_path.c_str());
    auto profiler = EngineProfiler::Create(profile);
    if (!profiler.ok()) return Fail(profiler.status().ToString());
    auto measured = (*profiler)->Run([](const CurvePoint& p) {
      std::fprintf(stderr, "  batch %d: p50 %.3f ms, %.1f images/s (%d runs)\n", p.batch_size,
                   p.p50_ms, p.throughput_ips, p.iterations);
    });
    if (!measured.ok()) return Fail(measured.status().ToString());
    curve = std::move(measured).value();
  }
  std::printf("model %s, backend %s, device %s, input %dx%d, threads %d\n\n", curve.model.c_str(),
              curve.backend.c_str(), curve.device.c_str(), curve.input_w, curve.input_h,
              curve.threads);
  std::printf("%s\n%s\n", curve.ToTable().c_str(), curve.ToChart().c_str());
  auto advisor = BatchingAdvisor::Create(advice);
  if (!advisor.ok()) return Fail(advisor.status().message());
  auto rec = advisor->Recommend(curve);
  if (!rec.ok()) return Fail(rec.status().message());
  std::printf("%s\nserve config:\n%s", rec->ToText().c_str(),
              rec->ToServeYaml(curve.BatcherSeedUs(rec->max_batch_size)).c_str());
  for (const std::string& path : save_curve) {
    Status st = curve.Save(path);
    if (!st.ok()) return Fail(st.message());
    std::fprintf(stderr, "yoloscope bench: curve saved to %s\n", path.c_str());
  }
  return 0;
}

}  // namespace

int BenchMain(int argc, char** argv) {
  CLI::App app{
      "Load generator for yoloscope / KServe v2 servers, and (--engine) a batch-size "
      "profiler that recommends a batching configuration.",
      "yoloscope bench"};
  // Load generator.
  LoadGeneratorConfig load;
  std::string concurrency, rate_range, arrivals = "poisson", replay, image_size, protocol;
  std::string csv_path, json_path;
  std::vector<std::string> headers;
  double rate = 0, stability_pct = 10;
  auto* o_url = app.add_option("--url", load.target.url,
                               "server URL, http://HOST:PORT (default http://127.0.0.1:8000; "
                               "kserve-grpc: grpc://127.0.0.1:8001)");
  app.add_option("--concurrency", concurrency,
                 "closed loop: concurrency levels, e.g. 8, 1:64:x2, 8:64:+8, 1,4,16");
  app.add_option("--rate", rate, "open loop: requests per second");
  app.add_option("--rate-range", rate_range, "open loop: rates A:B:STEP (or A:B:xF, a list)");
  app.add_option("--arrivals", arrivals, "open loop: poisson | constant (default poisson)");
  app.add_option("--replay", replay, "replay the arrival times of a yoloscope request log");
  app.add_option("--speed", load.replay_speed, "replay speed factor (2 = twice as fast)");
  app.add_option("--images", load.images.directory, "folder of images to send (cycled)");
  app.add_option("--image-size", image_size, "generated JPEGs of WxH (default 640x480)");
  app.add_option("--endpoint", load.target.endpoint,
                 "request target (default /v1/detect, or the KServe infer path)");
  app.add_option("--method", load.target.method, "HTTP method (default POST; GET sends no body)");
  app.add_option("--protocol", protocol,
                 "yoloscope | kserve (KServe v2 over HTTP, Triton's 8000) | kserve-grpc (KServe v2 "
                 "over gRPC, --url grpc://HOST:PORT, Triton's 8001)");
  bool grpc_stream = false;
  app.add_flag("--grpc-stream", grpc_stream,
               "kserve-grpc, closed loop: one ModelStreamInfer stream per concurrency slot");
  app.add_option("--model-name", load.target.model_name,
                 "kserve: model name (default: the one the server says it serves)");
  app.add_option("--input-name", load.target.input_name,
                 "kserve: BYTES input name (default images)");
  app.add_option("--header", headers, "extra header 'Name: value' (repeatable)");
  app.add_option("--warmup-ms", load.measurement.warmup_ms, "warm-up per level (default 1000)");
  app.add_option("--window-ms", load.measurement.window_ms, "measurement window (default 2000)");
  app.add_option("--max-windows", load.measurement.max_windows, "windows per level (default 10)");
  app.add_option("--stability-pct", stability_pct, "windows agree within this % (default 10)");
  app.add_option("--max-connections", load.max_connections,
                 "open loop: connection limit (default 1024)");
  app.add_option("--seed", load.seed, "Poisson arrivals seed");
  std::string write_image;
  app.add_option("--write-image", write_image,
                 "write one generated JPEG of --image-size to this file and exit (for wrk)");
  app.add_option("--csv", csv_path, "write the per-level results as CSV");
  app.add_option("--json", json_path, "write the results as JSON");
  // Engine profiler.
  bool engine = false;
  EngineProfilerConfig profile;
  AdvisorConfig advice;
  std::string batch_spec = "1,2,4,8,16,32", curve_in;
  std::vector<std::string> save_curve;
  int max_instances = 0;
  app.add_flag("--engine", engine, "profile a model in-process (no HTTP)");
  app.add_option("--model,-m", profile.backend.model_path,
                 "engine: model file, or a generated model's name");
  app.add_option("--backend,-b", profile.backend.kind, "engine: torch | opencv | sim | auto");
  app.add_option("--device", profile.backend.device, "engine: cpu or cuda:N");
  app.add_option("--precision", profile.backend.precision, "engine: fp32 | fp16 (CUDA only)");
  app.add_option("--gpu-memory-fraction", profile.backend.gpu_memory_fraction,
                 "engine: CUDA memory cap, in (0, 1] (default 0.8)")
      ->check(CLI::Range(0.0, 1.0))
      ->check(CLI::Validator(
          [](std::string& v) { return std::stod(v) > 0 ? std::string() : "must be > 0"; }, ""));
  app.add_flag("--cuda-graphs", profile.backend.cuda_graphs,
               "engine: capture a CUDA graph per batch size");
  app.add_option("--threads", profile.backend.num_threads, "engine: intra-op threads (0 = all)");
  app.add_option("--batch", batch_spec, "engine: batch sizes (default 1,2,4,8,16,32)");
  app.add_option("--iters", profile.iterations, "engine: timed runs per batch (default: by time)");
  app.add_option("--min-time-ms", profile.min_time_ms,
                 "engine: time per batch size (default 2000)");
  app.add_option("--slo-p99", advice.slo_p99_ms, "engine: p99 latency goal in ms");
  app.add_option("--arrival-rate", advice.arrival_rate, "engine: expected requests per second");
  app.add_option("--max-instances", max_instances,
                 "engine: instances the advisor may use (default: 1, or cores/threads on CPU)");
  app.add_option("--save-curve", save_curve, "engine: save the curve (.csv or .json; repeatable)");
  app.add_option("--curve", curve_in, "engine: advise on a saved curve instead of profiling");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (engine) {
    if (profile.backend.model_path.empty() && curve_in.empty())
      return Fail("--engine needs --model");
    profile.backend.model_path = ResolveModel(profile.backend.model_path, profile.backend.kind);
    auto sizes = ParseIntLevelRange(batch_spec);
    if (!sizes.ok()) return Fail("--batch: " + sizes.status().message());
    profile.batch_sizes = *sizes;
    if (max_instances > 0) {
      advice.max_instances = max_instances;
    } else if (profile.backend.device == "cpu" && profile.backend.num_threads > 0) {
      advice.max_instances = std::max(
          1, static_cast<int>(std::thread::hardware_concurrency()) / profile.backend.num_threads);
    }
    return RunEngine(profile, advice, curve_in, save_curve);
  }

  // Load generator: exactly one of the modes.
  const bool url_given = o_url->count() > 0;
  const int modes = (!concurrency.empty()) + (rate > 0 || !rate_range.empty()) + !replay.empty();
  if (modes > 1) return Fail("give one of --concurrency, --rate/--rate-range, --replay");
  if (!protocol.empty()) {
    auto p = ParseBenchProtocol(protocol);
    if (!p.ok()) return Fail(p.status().message());
    load.target.protocol = *p;
  }
  for (const std::string& h : headers) {
    size_t colon = h.find(':');
    if (colon == std::string::npos) return Fail("--header needs 'Name: value'");
    std::string value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    load.target.headers.emplace_back(h.substr(0, colon), value);
  }
  if (!image_size.empty() &&
      std::sscanf(image_size.c_str(), "%dx%d", &load.images.width, &load.images.height) != 2) {
    return Fail("--image-size needs WxH, e.g. 640x480");
  }
  if (!write_image.empty()) {
    auto jpeg =
        ImageSet::GenerateJpeg(load.images.width, load.images.height, load.images.jpeg_quality, 1);
    if (!jpeg.ok()) return Fail(jpeg.status().message());
    Status st = WriteTextFile(write_image, *jpeg);
    return st.ok() ? 0 : Fail(st.message());
  }
  load.measurement.stability.tolerance = stability_pct / 100.0;
  if (!replay.empty()) {
    auto log = ReplayLog::Load(replay);
    if (!log.ok()) return Fail(log.status().message());
    load.mode = LoadMode::kReplay;
    load.replay = log->arrivals();
    std::fprintf(stderr, "yoloscope bench: replaying %zu requests over %.1f s (x%g)\n",
                 load.replay.size(), static_cast<double>(log->span_ns()) / 1e9, load.replay_speed);
  } else if (rate > 0 || !rate_range.empty()) {
    load.mode = LoadMode::kOpenLoop;
    if (!rate_range.empty()) {
      auto rates = ParseLevelRange(rate_range);
      if (!rates.ok()) return Fail("--rate-range: " + rates.status().message());
      load.rates = *rates;
    } else {
      load.rates = {rate};
    }
    auto process = ParseArrivalProcess(arrivals);
    if (!process.ok()) return Fail(process.status().message());
    load.arrivals = *process;
  } else {
    load.mode = LoadMode::kClosedLoop;
    auto levels = ParseIntLevelRange(concurrency.empty() ? "1" : concurrency);
    if (!levels.ok()) return Fail("--concurrency: " + levels.status().message());
    load.concurrency = *levels;
  }
  const bool grpc = load.target.protocol == BenchProtocol::kKServeGrpc;
  if (grpc && !url_given) load.target.url = "grpc://127.0.0.1:8001";
  if (grpc_stream && !grpc) return Fail("--grpc-stream needs --protocol kserve-grpc");
  if (grpc && load.target.model_name.empty()) {
    auto name = GrpcServedModelName(load.target.url);
    if (!name.ok()) return Fail(name.status().message());
    load.target.model_name = *name;
    std::fprintf(stderr, "yoloscope bench: the server serves model '%s'\n", name->c_str());
  }
  if (load.target.protocol == BenchProtocol::kKServe && load.target.model_name.empty()) {
    auto name = ServedModelName(load.target.url);
    if (!name.ok()) return Fail(name.status().message());
    load.target.model_name = *name;
    std::fprintf(stderr, "yoloscope bench: the server serves model '%s'\n", name->c_str());
  }
  load.on_level = [](const LevelResult& r) {
    std::fprintf(stderr, "  %s: %.1f req/s, p50 %.3f ms, p99 %.3f ms%s\n", r.Label().c_str(),
                 r.summary.throughput, r.summary.latency.p50_ms, r.summary.latency.p99_ms,
                 r.mode == LoadMode::kReplay || r.stable ? "" : " (not stable)");
  };
  StatusOr<BenchReport> report = InvalidArgumentError("no load generator");
  if (grpc) {
    auto generator = GrpcLoadGenerator::Create(load, grpc_stream);
    if (!generator.ok()) return Fail(generator.status().ToString());
    report = (*generator)->Run();
  } else {
    auto generator = LoadGenerator::Create(load);
    if (!generator.ok()) return Fail(generator.status().ToString());
    report = (*generator)->Run();
  }
  if (!report.ok()) return Fail(report.status().ToString());
  std::printf("%s", report->ToTable().c_str());
  if (!csv_path.empty()) {
    Status st = WriteTextFile(csv_path, report->ToCsv());
    if (!st.ok()) return Fail(st.message());
  }
  if (!json_path.empty()) {
    Status st = WriteTextFile(json_path, report->ToJson());
    if (!st.ok()) return Fail(st.message());
  }
  // A level whose requests all failed measured nothing: an error, not a result.
  Status verdict = report->Verdict();
  if (!verdict.ok()) {
    std::fprintf(stderr, "yoloscope bench: %s\n", verdict.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace yoloscope
