// DynamicBatcher<T>: groups requests into batches for model instances, with
// the semantics of Triton's dynamic batcher (see docs/batching.md):
//   - a batch is dispatched at once when max_batch_size requests are queued
//     or a preferred batch size can be formed (the largest one available);
//   - otherwise, under the "fixed" policy, when the OLDEST queued request has
//     waited max_queue_delay_us, with whatever is queued; under "adaptive",
//     at once unless waiting is predicted to lower latency (never longer);
//   - requests past their deadline are removed before a batch is formed and
//     handed to the expired callback with DeadlineExceeded; they never run;
//   - two priority levels: all kHigh requests go before kNormal ones, FIFO
//     within a level; a batch never exceeds max_batch_size;
//   - a full queue (max_queue_size) rejects Enqueue with ResourceExhausted.
//
// Payload: T is whatever the caller queues (the server queues a pointer to
// its request context; tests queue ints). It must be default-constructible
// and movable; it is moved in, moved out, and never copied. The queues are
// ring buffers sized once from max_queue_size, and NextBatch refills the
// caller's Batch (whose vectors keep their capacity), so after warm-up the
// Enqueue -> NextBatch path performs no allocation. The timing rules live in
// BatchPlanner, a pure function of (queue state, now), so tests drive them
// with a FakeClock through Poll/TryGetBatch without threads.
//
// Threading: any number of producers call Enqueue; consumers (one device
// worker per model instance) call the blocking NextBatch, which waits on a
// condition variable until its decision's wake time or the next arrival.
// All public methods are thread-safe. Callbacks run without the lock held.
//
// Lifetime: the Clock is not owned and must outlive the batcher. Call
// Shutdown() and join the consumers before destroying it; items still queued
// at destruction are destroyed without callback.
//
// Units: times are the Clock's monotonic nanoseconds (deadlines are absolute
// times on that clock); configured durations and latencies are microseconds.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "batching/batch_planner.h"
#include "batching/batcher_config.h"
#include "batching/ring_queue.h"
#include "common/clock.h"
#include "common/status.h"

namespace yoloscope {

// What the batcher knows about one request; the server logs these fields.
struct BatchItemInfo {
  int64_t enqueue_ns = 0;     // arrival time (Clock::NowNs at Enqueue).
  int64_t deadline_ns = 0;    // absolute deadline; 0 = none.
  int64_t queue_wait_ns = 0;  // time from arrival to dispatch (or to expiry).
  int queue_len = 0;          // requests already queued (both levels) when it arrived.
  Priority priority = Priority::kNormal;
};

// A batch handed to a consumer. Reuse one object per consumer: the vectors
// keep their capacity across NextBatch calls.
template <typename T>
struct Batch {
  uint64_t batch_id = 0;    // 1, 2, 3, ... in dispatch order, per batcher.
  int64_t dispatch_ns = 0;  // when it was formed.
  BatchReason reason = BatchReason::kNone;
  std::vector<T> items;              // high priority first, FIFO within a level.
  std::vector<BatchItemInfo> infos;  // parallel to items.

  int size() const { return static_cast<int>(items.size()); }
  void Clear() {
    items.clear();
    infos.clear();
  }
};

// A snapshot for /v1/stats and /metrics.
struct BatcherStats {
  int64_t queue_length = 0;
  int64_t queue_length_high = 0;
  int64_t in_flight_batches = 0;  // dispatched, OnBatchFinished not yet called.
  int64_t in_flight_requests = 0;
  int64_t enqueued_total = 0;
  int64_t rejected_total = 0;  // Enqueue failures (queue full, shut down, already late).
  int64_t expired_total = 0;   // removed from the queue past their deadline.
  int64_t batches_total = 0;
  // Index = batch size (entry 0 unused), like Triton's batch_stats.
  std::vector<int64_t> batch_count_by_size;
  std::vector<int64_t> finished_count_by_size;       // OnBatchFinished calls.
  std::vector<int64_t> finished_latency_us_by_size;  // their summed latency.
  double arrival_rate_per_s = 0;                     // the adaptive policy's estimate.
};

template <typename T>
class DynamicBatcher {
 public:
  // Receives each expired request (moved), its info (queue_wait_ns = time
  // queued) and a DeadlineExceeded status. Called on whichever thread found
  // it expired (a consumer, a producer, or a SweepExpired caller), without
  // the batcher's lock; it must not block for long.
  using ExpiredCallback = std::function<void(T&& item, const BatchItemInfo& info, const Status&)>;

  // InvalidArgument for a bad config or a null clock. `on_expired` may be
  // empty, in which case expired requests are destroyed.
  static StatusOr<std::unique_ptr<DynamicBatcher>> Create(const BatcherConfig& config, Clock* clock,
                                                          ExpiredCallback on_expired = nullptr) {
    if (clock == nullptr) return InvalidArgumentError("DynamicBatcher needs a clock");
    Status valid = ValidateBatcherConfig(config);
    if (!valid.ok()) return valid.WithContext("batcher config");
    return std::unique_ptr<DynamicBatcher>(
        new DynamicBatcher(config, clock, std::move(on_expired)));
  }

  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  // Queues `item`. `deadline_ns` is an absolute time on the batcher's clock;
  // 0 means now + default_timeout_us (or none when that is 0). Errors, with
  // `item` left untouched so the caller can answer it:
  //   ResourceExhausted - max_queue_size requests are queued (HTTP 503);
  //   DeadlineExceeded  - the deadline has already passed (HTTP 504);
  //   Unavailable       - Shutdown() was called (HTTP 503).
  Status Enqueue(T&& item, Priority priority = Priority::kNormal, int64_t deadline_ns = 0) {
    std::vector<Expired> expired;
    Status status;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const int64_t now = clock_->NowNs();
      status = EnqueueLocked(std::move(item), priority, deadline_ns, now, &expired);
    }
    DeliverExpired(&expired);
    return status;
  }

  // Blocks until a batch is ready and fills `out` (cleared first). After
  // Shutdown() it keeps returning batches, without waiting for the window,
  // until the queue is empty, then returns Unavailable("batcher closed").
  Status NextBatch(Batch<T>* out) {
    std::vector<Expired> expired;
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      const int64_t now = clock_->NowNs();
      if (SweepLocked(now, &expired) > 0) {
        lock.unlock();
        DeliverExpired(&expired);
        lock.lock();
        continue;  // time moved while we were away: decide afresh.
      }
      const BatchDecision d = planner_.Decide(SnapshotLocked(), now);
      if (d.action == BatchAction::kDispatch) {
        FormBatchLocked(d, now, out);
        const bool more = total_queued_ > 0 && waiting_consumers_ > 0;
        lock.unlock();
        // Another idle consumer may be able to start on what is left.
        if (more) cv_.notify_one();
        return Status::Ok();
      }
      if (d.action == BatchAction::kIdle) {
        if (shutdown_) return UnavailableError("batcher closed");
        ++waiting_consumers_;
        cv_.wait(lock);
        --waiting_consumers_;
        continue;
      }
      // kWait: also wake for the earliest deadline so an expired request is
      // answered promptly rather than at the end of the window.
      const int64_t wake = std::min(d.wake_at_ns, earliest_deadline_ns_);
      ++waiting_consumers_;
      cv_.wait_for(lock, std::chrono::nanoseconds(std::max<int64_t>(wake - now, 0)));
      --waiting_consumers_;
    }
  }

  // Non-blocking: removes expired requests as of `now_ns`, then fills `out`
  // and returns true if the rules dispatch a batch at `now_ns`.
  bool TryGetBatch(int64_t now_ns, Batch<T>* out) {
    std::vector<Expired> expired;
    bool formed = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      SweepLocked(now_ns, &expired);
      const BatchDecision d = planner_.Decide(SnapshotLocked(), now_ns);
      if (d.action == BatchAction::kDispatch) {
        FormBatchLocked(d, now_ns, out);
        formed = true;
      }
    }
    DeliverExpired(&expired);
    return formed;
  }

  // Removes expired requests as of `now_ns`, then returns what the rules
  // decide at `now_ns` without taking a batch.
  BatchDecision Poll(int64_t now_ns) {
    std::vector<Expired> expired;
    BatchDecision d;
    {
      std::lock_guard<std::mutex> lock(mu_);
      SweepLocked(now_ns, &expired);
      d = planner_.Decide(SnapshotLocked(), now_ns);
    }
    DeliverExpired(&expired);
    return d;
  }

  // Removes requests whose deadline is <= now_ns (handing them to the
  // expired callback). Returns how many. Consumers do this themselves; a
  // server whose instances are all busy may call it periodically so late
  // requests are answered without waiting for an instance.
  int SweepExpired(int64_t now_ns) {
    std::vector<Expired> expired;
    int n = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      n = SweepLocked(now_ns, &expired);
    }
    DeliverExpired(&expired);
    return n;
  }

  // Stops accepting requests and wakes every consumer; queued requests are
  // still dispatched (drain). Idempotent.
  void Shutdown() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown_ = true;
    }
    cv_.notify_all();
  }

  // The server reports each executed batch: `latency_us` is how long the
  // instance was busy with it. Updates in-flight counts, batch stats and the
  // adaptive latency curve.
  void OnBatchFinished(int batch_size, int64_t latency_us) {
    std::lock_guard<std::mutex> lock(mu_);
    if (in_flight_batches_ > 0) --in_flight_batches_;
    in_flight_requests_ = std::max<int64_t>(0, in_flight_requests_ - batch_size);
    if (batch_size >= 1 && batch_size <= config_.max_batch_size) {
      ++finished_count_by_size_[batch_size];
      finished_latency_us_by_size_[batch_size] += latency_us;
    }
    planner_.RecordBatchLatency(batch_size, static_cast<double>(latency_us));
  }

  // Feeds the latency curve only (e.g. measurements from a warm-up run).
  void RecordBatchLatency(int batch_size, int64_t latency_us) {
    std::lock_guard<std::mutex> lock(mu_);
    planner_.RecordBatchLatency(batch_size, static_cast<double>(latency_us));
  }

  BatcherStats GetStats() const {
    std::lock_guard<std::mutex> lock(mu_);
    BatcherStats s;
    s.queue_length = total_queued_;
    s.queue_length_high = static_cast<int64_t>(queues_[0].size());
    s.in_flight_batches = in_flight_batches_;
    s.in_flight_requests = in_flight_requests_;
    s.enqueued_total = enqueued_total_;
    s.rejected_total = rejected_total_;
    s.expired_total = expired_total_;
    s.batches_total = static_cast<int64_t>(next_batch_id_ - 1);
    s.batch_count_by_size = batch_count_by_size_;
    s.finished_count_by_size = finished_count_by_size_;
    s.finished_latency_us_by_size = finished_latency_us_by_size_;
    s.arrival_rate_per_s = planner_.ArrivalRatePerUs(clock_->NowNs()) * 1e6;
    return s;
  }

  int QueueLength() const {
    std::lock_guard<std::mutex> lock(mu_);
    return total_queued_;
  }

  // Estimated execution latency of a batch of `batch_size` on the live curve
  // (0 while nothing is known).
  double EstimatedBatchLatencyUs(int batch_size) const {
    std::lock_guard<std::mutex> lock(mu_);
    return planner_.curve().LatencyUs(batch_size);
  }

  const BatcherConfig& config() const { return config_; }

 private:
  struct Entry {
    T item{};
    BatchItemInfo info;
  };
  struct Expired {
    T item;
    BatchItemInfo info;
  };

  DynamicBatcher(const BatcherConfig& config, Clock* clock, ExpiredCallback on_expired)
      : config_(config),
        clock_(clock),
        on_expired_(std::move(on_expired)),
        planner_(config),
        // Each level can hold the whole queue: a burst may be all one priority.
        queues_{RingQueue<Entry>(config.max_queue_size), RingQueue<Entry>(config.max_queue_size)},
        batch_count_by_size_(config.max_batch_size + 1, 0),
        finished_count_by_size_(config.max_batch_size + 1, 0),
        finished_latency_us_by_size_(config.max_batch_size + 1, 0) {}

  Status EnqueueLocked(T&& item, Priority priority, int64_t deadline_ns, int64_t now,
                       std::vector<Expired>* expired) {
    if (shutdown_) {
      ++rejected_total_;
      return UnavailableError("batcher is shutting down");
    }
    if (deadline_ns <= 0 && config_.default_timeout_us > 0) {
      deadline_ns = now + config_.default_timeout_us * 1000;
    }
    if (deadline_ns > 0 && deadline_ns <= now) {
      ++rejected_total_;
      return DeadlineExceededError("request deadline passed before it was queued");
    }
    // Late requests must not hold places that a live request could take.
    if (!planner_.Admits(total_queued_)) SweepLocked(now, expired);
    if (!planner_.Admits(total_queued_)) {
      ++rejected_total_;
      return ResourceExhaustedError("batch queue full (" + std::to_string(config_.max_queue_size) +
                                    " requests)");
    }
    Entry entry;
    entry.item = std::move(item);
    entry.info.enqueue_ns = now;
    entry.info.deadline_ns = deadline_ns > 0 ? deadline_ns : 0;
    entry.info.queue_len = total_queued_;
    entry.info.priority = priority;
    queues_[static_cast<int>(priority)].PushBack(std::move(entry));
    ++total_queued_;
    ++enqueued_total_;
    if (deadline_ns > 0) earliest_deadline_ns_ = std::min(earliest_deadline_ns_, deadline_ns);
    planner_.RecordArrival(now);
    // Only a waiting consumer needs the syscall; the others will poll anyway.
    if (waiting_consumers_ > 0) cv_.notify_one();
    return Status::Ok();
  }

  // Moves every request with deadline <= now into `expired`. Returns how many.
  int SweepLocked(int64_t now, std::vector<Expired>* expired) {
    // earliest_deadline_ns_ is a lower bound (dispatch does not raise it), so
    // a miss here is exact and a hit costs one scan that makes it exact again.
    if (now < earliest_deadline_ns_) return 0;
    int removed = 0;
    int64_t earliest = kNoDeadline;
    for (auto& queue : queues_) {
      removed += static_cast<int>(queue.RemoveIf(
          [&](const Entry& e) {
            if (e.info.deadline_ns > 0 && e.info.deadline_ns <= now) return true;
            if (e.info.deadline_ns > 0) earliest = std::min(earliest, e.info.deadline_ns);
            return false;
          },
          [&](Entry&& e) {
            e.info.queue_wait_ns = now - e.info.enqueue_ns;
            expired->push_back(Expired{std::move(e.item), e.info});
          }));
    }
    earliest_deadline_ns_ = earliest;
    total_queued_ -= removed;
    expired_total_ += removed;
    return removed;
  }

  QueueSnapshot SnapshotLocked() const {
    QueueSnapshot s;
    s.queued = total_queued_;
    s.draining = shutdown_;
    int64_t oldest = std::numeric_limits<int64_t>::max();
    for (const auto& queue : queues_) {
      if (!queue.empty()) oldest = std::min(oldest, queue.Front().info.enqueue_ns);
    }
    s.oldest_enqueue_ns = total_queued_ > 0 ? oldest : 0;
    return s;
  }

  void FormBatchLocked(const BatchDecision& d, int64_t now, Batch<T>* out) {
    out->Clear();
    out->batch_id = next_batch_id_++;
    out->dispatch_ns = now;
    out->reason = d.reason;
    int remaining = std::min(d.batch_size, total_queued_);
    // Reserve once per consumer so later batches reuse the capacity.
    out->items.reserve(config_.max_batch_size);
    out->infos.reserve(config_.max_batch_size);
    for (auto& queue : queues_) {  // kHigh first.
      while (remaining > 0 && !queue.empty()) {
        Entry e = queue.PopFront();
        e.info.queue_wait_ns = now - e.info.enqueue_ns;
        out->items.push_back(std::move(e.item));
        out->infos.push_back(e.info);
        --remaining;
      }
    }
    const int size = out->size();
    total_queued_ -= size;
    ++batch_count_by_size_[size];
    ++in_flight_batches_;
    in_flight_requests_ += size;
  }

  void DeliverExpired(std::vector<Expired>* expired) {
    if (expired->empty()) return;
    const Status status = DeadlineExceededError("request timed out in the batch queue");
    for (Expired& e : *expired) {
      if (on_expired_) on_expired_(std::move(e.item), e.info, status);
    }
    expired->clear();
  }

  static constexpr int64_t kNoDeadline = std::numeric_limits<int64_t>::max();

  const BatcherConfig config_;
  Clock* const clock_;
  const ExpiredCallback on_expired_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // signalled on arrival, on shutdown, and when work remains.
  BatchPlanner planner_;        // Guarded by mu_.
  RingQueue<Entry> queues_[kNumPriorities];           // Guarded by mu_. Index = Priority.
  int total_queued_ = 0;                              // Guarded by mu_.
  int64_t earliest_deadline_ns_ = kNoDeadline;        // Guarded by mu_. Lower bound.
  bool shutdown_ = false;                             // Guarded by mu_.
  int waiting_consumers_ = 0;                         // Guarded by mu_.
  uint64_t next_batch_id_ = 1;                        // Guarded by mu_.
  int64_t in_flight_batches_ = 0;                     // Guarded by mu_.
  int64_t in_flight_requests_ = 0;                    // Guarded by mu_.
  int64_t enqueued_total_ = 0;                        // Guarded by mu_.
  int64_t rejected_total_ = 0;                        // Guarded by mu_.
  int64_t expired_total_ = 0;                         // Guarded by mu_.
  std::vector<int64_t> batch_count_by_size_;          // Guarded by mu_.
  std::vector<int64_t> finished_count_by_size_;       // Guarded by mu_.
  std::vector<int64_t> finished_latency_us_by_size_;  // Guarded by mu_.
};

}  // namespace yoloscope
