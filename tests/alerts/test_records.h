// Test helpers: LogRecords that own their strings, parsed from yoloscope.v1
// JSON lines with nlohmann (the analyzer's readers are not used by alert
// tests), and built by hand.
#pragma once

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "reqlog/log_record.h"
#include "common/time_format.h"

namespace yoloscope::testing {

// A LogRecord whose string_views point into this object (keep it in place:
// hold it by unique_ptr).
struct OwnedRecord {
  std::string request_id, model, backend, device, status, error, source;
  LogRecord record;

  void Bind() {
    record.request_id = request_id;
    record.model = model;
    record.backend = backend;
    record.device = device;
    record.status = status;
    record.error = error;
    record.source = source;
  }
};

inline std::unique_ptr<OwnedRecord> ParseJsonLine(const std::string& line, int64_t line_no = 0) {
  nlohmann::json j = nlohmann::json::parse(line);
  auto o = std::make_unique<OwnedRecord>();
  LogRecord& r = o->record;
  const std::string event = j.value("event", "request");
  r.kind = event == "request" ? RecordKind::kRequest
           : event == "batch" ? RecordKind::kBatch
           : event == "gpu"   ? RecordKind::kGpu
           : event == "alert" ? RecordKind::kAlert
                              : RecordKind::kOther;
  if (j.contains("ts")) {
    auto ts = ParseTimestampUs(j["ts"].get<std::string>());
    if (ts.ok()) r.ts_us = *ts;
  }
  auto str = [&j](const char* k, std::string* out) {
    if (j.contains(k) && j[k].is_string()) *out = j[k].get<std::string>();
  };
  auto i64 = [&j](const char* k, std::optional<int64_t>* out) {
    if (j.contains(k) && j[k].is_number()) *out = j[k].get<int64_t>();
  };
  auto dbl = [&j](const char* k, std::optional<double>* out) {
    if (j.contains(k) && j[k].is_number()) *out = j[k].get<double>();
  };
  str("request_id", &o->request_id);
  str("model", &o->model);
  str("backend", &o->backend);
  str("device", &o->device);
  str("status", &o->status);
  str("error", &o->error);
  i64("gpu_id", &r.gpu_id);
  i64("batch_id", &r.batch_id);
  i64("instance", &r.instance);
  i64("batch_size", &r.batch_size);
  i64("queue_len", &r.queue_len);
  i64("alloc_retries", &r.alloc_retries);
  i64("dropped_records", &r.dropped_records);
  dbl("queue_ms", &r.queue_ms);
  dbl("decode_ms", &r.decode_ms);
  dbl("preprocess_ms", &r.preprocess_ms);
  dbl("h2d_ms", &r.h2d_ms);
  dbl("inference_ms", &r.inference_ms);
  dbl("d2h_ms", &r.d2h_ms);
  dbl("postprocess_ms", &r.postprocess_ms);
  dbl("total_ms", &r.total_ms);
  dbl("gpu_util", &r.gpu_util);
  dbl("mem_used_mb", &r.mem_used_mb);
  dbl("mem_total_mb", &r.mem_total_mb);
  dbl("temp_c", &r.temp_c);
  dbl("power_w", &r.power_w);
  if (j.contains("oom") && j["oom"].is_boolean()) r.oom = j["oom"].get<bool>();
  r.line = line_no;
  o->Bind();
  return o;
}

inline std::vector<std::unique_ptr<OwnedRecord>> ReadJsonlFile(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::unique_ptr<OwnedRecord>> out;
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    out.push_back(ParseJsonLine(line, n));
  }
  return out;
}

// A request record at t_us (arrival) with the given stage times.
inline LogRecord Request(int64_t t_us, std::optional<double> inference_ms = std::nullopt,
                         std::optional<double> total_ms = std::nullopt) {
  LogRecord r;
  r.kind = RecordKind::kRequest;
  r.ts_us = t_us;
  r.inference_ms = inference_ms;
  r.total_ms = total_ms;
  r.status = "ok";
  return r;
}

inline LogRecord Gpu(int64_t t_us, int64_t gpu_id, double mem_used_mb, double mem_total_mb) {
  LogRecord r;
  r.kind = RecordKind::kGpu;
  r.ts_us = t_us;
  r.gpu_id = gpu_id;
  r.mem_used_mb = mem_used_mb;
  r.mem_total_mb = mem_total_mb;
  return r;
}

constexpr int64_t kSecond = 1'000'000;
// A round Unix time (2026-01-01T00:00:00Z) to start synthetic logs at.
constexpr int64_t kT0 = 1'767'225'600LL * kSecond;

}  // namespace yoloscope::testing
