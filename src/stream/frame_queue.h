// FrameQueue: the bounded queue between a stream's reader thread and its
// consumer. Never grows past `capacity`: when full, kDropOldest discards the
// oldest queued frame (the newest is kept; the drop is counted) and kBlock
// makes the producer wait for room.
//
// Close() ends it: a blocked Push returns false, Pop hands out what is left
// and then returns nullopt. Thread-safety: every method is thread-safe (one
// producer and one consumer is the intended use).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

#include "stream/stream_config.h"
#include "stream/video_frame.h"

namespace yoloscope {

class FrameQueue {
 public:
  // Every count of one moment, taken under one lock:
  //   pushed == popped + dropped + cleared + size.
  struct Counts {
    int64_t pushed = 0;   // accepted by Push
    int64_t popped = 0;   // handed out by Pop
    int64_t dropped = 0;  // discarded by kDropOldest
    int64_t cleared = 0;  // removed by Clear
    int64_t size = 0;     // queued now
  };

  // `policy` kAuto is taken as kDropOldest; capacity >= 1.
  FrameQueue(size_t capacity, FrameDropPolicy policy);

  // Queues `frame`. False when the queue is closed (the frame is discarded,
  // not counted: the caller accounts for it).
  bool Push(VideoFrame&& frame);
  // The oldest frame, waiting up to `wait` for one; nullopt when none came
  // or the queue is closed and empty.
  std::optional<VideoFrame> Pop(std::chrono::milliseconds wait);
  // Removes every queued frame; returns how many.
  int64_t Clear();
  void Close();

  bool closed() const;
  size_t size() const;
  int64_t dropped() const;  // frames discarded by kDropOldest
  Counts counts() const;
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  const FrameDropPolicy policy_;
  mutable std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<VideoFrame> frames_;  // Guarded by mu_.
  bool closed_ = false;            // Guarded by mu_.
  int64_t pushed_ = 0;             // Guarded by mu_.
  int64_t popped_ = 0;             // Guarded by mu_.
  int64_t dropped_ = 0;            // Guarded by mu_.
  int64_t cleared_ = 0;            // Guarded by mu_.
};

}  // namespace yoloscope
