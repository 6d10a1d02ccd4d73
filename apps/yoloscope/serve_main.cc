// `yoloscope serve`: flags + YAML -> ServeConfig -> InferenceServer; waits
// for SIGINT/SIGTERM, then drains and flushes the request log.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <pthread.h>

#include "server/inference_server.h"

namespace yoloscope {

int ServeMain(int argc, char** argv) {
  CLI::App app{"HTTP inference server with dynamic batching, an unsampled request log and "
               "Prometheus metrics.",
               "yoloscope serve"};
  ServeConfig cfg;
  std::string config_file;
  bool print_config = false;
  // Flags are applied after the config file, so they must not clobber it
  // with their defaults: only options given on the command line are copied.
  std::string model, backend, device, host, log_path, policy, token, names;
  int port = -1, instances = 0, max_batch = 0, max_queue = 0, pre = 0, post = 0, threads = -1;
  int64_t delay_us = -1, timeout_ms = -1;
  bool no_log = false, no_warmup = false;
  std::string precision;
  double gpu_memory_fraction = 0;  // 0: not given
  bool cuda_graphs = false, fast_decode = false;
  int imgsz = 0;
  std::string ort_lib;
  app.add_option("--model,-m", model, "model file (.onnx, .torchscript) or sim config (.yaml)");
  app.add_option("--config,-c", config_file, "YAML config file (see docs/serve.md)");
  app.add_option("--backend,-b", backend,
                 "onnxruntime | torch | opencv | sim | identity | auto (by file content)");
  app.add_option("--imgsz", imgsz,
                 "network input size (square; rounded up to the stride; 0 = the model's)");
  app.add_flag("--fast-decode", fast_decode,
               "decode large JPEGs at 1/2-1/8 scale (faster; input differs from Ultralytics')");
  app.add_option("--onnxruntime-lib", ort_lib, "libonnxruntime.so.1 to load for .onnx models");
  app.add_option("--device", device, "cpu or cuda:N");
  app.add_option("--precision", precision, "fp32 | fp16 (CUDA only)");
  app.add_option("--gpu-memory-fraction", gpu_memory_fraction,
                 "CUDA: cap on this process's GPU memory, in (0, 1] (default 0.8)")
      ->check(CLI::Range(0.0, 1.0))
      ->check(CLI::Validator(
          [](std::string& v) { return std::stod(v) > 0 ? std::string() : "must be > 0"; }, ""));
  app.add_flag("--cuda-graphs", cuda_graphs, "CUDA: capture a CUDA graph per batch size");
  app.add_option("--names", names, "class names file");
  app.add_option("--host", host, "address to bind (default 127.0.0.1)");
  app.add_option("--port,-p", port, "port (default 8080; 0 = any free port)");
  app.add_option("--log", log_path, "request log path (default yoloscope-requests.jsonl)");
  app.add_flag("--no-log", no_log, "disable the request log");
  app.add_option("--instances", instances, "model instances (device workers)");
  app.add_option("--threads", threads, "intra-op threads per instance (0 = all cores)");
  app.add_option("--max-batch", max_batch, "dynamic batcher: max batch size");
  app.add_option("--max-queue-delay-us", delay_us, "dynamic batcher: batching window (us)");
  app.add_option("--max-queue-size", max_queue, "queued requests before 503");
  app.add_option("--policy", policy, "batching policy: fixed | adaptive");
  app.add_option("--preprocess-workers", pre, "decode + letterbox threads");
  app.add_option("--postprocess-workers", post, "decode + NMS threads");
  app.add_option("--timeout-ms", timeout_ms, "default per-request timeout (0 = none)");
  app.add_option("--auth-token", token, "require 'Authorization: Bearer TOKEN'");
  app.add_flag("--no-warmup", no_warmup, "skip warm-up over every batch size");
  app.add_flag("--print-config", print_config, "print the effective config and exit");
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
  auto& s = cfg.service;
  if (!model.empty()) s.backend.model_path = model;
  if (!backend.empty()) s.backend.kind = backend;
  if (!device.empty()) s.backend.device = device;
  if (!precision.empty()) s.backend.precision = precision;
  if (gpu_memory_fraction > 0) s.backend.gpu_memory_fraction = gpu_memory_fraction;
  if (cuda_graphs) s.backend.cuda_graphs = true;
  if (!names.empty()) s.backend.names_path = names;
  if (imgsz > 0) s.backend.input_w = s.backend.input_h = imgsz;
  if (fast_decode) s.fast_decode = true;
  if (!ort_lib.empty()) s.backend.onnxruntime_library = ort_lib;
  if (threads >= 0) s.backend.num_threads = threads;
  if (!host.empty()) cfg.http.host = host;
  if (port >= 0) cfg.http.port = port;
  if (!log_path.empty()) cfg.log.path = log_path;
  if (no_log) cfg.log.enabled = false;
  if (instances > 0) s.instances = instances;
  if (max_batch > 0) s.batcher.max_batch_size = max_batch;
  if (delay_us >= 0) s.batcher.max_queue_delay_us = delay_us;
  if (max_queue > 0) s.batcher.max_queue_size = max_queue;
  if (!policy.empty()) {
    auto p = ParseBatchPolicy(policy);
    if (!p.ok()) {
      std::fprintf(stderr, "yoloscope serve: --policy: %s\n", p.status().message().c_str());
      return 2;
    }
    s.batcher.policy = *p;
  }
  if (pre > 0) s.preprocess_workers = pre;
  if (post > 0) s.postprocess_workers = post;
  if (timeout_ms >= 0) s.batcher.default_timeout_us = timeout_ms * 1000;
  if (!token.empty()) cfg.http.auth_token = token;
  if (no_warmup) s.warmup = false;

  if (print_config) {
    std::fputs(ServeConfigToYaml(cfg).c_str(), stdout);
    return 0;
  }

  // Block the stop signals in every thread (threads inherit the mask), and
  // take them synchronously below.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  std::fprintf(stderr, "yoloscope serve: loading %s ...\n", s.backend.model_path.c_str());
  auto server = InferenceServer::Create(cfg);
  if (!server.ok()) {
    std::fprintf(stderr, "yoloscope serve: %s\n", server.status().ToString().c_str());
    return 2;
  }
  Status st = (*server)->Start();
  if (!st.ok()) {
    std::fprintf(stderr, "yoloscope serve: %s\n", st.ToString().c_str());
    return 2;
  }
  std::fprintf(stderr, "yoloscope serve: listening on http://%s:%d (request log: %s)\n",
               cfg.http.host.c_str(), (*server)->port(),
               cfg.log.enabled ? cfg.log.path.c_str() : "off");
  std::fflush(stderr);
  int sig = 0;
  sigwait(&stop, &sig);
  std::fprintf(stderr, "yoloscope serve: %s received, draining ...\n",
               sig == SIGTERM ? "SIGTERM" : "SIGINT");
  bool drained = (*server)->Shutdown(std::chrono::milliseconds(cfg.shutdown_grace_ms));
  std::fprintf(stderr, "yoloscope serve: stopped%s\n", drained ? "" : " (grace period ran out)");
  return 0;
}

}  // namespace yoloscope
