// StreamSource: one video stream read on its own thread. It opens the URI
// (VideoReader), decodes frames, samples them to the target fps by
// presentation time, and queues them in a bounded FrameQueue for one
// consumer; a live source that fails or goes silent is reopened with
// exponential backoff, a file ends at EOF.
//
// Accounting: a frame counts as read once the reader hands it on, and every
// frame read is then exactly one of skipped (fps sampling), dropped (queue
// full under drop_oldest, or discarded at shutdown), delivered (handed out
// by Next) or queued. Every Stats() snapshot balances exactly:
//   frames_read == frames_skipped + frames_dropped + frames_delivered + queued.
//
// Errors never throw and never stop the process: a file that cannot be
// opened, has no decodable frame or (with a target fps or realtime) no
// frame rate ends the stream as kFailed with the reason in Stats().error; a
// live source keeps retrying (kReconnecting) unless max_reconnects is spent.
//
// Ownership: owns the reader thread and queue; borrows the Clock (which
// must outlive it). Thread-safety: Next is for one consumer thread; Stats,
// Stop and finished are thread-safe. The event sink is called on the reader
// thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/clock.h"
#include "common/status.h"
#include "stream/frame_queue.h"
#include "stream/stream_config.h"
#include "stream/video_frame.h"

namespace yoloscope {

enum class StreamState {
  kConnecting,    // opening (first time)
  kRunning,       // frames are being read
  kReconnecting,  // live source lost or not reachable: waiting to retry
  kEnded,         // a file reached its end
  kFailed,        // gave up (see error)
  kStopped,       // Stop() was called
};
std::string_view StreamStateName(StreamState state);  // "connecting", "running", ...

struct StreamSourceStats {
  StreamState state = StreamState::kConnecting;
  int64_t frames_read = 0;       // decoded from the source and handed on
  int64_t frames_skipped = 0;    // not due at the target fps
  int64_t frames_dropped = 0;    // queue overflow (drop_oldest) + discarded at shutdown
  int64_t frames_delivered = 0;  // handed out by Next
  int64_t queued = 0;            // waiting in the queue now
  int64_t reconnects = 0;        // reopen attempts after the first open
  int width = 0, height = 0;     // of the current / last connection
  double source_fps = 0;         // the container's frame rate (0 = unknown)
  std::string codec;             // FourCC, e.g. "h264"
  std::string error;             // the last failure; cleared when frames flow again
};

// A state change, for the consumer's log: the new state and what happened.
struct StreamEvent {
  StreamState state = StreamState::kConnecting;
  std::string message;
};

class StreamSource {
 public:
  using EventSink = std::function<void(const StreamEvent&)>;

  // Validates `config` (ValidateStreamConfig); opens nothing yet.
  // FailedPrecondition in builds without video support
  // (VideoReader::CheckSupported). `on_event` may be empty.
  static StatusOr<std::unique_ptr<StreamSource>> Create(const StreamConfig& config, Clock* clock,
                                                        EventSink on_event = nullptr);
  ~StreamSource();

  // Starts the reader thread. Once only.
  void Start();

  // The next frame, waiting up to `wait`; nullopt when none came in time or
  // the source has finished (see finished()).
  std::optional<VideoFrame> Next(std::chrono::milliseconds wait);

  // True when the reader has ended (EOF, failure, Stop) and every queued
  // frame has been handed out or discarded.
  bool finished() const;

  // Stops reading (waits for the reader thread: at most about
  // read_timeout_ms while a network read is blocked) and counts frames
  // still queued as dropped. Idempotent.
  void Stop();

  StreamSourceStats Stats() const;
  const StreamConfig& config() const { return config_; }
  StreamSourceKind kind() const { return kind_; }
  FrameDropPolicy drop_policy() const { return policy_; }

 private:
  StreamSource(const StreamConfig& config, Clock* clock, EventSink on_event);
  void ReadLoop();
  // One connection's read loop; returns false when the stream is over
  // (ended, failed or stopped), true to reconnect.
  bool ReadConnection(class VideoReader* reader, int connection);
  void SetState(StreamState state, const std::string& message, bool is_error);
  // Waits `ms` or until Stop; false when stopped.
  bool WaitBackoff(int64_t ms);

  const StreamConfig config_;
  const StreamSourceKind kind_;
  const FrameDropPolicy policy_;
  Clock* clock_;
  EventSink on_event_;
  FrameQueue queue_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> reader_done_{false};
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;

  mutable std::mutex mu_;
  // Guarded by mu_; Stats() fills in read, dropped, delivered and queued
  // from the queue's counts.
  StreamSourceStats stats_;
  int64_t refused_ = 0;      // Guarded by mu_: frames the closed queue refused at Stop.
  int64_t next_index_ = 0;   // reader thread only
};

}  // namespace yoloscope
