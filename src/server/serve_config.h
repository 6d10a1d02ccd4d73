// ServeConfig: everything `yoloscope serve` can be told, as plain structs
// with documented defaults (the defaults live in the member initializers of
// the component configs). Loaded from YAML (serve --config FILE), then
// overridden by command-line flags; `serve --print-config` prints the
// effective config in the same YAML shape.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "alerts/alerting_config.h"
#include "common/status.h"
#include "http/http_server.h"
#include "server/inference_service.h"
#include "stream/stream_config.h"
#include "telemetry/telemetry_factory.h"

namespace yoloscope {

struct RequestLogConfig {
  bool enabled = true;
  std::string path = "yoloscope-requests.jsonl";
  int64_t max_file_bytes = 256ll << 20;  // rotate above this (0 = never)
  int max_files = 5;                     // rotated files kept
  int queue_capacity = 65536;            // records buffered before dropping
  // What serving does while the log cannot be written (disk full, I/O
  // error): "availability" (default) keeps answering and counts the lost
  // records; "audit" answers inference requests 503 until a write succeeds
  // again (docs/serve.md, "Request log").
  std::string policy = "availability";
  // The ClickHouse sink: clickhouse://host:port/db ships this log to the
  // fleet tables (docs/fleet.md); "" = off. Needs the log (its spool).
  std::string sink;
  // The `replica` column of the shipped rows ("" = "default"); `host` is the
  // machine's name.
  std::string replica;
  // The sink's shipper thread runs this much nicer than serve (0..19; 0 =
  // the same priority): shipping waits for CPU that serving leaves idle,
  // and the log file holds what is not shipped yet.
  int sink_nice = 10;
};

// The KServe v2 gRPC endpoint (builds with gRPC only; docs/serve.md).
struct GrpcConfig {
  bool enabled = true;             // off: no gRPC listener (also --grpc-port -1)
  std::string host = "127.0.0.1";  // an IP address literal or "localhost"
  int port = 8001;                 // Triton's default; 0 picks a free port
  // Largest request or response message, bytes (gRPC's own default is 4 MiB:
  // too small for a batch of photos). Over it: RESOURCE_EXHAUSTED.
  int64_t max_message_bytes = 64ll << 20;
};

struct ServeConfig {
  http::HttpServerConfig http;     // host 127.0.0.1, port 8000, limits, auth_token
  GrpcConfig grpc;                 // KServe v2 gRPC on port 8001
  InferenceServiceConfig service;  // model, instances, workers, batcher, postprocess
  RequestLogConfig log;
  // Device telemetry sampled every telemetry.sampler.period_ms (200 ms) into
  // `gpu` records, gauges and each request record; kind "off" disables it.
  TelemetryConfig telemetry;
  int shutdown_grace_ms = 30'000;  // SIGTERM: time to finish accepted requests
  // Every heap_trim_interval_ms the allocator's free pages go back to the
  // kernel (server/heap_trimmer.h); 0 turns it off.
  int heap_trim_interval_ms = 10'000;
  AlertingConfig alerts;           // `alerts:` (docs/alerts.md); off unless alerts.enabled
  // Video streams read into the same batcher (`streams:`, --stream
  // NAME=URI; docs/streams.md). Empty = none.
  std::vector<StreamConfig> streams;
  // A `stream` record per stream this often (ms); 0 = only at state
  // changes and at the end.
  int64_t stream_stats_period_ms = 10'000;
};

// Applies the keys present in the YAML file at `path` onto `*config`
// (absent keys keep their values). InvalidArgument "FILE:LINE: key: why" for
// an unknown key, a wrong type or an out-of-range value.
Status LoadServeConfigFile(const std::string& path, ServeConfig* config);
Status LoadServeConfigYaml(const std::string& yaml_text, const std::string& source_name,
                           ServeConfig* config);

// The effective config as YAML (same keys LoadServeConfigYaml accepts).
std::string ServeConfigToYaml(const ServeConfig& config);

// Applies environment variables onto `*config`, between the YAML file and
// the flags: every YAML key `a.b_c` can be set as YOLOSCOPE_A_B_C (e.g.
// YOLOSCOPE_BATCHING_MAX_BATCH_SIZE=8), its value read as a YAML scalar with
// the same type checks. `getenv` looks a name up (nullptr: unset), so tests
// need not touch the process environment. InvalidArgument naming the
// variable and the key.
Status ApplyServeConfigEnv(const std::function<const char*(const char*)>& getenv,
                           ServeConfig* config);

// The one validation of a whole config, whatever it came from (YAML,
// environment, flags): every range and cross-field rule. InvalidArgument
// naming the key and its flag, e.g. "batching.max_batch_size (--max-batch)
// must be in 1..65536, got -1".
Status ValidateServeConfig(const ServeConfig& config);

}  // namespace yoloscope
