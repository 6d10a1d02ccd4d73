#include "server/serve_config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>

#include "fleet/clickhouse_uri.h"

namespace yoloscope {
namespace {

// Reads a scalar of type T from `node`, naming file:line and key on error.
template <typename T>
Status Read(const YAML::Node& node, const std::string& source, const std::string& key, T* out) {
  try {
    *out = node.as<T>();
    if constexpr (std::is_same_v<T, std::string>) {
      // A control character in a host, path, token or URI is a mistake, most
      // often a CRLF environment file ("path\r"); it also would not print
      // back as the same YAML (found by the serve_config fuzzer).
      for (char ch : *out) {
        const auto u = static_cast<unsigned char>(ch);
        if (u < 0x20 || u == 0x7f) {
          char code[8];
          std::snprintf(code, sizeof(code), "0x%02x", u);
          return InvalidArgumentError(source + ":" + std::to_string(node.Mark().line + 1) + ": " +
                                      key + ": contains a control character (" + code +
                                      (u == '\r' ? ", a CRLF line ending?" : "") + ")");
        }
      }
    }
    return Status::Ok();
  } catch (const YAML::Exception&) {
    return InvalidArgumentError(source + ":" + std::to_string(node.Mark().line + 1) + ": " + key +
                                ": expected " +
                                (std::is_same_v<T, bool>          ? "true or false"
                                 : std::is_same_v<T, std::string> ? "a string"
                                 : std::is_floating_point_v<T>    ? "a number"
                                                                  : "an integer"));
  }
}

using Setter = std::function<Status(const YAML::Node&, const std::string& source)>;

std::string Where(const YAML::Node& node, const std::string& source) {
  return source + ":" + std::to_string(node.Mark().line + 1) + ": ";
}

// A stream's `results:` mapping (StreamResultsConfig).
Status ReadStreamResults(const YAML::Node& node, const std::string& source, const std::string& key,
                         StreamResultsConfig* out) {
  if (node.IsNull()) return Status::Ok();
  if (!node.IsMap()) {
    return InvalidArgumentError(Where(node, source) + key +
                                ": expected a mapping (jsonl, webhook)");
  }
  StreamResultsWebhookConfig& w = out->webhook;
  for (const auto& kv : node) {
    const std::string field = kv.first.as<std::string>();
    const std::string full = key + "." + field;
    const YAML::Node& v = kv.second;
    Status st;
    if (field == "jsonl") {
      st = Read(v, source, full, &out->jsonl);
    } else if (field == "jsonl_max_file_bytes") {
      st = Read(v, source, full, &out->jsonl_max_file_bytes);
    } else if (field == "jsonl_max_files") {
      st = Read(v, source, full, &out->jsonl_max_files);
    } else if (field == "jsonl_queue_capacity") {
      st = Read(v, source, full, &out->jsonl_queue_capacity);
    } else if (field == "webhook") {
      if (v.IsNull()) continue;
      if (!v.IsMap()) {
        return InvalidArgumentError(Where(v, source) + full + ": expected a mapping with url");
      }
      for (const auto& wkv : v) {
        const std::string wfield = wkv.first.as<std::string>();
        const std::string wfull = full + "." + wfield;
        const YAML::Node& wv = wkv.second;
        if (wfield == "url") {
          st = Read(wv, source, wfull, &w.url);
        } else if (wfield == "bearer_token") {
          st = Read(wv, source, wfull, &w.bearer_token);
        } else if (wfield == "timeout_ms") {
          st = Read(wv, source, wfull, &w.timeout_ms);
        } else if (wfield == "max_attempts") {
          st = Read(wv, source, wfull, &w.max_attempts);
        } else if (wfield == "initial_backoff_ms") {
          st = Read(wv, source, wfull, &w.initial_backoff_ms);
        } else if (wfield == "max_backoff_ms") {
          st = Read(wv, source, wfull, &w.max_backoff_ms);
        } else if (wfield == "queue_capacity") {
          st = Read(wv, source, wfull, &w.queue_capacity);
        } else if (wfield == "max_frames_per_post") {
          st = Read(wv, source, wfull, &w.max_frames_per_post);
        } else if (wfield == "close_timeout_ms") {
          st = Read(wv, source, wfull, &w.close_timeout_ms);
        } else {
          return InvalidArgumentError(Where(wkv.first, source) + "unknown key '" + wfull + "'");
        }
        YS_RETURN_IF_ERROR(st);
      }
      continue;
    } else {
      return InvalidArgumentError(Where(kv.first, source) + "unknown key '" + full + "'");
    }
    YS_RETURN_IF_ERROR(st);
  }
  return Status::Ok();
}

// One `streams:` entry: a mapping of StreamConfig's keys.
Status ReadStream(const YAML::Node& node, const std::string& source, size_t index,
                  StreamConfig* out) {
  const std::string key = "streams[" + std::to_string(index) + "]";
  if (!node.IsMap()) {
    return InvalidArgumentError(Where(node, source) + key +
                                ": expected a mapping with name and uri");
  }
  StreamConfig c;
  for (const auto& kv : node) {
    const std::string field = kv.first.as<std::string>();
    const std::string full = key + "." + field;
    const YAML::Node& v = kv.second;
    Status st;
    if (field == "name") {
      st = Read(v, source, full, &c.name);
    } else if (field == "uri") {
      st = Read(v, source, full, &c.uri);
    } else if (field == "fps") {
      st = Read(v, source, full, &c.target_fps);
    } else if (field == "queue_size") {
      st = Read(v, source, full, &c.queue_size);
    } else if (field == "drop_policy") {
      std::string text;
      st = Read(v, source, full, &text);
      if (st.ok()) {
        auto p = ParseFrameDropPolicy(text);
        if (!p.ok())
          return InvalidArgumentError(Where(v, source) + full + ": " + p.status().message());
        c.drop_policy = *p;
      }
    } else if (field == "max_in_flight") {
      st = Read(v, source, full, &c.max_in_flight);
    } else if (field == "priority") {
      st = Read(v, source, full, &c.priority);
    } else if (field == "reconnect_min_ms") {
      st = Read(v, source, full, &c.reconnect_min_ms);
    } else if (field == "reconnect_max_ms") {
      st = Read(v, source, full, &c.reconnect_max_ms);
    } else if (field == "max_reconnects") {
      st = Read(v, source, full, &c.max_reconnects);
    } else if (field == "open_timeout_ms") {
      st = Read(v, source, full, &c.open_timeout_ms);
    } else if (field == "read_timeout_ms") {
      st = Read(v, source, full, &c.read_timeout_ms);
    } else if (field == "realtime") {
      st = Read(v, source, full, &c.realtime);
    } else if (field == "results") {
      st = ReadStreamResults(v, source, full, &c.results);
    } else {
      return InvalidArgumentError(Where(kv.first, source) + "unknown key '" + full + "'");
    }
    YS_RETURN_IF_ERROR(st);
  }
  if (c.name.empty() || c.uri.empty()) {
    return InvalidArgumentError(Where(node, source) + key + ": needs both name and uri");
  }
  *out = std::move(c);
  return Status::Ok();
}

std::map<std::string, Setter> Setters(ServeConfig* c) {
  auto& s = c->service;
  auto& b = s.batcher;
  auto& h = c->http;
  std::map<std::string, Setter> m;
  auto str = [](std::string* p, const char* key) {
    return [p, key](const YAML::Node& n, const std::string& src) { return Read(n, src, key, p); };
  };
  auto i32 = [](int* p, const char* key) {
    return [p, key](const YAML::Node& n, const std::string& src) { return Read(n, src, key, p); };
  };
  auto i64 = [](int64_t* p, const char* key) {
    return [p, key](const YAML::Node& n, const std::string& src) { return Read(n, src, key, p); };
  };
  auto f32 = [](float* p, const char* key) {
    return [p, key](const YAML::Node& n, const std::string& src) { return Read(n, src, key, p); };
  };
  auto boolean = [](bool* p, const char* key) {
    return [p, key](const YAML::Node& n, const std::string& src) { return Read(n, src, key, p); };
  };
  auto ms = [](std::chrono::milliseconds* p, const char* key) {
    return [p, key](const YAML::Node& n, const std::string& src) {
      int64_t v;
      YS_RETURN_IF_ERROR(Read(n, src, key, &v));
      *p = std::chrono::milliseconds(v);
      return Status::Ok();
    };
  };
  m["model.path"] = str(&s.backend.model_path, "model.path");
  m["model.name"] = str(&s.model_name, "model.name");
  m["model.backend"] = str(&s.backend.kind, "model.backend");
  m["model.device"] = str(&s.backend.device, "model.device");
  m["model.precision"] = str(&s.backend.precision, "model.precision");
  m["model.gpu_memory_fraction"] = [&s](const YAML::Node& n, const std::string& src) {
    double v = 0;
    YS_RETURN_IF_ERROR(Read(n, src, "model.gpu_memory_fraction", &v));
    if (!(v > 0 && v <= 1)) {
      return InvalidArgumentError(src + ":" + std::to_string(n.Mark().line + 1) +
                                  ": model.gpu_memory_fraction: must be in (0, 1]");
    }
    s.backend.gpu_memory_fraction = v;
    return Status::Ok();
  };
  m["model.cuda_graphs"] = boolean(&s.backend.cuda_graphs, "model.cuda_graphs");
  m["model.names"] = str(&s.backend.names_path, "model.names");
  m["model.onnxruntime_library"] = str(&s.backend.onnxruntime_library, "model.onnxruntime_library");
  m["model.imgsz"] = [&s](const YAML::Node& n, const std::string& src) {
    int v = 0;
    YS_RETURN_IF_ERROR(Read(n, src, "model.imgsz", &v));
    s.backend.input_w = s.backend.input_h = v;
    return Status::Ok();
  };
  m["model.threads"] = i32(&s.backend.num_threads, "model.threads");
  m["model.instances"] = i32(&s.instances, "model.instances");
  m["model.warmup"] = boolean(&s.warmup, "model.warmup");
  m["pipeline.preprocess_workers"] = i32(&s.preprocess_workers, "pipeline.preprocess_workers");
  m["pipeline.postprocess_workers"] = i32(&s.postprocess_workers, "pipeline.postprocess_workers");
  m["pipeline.max_pixels"] = i64(&s.max_pixels, "pipeline.max_pixels");
  m["pipeline.fast_decode"] = boolean(&s.fast_decode, "pipeline.fast_decode");
  m["postprocess.conf"] = f32(&s.postprocess.conf, "postprocess.conf");
  m["postprocess.iou"] = f32(&s.postprocess.iou, "postprocess.iou");
  m["postprocess.max_det"] = i32(&s.postprocess.max_det, "postprocess.max_det");
  m["postprocess.agnostic"] = boolean(&s.postprocess.agnostic, "postprocess.agnostic");
  m["batching.max_batch_size"] = i32(&b.max_batch_size, "batching.max_batch_size");
  m["batching.max_queue_delay_us"] = i64(&b.max_queue_delay_us, "batching.max_queue_delay_us");
  m["batching.max_queue_size"] = i32(&b.max_queue_size, "batching.max_queue_size");
  m["batching.default_timeout_us"] = i64(&b.default_timeout_us, "batching.default_timeout_us");
  m["batching.policy"] = [&b](const YAML::Node& n, const std::string& src) {
    std::string v;
    YS_RETURN_IF_ERROR(Read(n, src, "batching.policy", &v));
    auto p = ParseBatchPolicy(v);
    if (!p.ok()) {
      return InvalidArgumentError(src + ":" + std::to_string(n.Mark().line + 1) +
                                  ": batching.policy: " + p.status().message());
    }
    b.policy = *p;
    return Status::Ok();
  };
  m["batching.preferred_batch_sizes"] = [&b](const YAML::Node& n, const std::string& src) {
    return Read(n, src, "batching.preferred_batch_sizes", &b.preferred_batch_sizes);
  };
  m["http.host"] = str(&h.host, "http.host");
  m["http.port"] = i32(&h.port, "http.port");
  m["http.io_threads"] = i32(&h.io_threads, "http.io_threads");
  m["http.max_connections"] = [&h](const YAML::Node& n, const std::string& src) {
    return Read(n, src, "http.max_connections", &h.max_connections);
  };
  m["http.max_connections_per_ip"] = [&h](const YAML::Node& n, const std::string& src) {
    return Read(n, src, "http.max_connections_per_ip", &h.max_connections_per_ip);
  };
  m["http.max_body_bytes"] = [&h](const YAML::Node& n, const std::string& src) {
    return Read(n, src, "http.max_body_bytes", &h.max_body_bytes);
  };
  m["http.read_timeout_ms"] = ms(&h.read_timeout, "http.read_timeout_ms");
  m["http.write_timeout_ms"] = ms(&h.write_timeout, "http.write_timeout_ms");
  m["http.idle_timeout_ms"] = ms(&h.idle_timeout, "http.idle_timeout_ms");
  m["http.auth_token"] = str(&h.auth_token, "http.auth_token");
  m["grpc.enabled"] = boolean(&c->grpc.enabled, "grpc.enabled");
  m["grpc.host"] = str(&c->grpc.host, "grpc.host");
  m["grpc.port"] = i32(&c->grpc.port, "grpc.port");
  m["grpc.max_message_bytes"] = i64(&c->grpc.max_message_bytes, "grpc.max_message_bytes");
  m["log.enabled"] = boolean(&c->log.enabled, "log.enabled");
  m["log.path"] = str(&c->log.path, "log.path");
  m["log.max_file_bytes"] = i64(&c->log.max_file_bytes, "log.max_file_bytes");
  m["log.max_files"] = i32(&c->log.max_files, "log.max_files");
  m["log.queue_capacity"] = i32(&c->log.queue_capacity, "log.queue_capacity");
  m["log.policy"] = str(&c->log.policy, "log.policy");
  m["log.sink"] = str(&c->log.sink, "log.sink");
  m["log.replica"] = str(&c->log.replica, "log.replica");
  m["log.sink_nice"] = i32(&c->log.sink_nice, "log.sink_nice");
  m["telemetry.kind"] = str(&c->telemetry.kind, "telemetry.kind");
  m["telemetry.period_ms"] = [c](const YAML::Node& n, const std::string& src) {
    return Read(n, src, "telemetry.period_ms", &c->telemetry.sampler.period_ms);
  };
  m["shutdown_grace_ms"] = i32(&c->shutdown_grace_ms, "shutdown_grace_ms");
  m["heap_trim_interval_ms"] = i32(&c->heap_trim_interval_ms, "heap_trim_interval_ms");
  m["stream_stats_period_ms"] = i64(&c->stream_stats_period_ms, "stream_stats_period_ms");
  m["streams"] = [c](const YAML::Node& n, const std::string& src) {
    if (n.IsNull()) {
      c->streams.clear();
      return Status::Ok();
    }
    if (!n.IsSequence()) {
      return InvalidArgumentError(Where(n, src) + "streams: expected a list of {name, uri, ...}");
    }
    std::vector<StreamConfig> streams(n.size());
    for (size_t i = 0; i < n.size(); ++i) YS_RETURN_IF_ERROR(ReadStream(n[i], src, i, &streams[i]));
    c->streams = std::move(streams);
    return Status::Ok();
  };
  m["alerts"] = [c](const YAML::Node& n, const std::string& src) {
    return ApplyAlertingConfigYaml(n, src, &c->alerts);
  };
  return m;
}

Status Apply(const YAML::Node& node, const std::string& prefix, const std::string& source,
             const std::map<std::string, Setter>& setters) {
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const std::string full = prefix.empty() ? key : prefix + "." + key;
    auto it = setters.find(full);
    if (it != setters.end()) {
      YS_RETURN_IF_ERROR(it->second(kv.second, source));
      continue;
    }
    if (kv.second.IsMap()) {
      // A section: accept it only if some known key lives under it.
      bool known = false;
      for (const auto& s : setters) known |= s.first.rfind(full + ".", 0) == 0;
      if (known) {
        YS_RETURN_IF_ERROR(Apply(kv.second, full, source, setters));
        continue;
      }
    }
    return InvalidArgumentError(source + ":" + std::to_string(kv.first.Mark().line + 1) +
                                ": unknown key '" + full + "'");
  }
  return Status::Ok();
}

}  // namespace

Status LoadServeConfigYaml(const std::string& yaml_text, const std::string& source_name,
                           ServeConfig* config) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(source_name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (root.IsNull()) return Status::Ok();
  if (!root.IsMap()) return InvalidArgumentError(source_name + ":1: expected a mapping");
  try {
    return Apply(root, "", source_name, Setters(config));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(source_name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Status LoadServeConfigFile(const std::string& path, ServeConfig* config) {
  std::ifstream in(path);
  if (!in) return NotFoundError("cannot open config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadServeConfigYaml(ss.str(), path, config);
}

std::string ServeConfigToYaml(const ServeConfig& c) {
  const auto& s = c.service;
  const auto& b = s.batcher;
  const auto& h = c.http;
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "path" << YAML::Value << s.backend.model_path;
  e << YAML::Key << "name" << YAML::Value << s.model_name;
  e << YAML::Key << "backend" << YAML::Value << s.backend.kind;
  e << YAML::Key << "device" << YAML::Value << s.backend.device;
  e << YAML::Key << "precision" << YAML::Value << s.backend.precision;
  e << YAML::Key << "gpu_memory_fraction" << YAML::Value << YAML::DoublePrecision(15)
    << s.backend.gpu_memory_fraction;
  e << YAML::Key << "cuda_graphs" << YAML::Value << s.backend.cuda_graphs;
  e << YAML::Key << "names" << YAML::Value << s.backend.names_path;
  e << YAML::Key << "imgsz" << YAML::Value << s.backend.input_w;
  e << YAML::Key << "onnxruntime_library" << YAML::Value << s.backend.onnxruntime_library;
  e << YAML::Key << "threads" << YAML::Value << s.backend.num_threads;
  e << YAML::Key << "instances" << YAML::Value << s.instances;
  e << YAML::Key << "warmup" << YAML::Value << s.warmup;
  e << YAML::EndMap;
  e << YAML::Key << "pipeline" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "preprocess_workers" << YAML::Value << s.preprocess_workers;
  e << YAML::Key << "postprocess_workers" << YAML::Value << s.postprocess_workers;
  e << YAML::Key << "max_pixels" << YAML::Value << s.max_pixels;
  e << YAML::Key << "fast_decode" << YAML::Value << s.fast_decode;
  e << YAML::EndMap;
  e << YAML::Key << "postprocess" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "conf" << YAML::Value << s.postprocess.conf;
  e << YAML::Key << "iou" << YAML::Value << s.postprocess.iou;
  e << YAML::Key << "max_det" << YAML::Value << s.postprocess.max_det;
  e << YAML::Key << "agnostic" << YAML::Value << s.postprocess.agnostic;
  e << YAML::EndMap;
  e << YAML::Key << "batching" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "policy" << YAML::Value << std::string(BatchPolicyName(b.policy));
  e << YAML::Key << "max_batch_size" << YAML::Value << b.max_batch_size;
  e << YAML::Key << "max_queue_delay_us" << YAML::Value << b.max_queue_delay_us;
  e << YAML::Key << "preferred_batch_sizes" << YAML::Value << YAML::Flow << b.preferred_batch_sizes;
  e << YAML::Key << "max_queue_size" << YAML::Value << b.max_queue_size;
  e << YAML::Key << "default_timeout_us" << YAML::Value << b.default_timeout_us;
  e << YAML::EndMap;
  e << YAML::Key << "http" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "host" << YAML::Value << h.host;
  e << YAML::Key << "port" << YAML::Value << h.port;
  e << YAML::Key << "io_threads" << YAML::Value << h.io_threads;
  e << YAML::Key << "max_connections" << YAML::Value << h.max_connections;
  e << YAML::Key << "max_connections_per_ip" << YAML::Value << h.max_connections_per_ip;
  e << YAML::Key << "max_body_bytes" << YAML::Value << h.max_body_bytes;
  e << YAML::Key << "read_timeout_ms" << YAML::Value << h.read_timeout.count();
  e << YAML::Key << "write_timeout_ms" << YAML::Value << h.write_timeout.count();
  e << YAML::Key << "idle_timeout_ms" << YAML::Value << h.idle_timeout.count();
  e << YAML::Key << "auth_token" << YAML::Value << (h.auth_token.empty() ? "" : "<set>");
  e << YAML::EndMap;
  e << YAML::Key << "grpc" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "enabled" << YAML::Value << c.grpc.enabled;
  e << YAML::Key << "host" << YAML::Value << c.grpc.host;
  e << YAML::Key << "port" << YAML::Value << c.grpc.port;
  e << YAML::Key << "max_message_bytes" << YAML::Value << c.grpc.max_message_bytes;
  e << YAML::EndMap;
  e << YAML::Key << "log" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "enabled" << YAML::Value << c.log.enabled;
  e << YAML::Key << "path" << YAML::Value << c.log.path;
  e << YAML::Key << "max_file_bytes" << YAML::Value << c.log.max_file_bytes;
  e << YAML::Key << "max_files" << YAML::Value << c.log.max_files;
  e << YAML::Key << "queue_capacity" << YAML::Value << c.log.queue_capacity;
  e << YAML::Key << "policy" << YAML::Value << c.log.policy;
  e << YAML::Key << "sink" << YAML::Value << c.log.sink;
  e << YAML::Key << "replica" << YAML::Value << c.log.replica;
  e << YAML::Key << "sink_nice" << YAML::Value << c.log.sink_nice;
  e << YAML::EndMap;
  e << YAML::Key << "telemetry" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "kind" << YAML::Value << c.telemetry.kind;
  e << YAML::Key << "period_ms" << YAML::Value << c.telemetry.sampler.period_ms;
  e << YAML::EndMap;
  e << YAML::Key << "shutdown_grace_ms" << YAML::Value << c.shutdown_grace_ms;
  e << YAML::Key << "heap_trim_interval_ms" << YAML::Value << c.heap_trim_interval_ms;
  e << YAML::Key << "stream_stats_period_ms" << YAML::Value << c.stream_stats_period_ms;
  e << YAML::Key << "streams" << YAML::Value << YAML::BeginSeq;
  for (const StreamConfig& st : c.streams) {
    e << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << st.name;
    e << YAML::Key << "uri" << YAML::Value << RedactStreamUri(st.uri);
    e << YAML::Key << "fps" << YAML::Value << st.target_fps;
    e << YAML::Key << "queue_size" << YAML::Value << st.queue_size;
    e << YAML::Key << "drop_policy" << YAML::Value
      << std::string(FrameDropPolicyName(EffectiveDropPolicy(st)));
    e << YAML::Key << "max_in_flight" << YAML::Value << st.max_in_flight;
    e << YAML::Key << "priority" << YAML::Value << st.priority;
    e << YAML::Key << "reconnect_min_ms" << YAML::Value << st.reconnect_min_ms;
    e << YAML::Key << "reconnect_max_ms" << YAML::Value << st.reconnect_max_ms;
    e << YAML::Key << "max_reconnects" << YAML::Value << st.max_reconnects;
    e << YAML::Key << "open_timeout_ms" << YAML::Value << st.open_timeout_ms;
    e << YAML::Key << "read_timeout_ms" << YAML::Value << st.read_timeout_ms;
    e << YAML::Key << "realtime" << YAML::Value << st.realtime;
    const StreamResultsConfig& r = st.results;
    e << YAML::Key << "results" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "jsonl" << YAML::Value << r.jsonl;
    e << YAML::Key << "jsonl_max_file_bytes" << YAML::Value << r.jsonl_max_file_bytes;
    e << YAML::Key << "jsonl_max_files" << YAML::Value << r.jsonl_max_files;
    e << YAML::Key << "jsonl_queue_capacity" << YAML::Value << r.jsonl_queue_capacity;
    e << YAML::Key << "webhook" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "url" << YAML::Value << r.webhook.url;
    e << YAML::Key << "bearer_token" << YAML::Value
      << (r.webhook.bearer_token.empty() ? "" : "<redacted>");
    e << YAML::Key << "timeout_ms" << YAML::Value << r.webhook.timeout_ms;
    e << YAML::Key << "max_attempts" << YAML::Value << r.webhook.max_attempts;
    e << YAML::Key << "initial_backoff_ms" << YAML::Value << r.webhook.initial_backoff_ms;
    e << YAML::Key << "max_backoff_ms" << YAML::Value << r.webhook.max_backoff_ms;
    e << YAML::Key << "queue_capacity" << YAML::Value << r.webhook.queue_capacity;
    e << YAML::Key << "max_frames_per_post" << YAML::Value << r.webhook.max_frames_per_post;
    e << YAML::Key << "close_timeout_ms" << YAML::Value << r.webhook.close_timeout_ms;
    e << YAML::EndMap;
    e << YAML::EndMap;
    e << YAML::EndMap;
  }
  e << YAML::EndSeq;
  e << YAML::Key << "alerts" << YAML::Value;
  EmitAlertingConfigYaml(c.alerts, &e);
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

Status ApplyServeConfigEnv(const std::function<const char*(const char*)>& getenv,
                           ServeConfig* config) {
  for (const auto& [key, setter] : Setters(config)) {
    std::string name = "YOLOSCOPE_";
    for (char ch : key) {
      name.push_back(ch == '.' ? '_'
                               : static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
    }
    const char* value = getenv(name.c_str());
    if (value == nullptr) continue;
    YAML::Node node;
    try {
      node = YAML::Load(value);
    } catch (const YAML::Exception& e) {
      return InvalidArgumentError("environment " + name + ": " + key + ": " + e.msg);
    }
    // The YAML setters name "source:line: key": the source is the variable.
    Status st = setter(node, "environment " + name);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

namespace {

// "key (--flag)" for messages: both names, so one message serves YAML,
// environment and command line alike.
std::string Field(const char* key, const char* flag) {
  return flag ? std::string(key) + " (" + flag + ")" : std::string(key);
}

template <typename T>
Status CheckRange(const char* key, const char* flag, T value, T lo, T hi) {
  if (value >= lo && value <= hi) return Status::Ok();
  std::ostringstream range;
  if (hi == std::numeric_limits<T>::max()) {
    range << "must be >= " << lo;
  } else {
    range << "must be in " << lo << ".." << hi;
  }
  std::ostringstream got;
  got << value;
  return InvalidArgumentError(Field(key, flag) + " " + range.str() + ", got " + got.str());
}

}  // namespace

Status ValidateServeConfig(const ServeConfig& c) {
  const auto& s = c.service;
  const auto& b = s.batcher;
  const auto& h = c.http;
  constexpr int kIntMax = std::numeric_limits<int>::max();
  constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
  if (s.backend.model_path.empty() && s.backend.kind != "identity") {
    return InvalidArgumentError("model.path (--model) is required");
  }
  YS_RETURN_IF_ERROR(CheckRange("model.threads", "--threads", s.backend.num_threads, 0, 1024));
  YS_RETURN_IF_ERROR(CheckRange("model.instances", "--instances", s.instances, 1, 256));
  YS_RETURN_IF_ERROR(CheckRange("model.imgsz", "--imgsz", s.backend.input_w, 0, 1 << 14));
  if (!(s.backend.gpu_memory_fraction > 0 && s.backend.gpu_memory_fraction <= 1)) {
    std::ostringstream got;
    got << s.backend.gpu_memory_fraction;
    return InvalidArgumentError(
        "model.gpu_memory_fraction (--gpu-memory-fraction) must be in "
        "(0, 1], got " +
        got.str());
  }
  YS_RETURN_IF_ERROR(CheckRange("pipeline.preprocess_workers", "--preprocess-workers",
                                s.preprocess_workers, 1, 1024));
  YS_RETURN_IF_ERROR(CheckRange("pipeline.postprocess_workers", "--postprocess-workers",
                                s.postprocess_workers, 1, 1024));
  YS_RETURN_IF_ERROR(CheckRange<int64_t>("pipeline.max_pixels", nullptr, s.max_pixels, 1, kI64Max));
  YS_RETURN_IF_ERROR(
      CheckRange("batching.max_batch_size", "--max-batch", b.max_batch_size, 1, 1 << 16));
  YS_RETURN_IF_ERROR(CheckRange<int64_t>("batching.max_queue_delay_us", "--max-queue-delay-us",
                                         b.max_queue_delay_us, 0, 60'000'000));
  YS_RETURN_IF_ERROR(
      CheckRange("batching.max_queue_size", "--max-queue-size", b.max_queue_size, 1, kIntMax));
  YS_RETURN_IF_ERROR(CheckRange<int64_t>("batching.default_timeout_us", "--timeout-ms (x1000)",
                                         b.default_timeout_us, 0, kI64Max / 1000));
  YS_RETURN_IF_ERROR(CheckRange("http.port", "--port", h.port, 0, 65535));
  YS_RETURN_IF_ERROR(CheckRange("http.io_threads", nullptr, h.io_threads, 0, 1024));
  YS_RETURN_IF_ERROR(CheckRange("grpc.port", "--grpc-port", c.grpc.port, 0, 65535));
  YS_RETURN_IF_ERROR(CheckRange<int64_t>("grpc.max_message_bytes", nullptr,
                                         c.grpc.max_message_bytes, 1024, (1ll << 31) - 1));
  if (c.grpc.enabled && c.grpc.host.empty()) {
    return InvalidArgumentError("grpc.host (--grpc-host) must not be empty");
  }
  if (c.grpc.enabled && c.grpc.port != 0 && c.grpc.port == h.port && c.grpc.host == h.host) {
    return InvalidArgumentError("grpc.port (--grpc-port) " + std::to_string(c.grpc.port) +
                                " is also http.port (--port): give them different ports");
  }
  YS_RETURN_IF_ERROR(CheckRange<uint64_t>("http.max_connections", "--max-connections",
                                          h.max_connections, 1, 1'000'000));
  YS_RETURN_IF_ERROR(CheckRange<uint64_t>("http.max_connections_per_ip", "--max-connections-per-ip",
                                          h.max_connections_per_ip, 0, 1'000'000));
  YS_RETURN_IF_ERROR(CheckRange<uint64_t>("http.max_body_bytes", nullptr, h.max_body_bytes, 1,
                                          std::numeric_limits<uint64_t>::max()));
  YS_RETURN_IF_ERROR(CheckRange<int64_t>("http.read_timeout_ms", "--read-timeout-ms",
                                         h.read_timeout.count(), 1, kI64Max));
  YS_RETURN_IF_ERROR(
      CheckRange<int64_t>("http.write_timeout_ms", nullptr, h.write_timeout.count(), 1, kI64Max));
  YS_RETURN_IF_ERROR(CheckRange<int64_t>("http.idle_timeout_ms", "--idle-timeout-ms",
                                         h.idle_timeout.count(), 1, kI64Max));
  YS_RETURN_IF_ERROR(
      CheckRange<int64_t>("log.max_file_bytes", nullptr, c.log.max_file_bytes, 0, kI64Max));
  YS_RETURN_IF_ERROR(CheckRange("log.max_files", nullptr, c.log.max_files, 0, 1000));
  YS_RETURN_IF_ERROR(CheckRange("log.sink_nice", "--log-sink-nice", c.log.sink_nice, 0, 19));
  if (!c.log.sink.empty()) {
    auto sink = ClickHouseUri::Parse(c.log.sink);
    if (!sink.ok())
      return InvalidArgumentError("log.sink (--log-sink): " + sink.status().message());
    if (!c.log.enabled) {
      return InvalidArgumentError(
          "log.sink (--log-sink) ships the request log, which is off (--no-log): the log is the "
          "sink's spool");
    }
  }
  YS_RETURN_IF_ERROR(CheckRange("log.queue_capacity", nullptr, c.log.queue_capacity, 1, kIntMax));
  if (c.log.policy != "availability" && c.log.policy != "audit") {
    return InvalidArgumentError("log.policy (--log-policy) must be availability or audit, got '" +
                                c.log.policy + "'");
  }
  YS_RETURN_IF_ERROR(CheckRange<int64_t>("telemetry.period_ms", nullptr,
                                         c.telemetry.sampler.period_ms, 1, kI64Max));
  YS_RETURN_IF_ERROR(CheckRange("shutdown_grace_ms", nullptr, c.shutdown_grace_ms, 0, kIntMax));
  YS_RETURN_IF_ERROR(
      CheckRange("heap_trim_interval_ms", nullptr, c.heap_trim_interval_ms, 0, kIntMax));
  YS_RETURN_IF_ERROR(CheckRange<int64_t>("stream_stats_period_ms", nullptr,
                                         c.stream_stats_period_ms, 0, 86'400'000));
  YS_RETURN_IF_ERROR(ValidateStreamConfigs(c.streams));
  YS_RETURN_IF_ERROR(ValidateDetectionRules(c.alerts.detection_rules));
  const auto& rules = c.alerts.detection_rules;
  if (!rules.empty() && !c.alerts.enabled) {
    return InvalidArgumentError(
        "alerts.detection_rules: needs alerts.enabled: true (they notify through the alerts' "
        "notifiers)");
  }
  for (size_t i = 0; i < rules.size(); ++i) {
    for (const std::string& name : rules[i].streams) {
      bool known = false;
      for (const StreamConfig& st : c.streams) known |= st.name == name;
      if (!known) {
        return InvalidArgumentError(DetectionRuleKey(rules, i) + ".streams: no stream named '" +
                                    name + "' (streams: / --stream NAME=URI)");
      }
    }
  }
  Status batcher = ValidateBatcherConfig(b);
  if (!batcher.ok()) return InvalidArgumentError("batching: " + batcher.message());
  Status post = s.postprocess.Validate();
  if (!post.ok()) return InvalidArgumentError("postprocess: " + post.message());
  return Status::Ok();
}

}  // namespace yoloscope
