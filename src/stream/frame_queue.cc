#include "stream/frame_queue.h"

#include <algorithm>

namespace yoloscope {

FrameQueue::FrameQueue(size_t capacity, FrameDropPolicy policy)
    : capacity_(std::max<size_t>(1, capacity)),
      policy_(policy == FrameDropPolicy::kAuto ? FrameDropPolicy::kDropOldest : policy) {}

bool FrameQueue::Push(VideoFrame&& frame) {
  std::unique_lock<std::mutex> lock(mu_);
  if (policy_ == FrameDropPolicy::kBlock) {
    not_full_.wait(lock, [&] { return closed_ || frames_.size() < capacity_; });
  }
  if (closed_) return false;
  while (frames_.size() >= capacity_) {
    frames_.pop_front();
    ++dropped_;
  }
  frames_.push_back(std::move(frame));
  ++pushed_;
  lock.unlock();
  not_empty_.notify_one();
  return true;
}

std::optional<VideoFrame> FrameQueue::Pop(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  not_empty_.wait_for(lock, wait, [&] { return closed_ || !frames_.empty(); });
  if (frames_.empty()) return std::nullopt;
  VideoFrame frame = std::move(frames_.front());
  frames_.pop_front();
  ++popped_;
  lock.unlock();
  not_full_.notify_one();
  return frame;
}

int64_t FrameQueue::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto n = static_cast<int64_t>(frames_.size());
  frames_.clear();
  cleared_ += n;
  not_full_.notify_all();
  return n;
}

void FrameQueue::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  not_empty_.notify_all();
  not_full_.notify_all();
}

bool FrameQueue::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

size_t FrameQueue::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return frames_.size();
}

int64_t FrameQueue::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

FrameQueue::Counts FrameQueue::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  Counts c;
  c.pushed = pushed_;
  c.popped = popped_;
  c.dropped = dropped_;
  c.cleared = cleared_;
  c.size = static_cast<int64_t>(frames_.size());
  return c;
}

}  // namespace yoloscope
