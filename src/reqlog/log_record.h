// LogRecord: one request-log record normalized from any input format (our
// JSONL, CSV/TSV/Markdown tables, nvidia-smi CSV, Triton traces). The reading
// side of the schema: the analyzer's readers produce it, the analyzer's
// aggregation and the alerts module consume it (so it lives in reqlog, below
// both). Field names
// and units follow docs/log-schema.md. An unknown field is an empty optional,
// never a made-up zero.
//
// Lifetime: string_views point into the reader's buffer and are valid only
// during the RecordSink::OnRecord call that receives the record; a sink that
// keeps a string copies it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace yoloscope {

enum class RecordKind { kRequest, kBatch, kGpu, kAlert, kStream, kConfig, kOther };

struct LogRecord {
  RecordKind kind = RecordKind::kRequest;
  std::optional<int64_t> ts_us;  // Unix microseconds (request: arrival time)
  // True when ts_us comes from a monotonic clock with an unknown epoch (Triton
  // traces): good for ordering and durations, not for wall-clock display.
  bool ts_monotonic = false;

  // Identity.
  // Fleet origin (`host`, `replica`): set on records read back from the
  // ClickHouse fleet tables (docs/fleet.md); empty for a single server's log.
  std::string_view host, replica;
  std::string_view request_id, model, backend, device, status, error;
  std::optional<int64_t> gpu_id, batch_id, instance;

  // Video streams (docs/streams.md): a frame's stream, index and
  // presentation time on its request record; a `stream` record's counters.
  std::string_view stream;
  std::optional<int64_t> frame_index;
  std::optional<double> pts_ms;
  std::optional<int64_t> frames_read, frames_dropped, frames_skipped;
  std::optional<double> target_fps, source_fps;
  std::string_view source_kind;  // "file", "network", "device"
  std::optional<bool> realtime;  // a file delivered at its own frame rate

  // Request shape and queueing.
  std::optional<int64_t> input_w, input_h, input_bytes, batch_size, queue_len, detections;

  // Stage times (ms).
  std::optional<double> queue_ms, decode_ms, preprocess_ms, h2d_ms, inference_ms, d2h_ms,
      postprocess_ms, total_ms;
  std::optional<double> busy_ms;  // batch records: the instance's wall time for the batch

  // Device state (request, batch and gpu records).
  std::optional<double> gpu_util, mem_used_mb, mem_total_mb, mem_reserved_mb, mem_allocated_mb,
      mem_inactive_split_mb, mem_other_processes_mb, sm_clock_mhz, temp_c, power_w, pcie_tx_mbs,
      pcie_rx_mbs;
  std::optional<int64_t> alloc_retries;
  std::optional<bool> oom;
  std::string_view throttle_reasons;

  // A `config` record: the model's serving setting as serve ran it.
  std::optional<int64_t> instances, max_batch_size, max_queue_delay_us, max_queue_size,
      preprocess_workers, postprocess_workers;
  std::string_view batch_policy;

  // Records the writer dropped just before this one (absent when none).
  std::optional<int64_t> dropped_records;

  // Where it came from, for error messages and examples.
  std::string_view source;  // file name
  int64_t line = 0;         // 1-based line (or row) number

  void Clear() { *this = LogRecord(); }
};

}  // namespace yoloscope
