// `yoloscope serve`: YAML, environment, flags -> ServeConfig (validated once)
// -> InferenceServer; SIGHUP reopens the request log, SIGINT/SIGTERM drain
// and flush it. Exit 0; 1 when request-log records were lost; 2 for a bad
// config or a failed start.
#include <pthread.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <tuple>
#include <vector>

#include "server/inference_server.h"

namespace yoloscope {

int ServeMain(int argc, char** argv) {
  CLI::App app{
      "HTTP inference server with dynamic batching, an unsampled request log and "
      "Prometheus metrics.",
      "yoloscope serve"};
  ServeConfig cfg;
  std::string config_file;
  bool print_config = false;
  // Flags are applied after the config file and the environment, and only
  // those given on the command line (Option::count), so that they never
  // clobber a value with a default. Every value is then checked by the one
  // ValidateServeConfig, as YAML and environment values are.
  std::string model, backend, device, host, log_path, policy, token, names, precision, log_policy,
      log_sink, replica;
  int port = 0, instances = 0, max_batch = 0, max_queue = 0, pre = 0, post = 0, threads = 0;
  int64_t delay_us = 0, timeout_ms = 0, read_timeout_ms = 0, idle_timeout_ms = 0;
  int64_t max_connections = 0, max_connections_per_ip = 0;
  bool no_log = false, no_warmup = false, cuda_graphs = false;
  double gpu_memory_fraction = 0;
  bool fast_decode = false;
  int imgsz = 0;
  std::string ort_lib;
  app.add_option("--model,-m", model, "model file (.onnx, .torchscript) or sim config (.yaml)");
  app.add_option("--config,-c", config_file, "YAML config file (see docs/serve.md)");
  app.add_option("--backend,-b", backend,
                 "onnxruntime | torch | opencv | sim | identity | auto (by file content)");
  auto* o_imgsz = app.add_option(
      "--imgsz", imgsz, "network input size (square; rounded up to the stride; 0 = the model's)");
  app.add_flag("--fast-decode", fast_decode,
               "decode large JPEGs at 1/2-1/8 scale (faster; input differs from Ultralytics')");
  app.add_option("--onnxruntime-lib", ort_lib, "libonnxruntime.so.1 to load for .onnx models");
  app.add_option("--device", device, "cpu or cuda:N");
  app.add_option("--precision", precision, "fp32 | fp16 (CUDA only)");
  auto* o_fraction =
      app.add_option("--gpu-memory-fraction", gpu_memory_fraction,
                     "CUDA: cap on this process's GPU memory, in (0, 1] (default 0.8)");
  app.add_flag("--cuda-graphs", cuda_graphs, "CUDA: capture a CUDA graph per batch size");
  app.add_option("--names", names, "class names file");
  app.add_option("--host", host, "address to bind (default 127.0.0.1)");
  auto* o_port = app.add_option("--port,-p", port, "HTTP port (default 8000; 0 = any free port)");
  std::string grpc_host;
  int grpc_port = 0;
  auto* o_grpc_port =
      app.add_option("--grpc-port", grpc_port,
                     "KServe v2 gRPC port (default 8001; 0 = any free port; -1 = no gRPC)");
  app.add_option("--grpc-host", grpc_host, "address gRPC binds (default 127.0.0.1)");
  app.add_option("--log", log_path, "request log path (default yoloscope-requests.jsonl)");
  app.add_flag("--no-log", no_log, "disable the request log");
  app.add_option(
      "--log-sink", log_sink,
      "also ship the request log to ClickHouse: clickhouse://host:port/db (docs/fleet.md)");
  app.add_option("--replica", replica, "this server's name in the fleet tables (default: default)");
  int sink_nice = 0;
  auto* o_sink_nice = app.add_option(
      "--log-sink-nice", sink_nice,
      "the sink's shipper thread runs this much nicer than serve, 0..19 (default 10)");
  app.add_option("--log-policy", log_policy,
                 "when the log cannot be written: availability (serve on, count the lost "
                 "records; default) | audit (answer 503 until it can)");
  auto* o_instances = app.add_option("--instances", instances, "model instances (device workers)");
  auto* o_threads =
      app.add_option("--threads", threads, "intra-op threads per instance (0 = all cores)");
  auto* o_max_batch = app.add_option("--max-batch", max_batch, "dynamic batcher: max batch size");
  auto* o_delay =
      app.add_option("--max-queue-delay-us", delay_us, "dynamic batcher: batching window (us)");
  auto* o_max_queue = app.add_option("--max-queue-size", max_queue, "queued requests before 503");
  app.add_option("--policy", policy, "batching policy: fixed | adaptive");
  auto* o_pre = app.add_option("--preprocess-workers", pre, "decode + letterbox threads");
  auto* o_post = app.add_option("--postprocess-workers", post, "decode + NMS threads");
  auto* o_timeout =
      app.add_option("--timeout-ms", timeout_ms, "default per-request timeout (0 = none)");
  auto* o_read_timeout = app.add_option(
      "--read-timeout-ms", read_timeout_ms,
      "a request must arrive whole within this many ms of its first byte (default 30000)");
  auto* o_idle_timeout =
      app.add_option("--idle-timeout-ms", idle_timeout_ms,
                     "close a keep-alive connection idle this many ms (default 60000)");
  auto* o_max_connections =
      app.add_option("--max-connections", max_connections, "open connections (default 1024)");
  auto* o_max_per_ip =
      app.add_option("--max-connections-per-ip", max_connections_per_ip,
                     "open connections from one client address (default 0 = no limit)");
  app.add_option("--auth-token", token, "require 'Authorization: Bearer TOKEN'");
  std::vector<std::string> stream_flags;
  double stream_fps = 0;
  app.add_option("--stream", stream_flags,
                 "NAME=URI: a video stream into the same batcher (repeatable; a file, rtsp://, "
                 "udp://, rtp://, http://, /dev/videoN; docs/streams.md)");
  auto* o_stream_fps = app.add_option(
      "--stream-fps", stream_fps, "target fps of the --stream streams (default 0 = every frame)");
  app.add_flag("--no-warmup", no_warmup, "skip warm-up over every batch size");
  app.add_flag("--print-config", print_config, "print the effective config (validated) and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!config_file.empty()) {
    Status st = LoadServeConfigFile(config_file, &cfg);
    if (!st.ok()) {
      std::fprintf(stderr, "yoloscope serve: %s\n", st.message().c_str());
      return 2;
    }
  }
  Status env = ApplyServeConfigEnv([](const char* name) { return std::getenv(name); }, &cfg);
  if (!env.ok()) {
    std::fprintf(stderr, "yoloscope serve: %s\n", env.message().c_str());
    return 2;
  }
  auto given = [](const CLI::Option* o) { return o->count() > 0; };
  auto& s = cfg.service;
  if (!model.empty()) s.backend.model_path = model;
  if (!backend.empty()) s.backend.kind = backend;
  if (!device.empty()) s.backend.device = device;
  if (!precision.empty()) s.backend.precision = precision;
  if (given(o_fraction)) s.backend.gpu_memory_fraction = gpu_memory_fraction;
  if (cuda_graphs) s.backend.cuda_graphs = true;
  if (!names.empty()) s.backend.names_path = names;
  if (given(o_imgsz)) s.backend.input_w = s.backend.input_h = imgsz;
  if (fast_decode) s.fast_decode = true;
  if (!ort_lib.empty()) s.backend.onnxruntime_library = ort_lib;
  if (given(o_threads)) s.backend.num_threads = threads;
  if (!host.empty()) cfg.http.host = host;
  if (given(o_port)) cfg.http.port = port;
  if (given(o_grpc_port)) {
    cfg.grpc.enabled = grpc_port >= 0;
    if (grpc_port >= 0) cfg.grpc.port = grpc_port;
  }
  if (!grpc_host.empty()) cfg.grpc.host = grpc_host;
  if (!log_path.empty()) cfg.log.path = log_path;
  if (no_log) cfg.log.enabled = false;
  if (!log_policy.empty()) cfg.log.policy = log_policy;
  if (!log_sink.empty()) cfg.log.sink = log_sink;
  if (!replica.empty()) cfg.log.replica = replica;
  if (given(o_sink_nice)) cfg.log.sink_nice = sink_nice;
  if (given(o_instances)) s.instances = instances;
  if (given(o_max_batch)) s.batcher.max_batch_size = max_batch;
  if (given(o_delay)) s.batcher.max_queue_delay_us = delay_us;
  if (given(o_max_queue)) s.batcher.max_queue_size = max_queue;
  if (!policy.empty()) {
    auto p = ParseBatchPolicy(policy);
    if (!p.ok()) {
      std::fprintf(stderr, "yoloscope serve: --policy: %s\n", p.status().message().c_str());
      return 2;
    }
    s.batcher.policy = *p;
  }
  if (given(o_pre)) s.preprocess_workers = pre;
  if (given(o_post)) s.postprocess_workers = post;
  if (given(o_timeout)) {
    if (timeout_ms < 0 || timeout_ms > std::numeric_limits<int64_t>::max() / 1000) {
      std::fprintf(stderr,
                   "yoloscope serve: batching.default_timeout_us (--timeout-ms) must be >= 0, "
                   "got %lld ms\n",
                   static_cast<long long>(timeout_ms));
      return 2;
    }
    s.batcher.default_timeout_us = timeout_ms * 1000;
  }
  if (given(o_read_timeout)) cfg.http.read_timeout = std::chrono::milliseconds(read_timeout_ms);
  if (given(o_idle_timeout)) cfg.http.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
  // Counts: a negative value is refused here, before the unsigned field
  // would turn it into a huge one.
  for (auto [o, value, key] :
       {std::tuple{o_max_connections, max_connections, "http.max_connections (--max-connections)"},
        std::tuple{o_max_per_ip, max_connections_per_ip,
                   "http.max_connections_per_ip (--max-connections-per-ip)"}}) {
    if (given(o) && value < 0) {
      std::fprintf(stderr, "yoloscope serve: %s must be >= 0, got %lld\n", key,
                   static_cast<long long>(value));
      return 2;
    }
  }
  if (given(o_max_connections)) cfg.http.max_connections = static_cast<size_t>(max_connections);
  if (given(o_max_per_ip)) {
    cfg.http.max_connections_per_ip = static_cast<size_t>(max_connections_per_ip);
  }
  if (!token.empty()) cfg.http.auth_token = token;
  if (no_warmup) s.warmup = false;
  // --stream adds to the streams of the config file and environment.
  for (const std::string& flag : stream_flags) {
    auto stream = ParseStreamFlag(flag);
    if (!stream.ok()) {
      std::fprintf(stderr, "yoloscope serve: %s\n", stream.status().message().c_str());
      return 2;
    }
    if (given(o_stream_fps)) stream->target_fps = stream_fps;
    cfg.streams.push_back(std::move(stream).value());
  }

  // One validation for every source, before printing or serving.
  Status valid = ValidateServeConfig(cfg);
  if (!valid.ok()) {
    std::fprintf(stderr, "yoloscope serve: invalid config: %s\n", valid.message().c_str());
    return 2;
  }
  if (print_config) {
    std::fputs(ServeConfigToYaml(cfg).c_str(), stdout);
    return 0;
  }

  // Block the signals in every thread (threads inherit the mask), and take
  // them synchronously below: SIGINT/SIGTERM drain and exit, SIGHUP reopens
  // the request log (logrotate) and serving goes on.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A log that reaches the file size limit (ulimit -f) must fail the write
  // with EFBIG, counted as file_too_large, instead of SIGXFSZ killing the
  // server.
  std::signal(SIGXFSZ, SIG_IGN);

  std::fprintf(stderr, "yoloscope serve: loading %s ...\n", s.backend.model_path.c_str());
  auto warn = [](const std::string& message) {
    std::fprintf(stderr, "yoloscope serve: warning: %s\n", message.c_str());
    std::fflush(stderr);
  };
  auto server = InferenceServer::Create(cfg, nullptr, warn);
  if (!server.ok()) {
    std::fprintf(stderr, "yoloscope serve: %s\n", server.status().ToString().c_str());
    return 2;
  }
  Status st = (*server)->Start();
  if (!st.ok()) {
    std::fprintf(stderr, "yoloscope serve: %s\n", st.ToString().c_str());
    return 2;
  }
  if ((*server)->grpc_port() > 0) {
    std::fprintf(stderr, "yoloscope serve: KServe v2 gRPC on %s:%d\n", cfg.grpc.host.c_str(),
                 (*server)->grpc_port());
  }
  std::fprintf(stderr, "yoloscope serve: listening on http://%s:%d (request log: %s)\n",
               cfg.http.host.c_str(), (*server)->port(),
               cfg.log.enabled ? cfg.log.path.c_str() : "off");
  std::fflush(stderr);
  int sig = 0;
  while (true) {
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig != SIGHUP) break;
    Status reopened = (*server)->ReopenLogs();
    if (reopened.ok()) {
      std::fprintf(stderr, "yoloscope serve: SIGHUP received, request log reopened\n");
    } else {
      std::fprintf(stderr,
                   "yoloscope serve: SIGHUP received, cannot reopen the request log: %s "
                   "(serving continues; retrying at every write)\n",
                   reopened.message().c_str());
    }
    std::fflush(stderr);
  }
  std::fprintf(stderr, "yoloscope serve: %s received, draining ...\n",
               sig == SIGTERM ? "SIGTERM" : "SIGINT");
  const auto start = std::chrono::steady_clock::now();
  bool drained = (*server)->Shutdown(std::chrono::milliseconds(cfg.shutdown_grace_ms));
  const double took_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  InferenceServer::LogSummary log = (*server)->GetLogSummary();
  std::fprintf(stderr, "yoloscope serve: stopped after %.2f s%s\n", took_s,
               drained ? "" : " (grace period ran out: requests still in flight were cut off)");
  if (log.dropped > 0) {
    std::string reasons;
    for (const auto& [reason, count] : log.dropped_by_reason) {
      if (!reasons.empty()) reasons += ", ";
      reasons += reason + " " + std::to_string(count);
    }
    std::fprintf(
        stderr, "yoloscope serve: request log: %lld records written, %lld NOT written (%s)\n",
        static_cast<long long>(log.written), static_cast<long long>(log.dropped), reasons.c_str());
    return 1;
  }
  return 0;
}

}  // namespace yoloscope
