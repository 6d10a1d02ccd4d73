// Writer-side records of the request-log schema `yoloscope.v1`
// (docs/log-schema.md): RequestLogRecord, BatchLogRecord, GpuLogRecord and
// StreamLogRecord.
// `serve` fills one per request / executed batch / telemetry sample and hands
// it to AppendJsonLine (json_line_serializer.h).
//
// An unknown value is an empty std::optional (or an empty string for text
// fields other than `status`); the serializer omits it. Never store a made-up
// zero for something that was not measured.
//
// Units: times in milliseconds, memory in MB (1 MB = 2^20 bytes), utilisation
// in percent (0..100), `ts_us` in Unix microseconds (UTC).
//
// Plain value types; not synchronized. ResetKeepingCapacity lets a record
// be reused (e.g. one per serving thread) without allocating per record.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace yoloscope {

// One inference request (`"event":"request"`), logged when it completes or
// fails. `ts_us` is the arrival time.
struct RequestLogRecord {
  int64_t ts_us = 0;
  std::string request_id;
  std::string protocol;   // "http" (/v1/detect), "kserve_http", "kserve_grpc"; omitted when empty.
  std::string client_id;  // the client's own id (KServe `id`); omitted when empty.
  // A video frame's stream, index and presentation time (ms); omitted for
  // requests. For a frame, ts_us is its capture time and total_ms runs from
  // capture to result.
  std::string stream;
  std::optional<int64_t> frame_index;
  std::optional<double> pts_ms;
  std::string model;
  std::string backend;
  std::string device;             // "cpu", "cuda:0", ...
  std::optional<int64_t> gpu_id;  // written as null when empty (CPU or unknown).
  std::optional<int64_t> input_w, input_h, input_bytes;
  std::optional<int64_t> batch_id, batch_size;
  std::optional<int64_t> queue_len;  // requests waiting when this one arrived.
  std::optional<double> queue_ms, decode_ms, preprocess_ms, h2d_ms, inference_ms, d2h_ms,
      postprocess_ms, total_ms;
  std::optional<int64_t> detections;
  std::string status = "ok";  // "ok" or an error code such as "oom", "timeout".
  std::string error;          // human-readable message; omitted when empty.
  std::optional<double> gpu_util;
  std::optional<double> mem_used_mb, mem_total_mb, mem_reserved_mb, mem_allocated_mb;
  std::optional<int64_t> alloc_retries;
  std::optional<bool> oom;
  int64_t dropped_records = 0;  // records the writer dropped before this one; written when > 0.
};

// One executed batch (`"event":"batch"`); `ts_us` is when it started running.
struct BatchLogRecord {
  int64_t ts_us = 0;
  std::optional<int64_t> batch_id, batch_size;
  std::string model;                // addition to the minimum field set; omitted when empty.
  std::optional<int64_t> instance;  // model instance (worker) that ran the batch.
  std::optional<int64_t> gpu_id;    // written as null when empty.
  std::optional<double> h2d_ms, inference_ms, d2h_ms;
  // Wall time the instance spent on this batch, from taking it off the
  // batcher to handing its requests on (>= the device times; includes a wait
  // for a device shared with other instances).
  std::optional<double> busy_ms;
  std::optional<double> mem_used_mb, mem_total_mb, mem_reserved_mb, mem_allocated_mb,
      mem_inactive_split_mb;
  std::optional<int64_t> alloc_retries;
  std::optional<bool> oom;
  int64_t dropped_records = 0;
};

// One video stream's state and counters (`"event":"stream"`), cumulative
// since the stream started: frames_read == frames_processed + frames_failed
// + frames_dropped + frames_skipped + frames_queued + frames_in_flight.
struct StreamLogRecord {
  int64_t ts_us = 0;
  std::string stream;
  std::string uri;    // credentials redacted
  std::string state;  // connecting, running, reconnecting, ended, failed, stopped
  std::string codec;  // omitted when empty
  std::string source_kind;       // "file", "network", "device"; omitted when empty
  std::optional<bool> realtime;  // files only: delivered at the file's frame rate
  std::string drop_policy;       // "block" or "drop_oldest" (auto resolved); omitted when empty
  std::optional<int64_t> input_w, input_h;
  std::optional<double> source_fps, target_fps, fps;
  std::optional<int64_t> frames_read, frames_processed, frames_failed, frames_dropped,
      frames_skipped, frames_queued, frames_in_flight, reconnects;
  std::string error;  // the last failure; omitted when empty
  int64_t dropped_records = 0;
};

// One model's serving configuration (`"event":"config"`), as serve runs it.
struct ConfigLogRecord {
  int64_t ts_us = 0;
  std::string model;
  std::string backend;  // omitted when empty
  int64_t instances = 1;
  int64_t max_batch_size = 1;
  int64_t max_queue_delay_us = 0;
  int64_t max_queue_size = 0;
  int64_t preprocess_workers = 1;
  int64_t postprocess_workers = 1;
  std::string batch_policy;  // "fixed" / "adaptive"
  int64_t dropped_records = 0;
};

// One GPU telemetry sample (`"event":"gpu"`).
struct GpuLogRecord {
  int64_t ts_us = 0;
  std::optional<int64_t> gpu_id;
  std::optional<double> gpu_util;
  std::optional<double> mem_used_mb, mem_total_mb, mem_other_processes_mb;
  std::optional<double> sm_clock_mhz, temp_c, power_w;
  std::optional<double> pcie_tx_mbs, pcie_rx_mbs;
  // Active clock-throttle reasons, comma-separated snake_case names
  // ("sw_power_cap,hw_thermal_slowdown"); "" when none is active; empty
  // optional (omitted) when unknown.
  std::optional<std::string> throttle_reasons;
  int64_t dropped_records = 0;
};

// Resets `*record` to a default-constructed record (every field, including
// fields added later) while its string members keep their heap buffers, so
// that refilling a reused record allocates nothing.
template <typename Record>
void ResetKeepingCapacity(Record* record);

namespace log_records_internal {
// Swaps each string member out, resets the record, then hands each buffer
// back holding the default value.
template <typename Record, typename... Members>
void Reset(Record* record, Members... members) {
  std::string saved[sizeof...(Members)];
  size_t i = 0;
  ((saved[i++].swap(record->*members)), ...);
  *record = Record();
  i = 0;
  ((saved[i].assign(record->*members), (record->*members).swap(saved[i]), ++i), ...);
}
}  // namespace log_records_internal

template <>
inline void ResetKeepingCapacity(RequestLogRecord* r) {
  log_records_internal::Reset(
      r, &RequestLogRecord::request_id, &RequestLogRecord::protocol, &RequestLogRecord::client_id,
      &RequestLogRecord::stream, &RequestLogRecord::model, &RequestLogRecord::backend,
      &RequestLogRecord::device, &RequestLogRecord::status, &RequestLogRecord::error);
}

template <>
inline void ResetKeepingCapacity(StreamLogRecord* r) {
  log_records_internal::Reset(r, &StreamLogRecord::stream, &StreamLogRecord::uri,
                              &StreamLogRecord::state, &StreamLogRecord::codec,
                              &StreamLogRecord::error);
}

template <>
inline void ResetKeepingCapacity(BatchLogRecord* r) {
  log_records_internal::Reset(r, &BatchLogRecord::model);
}

}  // namespace yoloscope
