// StreamResultSink: where one video stream's per-frame results go besides
// the request log (the stream's `results:`; docs/streams.md, "Results out"):
//
//   - a JSONL file: one line per processed or failed frame, appended by an
//     AsyncLogWriter (its own thread, bounded queue, flushed within ~50 ms,
//     rotated by size; a line that cannot be queued or written is counted by
//     reason, never lost silently);
//   - a webhook: the same objects POSTed as {"stream": NAME, "frames": [...]}
//     by a WebhookSender (its own thread, bounded queue, timeout, retries
//     with backoff; frames queued during a POST go in the next one).
//
// The line (FormatLine):
//   {"stream":"door","frame_index":12,"pts_ms":480,"ts":"2026-...Z",
//    "width":640,"height":424,"status":"ok","latency_ms":35.2,
//    "detections":[{"class_id":16,"label":"dog","score":0.6612,"box":[x1,y1,x2,y2]}]}
// `ts` is the frame's capture time, `pts_ms` null when the source has none, `box` original-image
// pixels, `latency_ms` capture to result. A failed frame has its `status` (e.g. "timeout"),
// `error`, and no `detections`.
//
// Write never waits for I/O (both sinks only queue). Ownership: owns its
// writer and sender; borrows the ModelInfo (labels), which must outlive it.
// Thread-safety: Write, stats from any thread; Close once, idempotent.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "alerts/webhook_sender.h"
#include "common/clock.h"
#include "common/status.h"
#include "logging/async_log_writer.h"
#include "model/detection.h"
#include "model/model_info.h"
#include "stream/stream_config.h"

namespace yoloscope {

// One frame's result as the sinks see it.
struct StreamFrameResult {
  int64_t frame_index = 0;
  std::optional<double> pts_ms;  // presentation time; none when the source has none
  int64_t capture_wall_us = 0;   // Unix us of the frame's capture
  bool ok = true;
  std::string status = "ok";  // the request record's status
  std::string error;          // why it failed (failed frames)
  int width = 0, height = 0;
  double latency_ms = 0;  // capture to result
  Detections detections;
};

// Per sink: every frame handed to it is written/delivered, failed,
// dropped, or still queued.
struct StreamResultSinkStats {
  bool jsonl = false;  // the sink is on
  int64_t jsonl_written = 0, jsonl_failed = 0, jsonl_dropped = 0;
  bool webhook = false;
  int64_t webhook_delivered = 0, webhook_failed = 0, webhook_dropped = 0, webhook_queued = 0;
  int64_t webhook_posts = 0, webhook_retries = 0;
  std::string webhook_last_error;
};

class StreamResultSink {
 public:
  // Opens the JSONL file and starts the webhook sender as configured (either
  // may be off). Errors name the key ("results.jsonl: ...").
  static StatusOr<std::unique_ptr<StreamResultSink>> Create(const std::string& stream,
                                                            const StreamResultsConfig& config,
                                                            const ModelInfo* model, Clock* clock);
  ~StreamResultSink();

  // True when at least one sink is on.
  bool enabled() const { return jsonl_ != nullptr || webhook_ != nullptr; }
  // Hands one frame's result to every sink; never waits.
  void Write(const StreamFrameResult& result);
  // Flushes the file and delivers what the webhook has queued (within its
  // close_timeout_ms). Idempotent.
  void Close();
  StreamResultSinkStats stats() const;

  // The JSON object of one frame (one JSONL line, without '\n').
  static std::string FormatLine(const std::string& stream, const StreamFrameResult& result,
                                const ModelInfo& model);

 private:
  StreamResultSink(std::string stream, const ModelInfo* model);

  const std::string stream_;
  const ModelInfo* const model_;
  std::unique_ptr<AsyncLogWriter> jsonl_;
  std::unique_ptr<WebhookSender> webhook_;
};

}  // namespace yoloscope
