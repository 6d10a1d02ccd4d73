#include "server/heap_trimmer.h"

#include "common/heap_usage.h"

namespace yoloscope {

void HeapTrimmer::Start() {
  if (interval_.count() <= 0 || thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void HeapTrimmer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HeapTrimmer::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    const bool released = TrimHeap();
    trims_.fetch_add(1, std::memory_order_relaxed);
    if (released) released_.fetch_add(1, std::memory_order_relaxed);
    lock.lock();
  }
}

}  // namespace yoloscope
