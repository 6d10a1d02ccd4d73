#include "whatif/pipeline_simulator.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <fmt/format.h>
#include <queue>
#include <random>

#include "whatif/quantile.h"

namespace yoloscope {
namespace {

enum class EventType { kPreDone, kDeviceDone, kInstanceFree, kPostDone, kTimer, kWake };

struct Event {
  int64_t time_ns;
  uint64_t seq;  // FIFO among events at the same time
  EventType type;
  int64_t arg;   // request index, instance, or timer generation
  bool operator>(const Event& o) const {
    return time_ns != o.time_ns ? time_ns > o.time_ns : seq > o.seq;
  }
};

struct Queued {
  int64_t request;
  int64_t enqueue_ns;
};

// A FIFO pool of identical workers.
struct WorkerPool {
  int workers = 1;
  int busy = 0;
  std::deque<int64_t> waiting;
};

class Simulation {
 public:
  Simulation(const std::vector<SimulatedRequest>& requests, const BatchLatencyFit& curve,
             const SimulationConfig& config)
      : requests_(requests),
        curve_(curve),
        config_(config),
        planner_(config.batcher),
        rng_(config.seed),
        wake_rng_(config.seed ^ 0x5bd1e9955bd1e995ULL),
        running_(config.instances),
        running_service_ns_(config.instances, 0),
        device_free_ns_(config.devices, 0) {
    pre_.workers = config.preprocess_workers;
    post_.workers = config.postprocess_workers;
    for (int i = 0; i < config.instances; ++i) idle_.push_back(i);
  }

  Status Run(SimulationResult* r) {
    size_t next_arrival = 0;
    while (next_arrival < requests_.size() || !events_.empty()) {
      if (!events_.empty() && (next_arrival >= requests_.size() ||
                               events_.top().time_ns <= requests_[next_arrival].arrival_ns)) {
        const Event e = events_.top();
        events_.pop();
        now_ = e.time_ns;
        YS_RETURN_IF_ERROR(Handle(e));
      } else {
        now_ = requests_[next_arrival].arrival_ns;
        Arrive(static_cast<int64_t>(next_arrival++));
      }
      YS_RETURN_IF_ERROR(failure_);
    }
    Summarize(r);
    return Status::Ok();
  }

 private:
  void Push(int64_t time_ns, EventType type, int64_t arg) {
    events_.push(Event{time_ns, seq_++, type, arg});
  }

  // Whether request i counts in the results (it arrived in the window).
  bool Measured(int64_t i) const { return requests_[i].arrival_ns >= config_.measure_from_ns; }

  void Arrive(int64_t i) {
    const int waiting = static_cast<int>(pre_.waiting.size() + batch_queue_.size());
    if (Measured(i)) {
      ++offered_;
      queue_len_sum_ += waiting;
    }
    // InferenceService::Admit: preprocess waiting + batcher queue share the bound.
    if (!planner_.Admits(waiting)) {
      if (Measured(i)) ++rejected_;
      return;
    }
    StartOrWait(&pre_, i, EventType::kPreDone, requests_[i].preprocess_ns);
  }

  void StartOrWait(WorkerPool* pool, int64_t i, EventType done, int64_t service_ns) {
    if (pool->busy < pool->workers) {
      ++pool->busy;
      Push(now_ + service_ns, done, i);
    } else {
      pool->waiting.push_back(i);
    }
  }

  // A worker of `pool` finished: it takes the next waiting request.
  void Release(WorkerPool* pool, EventType done, bool pre) {
    --pool->busy;
    if (!pool->waiting.empty()) {
      const int64_t j = pool->waiting.front();
      pool->waiting.pop_front();
      ++pool->busy;
      Push(now_ + (pre ? requests_[j].preprocess_ns : requests_[j].postprocess_ns), done, j);
    }
  }

  Status Handle(const Event& e) {
    switch (e.type) {
      case EventType::kPreDone: {
        Release(&pre_, EventType::kPreDone, true);
        // DynamicBatcher::Enqueue: refused when the queue is full.
        if (!planner_.Admits(static_cast<int>(batch_queue_.size()))) {
          if (Measured(e.arg)) ++rejected_;
          return Status::Ok();
        }
        batch_queue_.push_back(Queued{e.arg, now_});
        planner_.RecordArrival(now_);
        return WakeThenDispatch();
      }
      case EventType::kTimer:
        if (e.arg != timer_generation_) return Status::Ok();  // superseded
        timer_at_ = -1;
        return WakeThenDispatch();
      case EventType::kWake:
        wake_pending_ = false;
        return Dispatch();
      case EventType::kDeviceDone: {
        const int instance = static_cast<int>(e.arg);
        std::vector<int64_t>& batch = running_[instance];
        planner_.RecordBatchLatency(static_cast<int>(batch.size()),
                                    static_cast<double>(running_service_ns_[instance]) / 1000.0);
        for (int64_t j : batch) {
          StartOrWait(&post_, j, EventType::kPostDone, requests_[j].postprocess_ns);
        }
        batch.clear();
        if (!curve_.has_overhead() && config_.turnaround_ns > 0) {
          Push(now_ +
                   std::llround(static_cast<double>(config_.turnaround_ns) * config_.service_scale),
               EventType::kInstanceFree, instance);
          return Status::Ok();
        }
        idle_.push_back(instance);
        return Dispatch();
      }
      case EventType::kInstanceFree:
        idle_.push_back(static_cast<int>(e.arg));
        return Dispatch();
      case EventType::kPostDone: {
        Release(&post_, EventType::kPostDone, false);
        if (!Measured(e.arg)) return Status::Ok();
        const SimulatedRequest& q = requests_[e.arg];
        const int64_t done = now_ + q.other_ns;
        latencies_ms_.push_back(static_cast<double>(done - q.arrival_ns) / 1e6);
        last_completion_ns_ = std::max(last_completion_ns_, done);
        return Status::Ok();
      }
    }
    return Status::Ok();
  }

  // What wakes a waiting instance (an enqueue, its window's end): with
  // wake-up latencies it decides a drawn latency later (one pending wake-up
  // at a time: what arrives meanwhile is seen then), else at once.
  Status WakeThenDispatch() {
    if (config_.wake_ns.empty() || idle_.empty()) return Dispatch();
    if (wake_pending_) return Status::Ok();
    wake_pending_ = true;
    std::uniform_int_distribution<size_t> pick(0, config_.wake_ns.size() - 1);
    Push(now_ + config_.wake_ns[pick(wake_rng_)], EventType::kWake, 0);
    return Status::Ok();
  }

  // Idle instances ask the planner, as DynamicBatcher::NextBatch does.
  Status Dispatch() {
    while (!idle_.empty()) {
      QueueSnapshot snap;
      snap.queued = static_cast<int>(batch_queue_.size());
      snap.oldest_enqueue_ns = batch_queue_.empty() ? 0 : batch_queue_.front().enqueue_ns;
      const BatchDecision d = planner_.Decide(snap, now_);
      if (d.action == BatchAction::kIdle) return Status::Ok();
      if (d.action == BatchAction::kWait) {
        if (timer_at_ != d.wake_at_ns) {
          timer_at_ = d.wake_at_ns;
          Push(d.wake_at_ns, EventType::kTimer, ++timer_generation_);
        }
        return Status::Ok();
      }
      const int size = std::min(d.batch_size, snap.queued);
      if (!curve_.CanEstimate(size)) {
        failure_ = FailedPreconditionError(fmt::format(
            "cannot predict: needs batch times for at least two batch sizes to estimate a batch "
            "of {} (the log has batches of size {} only)",
            size, curve_.smallest_observed()));
        return failure_;
      }
      const int instance = idle_.front();
      idle_.pop_front();
      const double scale_ns = 1000.0 * config_.service_scale;
      const int64_t service_ns =
          std::max<int64_t>(1, std::llround(curve_.SampleUs(size, rng_) * scale_ns));
      const int64_t overhead_ns =
          curve_.has_overhead() ? std::llround(curve_.SampleOverheadUs(size, rng_) * scale_ns) : 0;
      // The device runs one batch at a time: this one starts when it is free.
      int64_t& device_free = device_free_ns_[static_cast<size_t>(instance % config_.devices)];
      const int64_t device_start = std::max(now_, device_free);
      device_free = device_start + service_ns;
      // What the server's adaptive policy learns: the backend's Run time.
      running_service_ns_[instance] = device_free - now_;
      for (int k = 0; k < size; ++k) {
        running_[instance].push_back(batch_queue_.front().request);
        batch_queue_.pop_front();
      }
      if (now_ >= config_.measure_from_ns) {
        busy_ns_ += service_ns;
        ++batches_;
        batched_requests_ += size;
      }
      smallest_ = smallest_ == 0 ? size : std::min(smallest_, size);
      largest_ = std::max(largest_, size);
      if (config_.record_batches) {
        batch_trace_.push_back(
            SimulatedBatch{now_, size, d.reason, instance, service_ns, device_start, overhead_ns});
      }
      Push(device_free + overhead_ns, EventType::kDeviceDone, instance);
    }
    return Status::Ok();
  }

  void Summarize(SimulationResult* r) {
    r->offered = offered_;
    r->rejected = rejected_;
    r->served = static_cast<int64_t>(latencies_ms_.size());
    std::sort(latencies_ms_.begin(), latencies_ms_.end());
    r->p50_ms = QuantileOfSorted(latencies_ms_, 0.5);
    r->p90_ms = QuantileOfSorted(latencies_ms_, 0.9);
    r->p99_ms = QuantileOfSorted(latencies_ms_, 0.99);
    r->distribution_ms = DistributionOfSorted(latencies_ms_);
    double sum = 0;
    for (double v : latencies_ms_) sum += v;
    r->mean_ms = latencies_ms_.empty() ? 0 : sum / static_cast<double>(latencies_ms_.size());
    auto first_measured = std::lower_bound(
        requests_.begin(), requests_.end(), config_.measure_from_ns,
        [](const SimulatedRequest& q, int64_t t) { return q.arrival_ns < t; });
    if (first_measured != requests_.end()) {
      const int64_t first = first_measured->arrival_ns;
      const int64_t last = std::max(last_completion_ns_, requests_.back().arrival_ns);
      r->span_s = static_cast<double>(last - first) / 1e9;
    }
    r->throughput_per_s = r->span_s > 0 ? static_cast<double>(r->served) / r->span_s : 0;
    r->rejection_rate = offered_ > 0 ? static_cast<double>(rejected_) / offered_ : 0;
    r->device_busy_fraction =
        r->span_s > 0 ? static_cast<double>(busy_ns_) / 1e9 / (r->span_s * config_.devices) : 0;
    r->mean_batch_size = batches_ > 0 ? static_cast<double>(batched_requests_) / batches_ : 0;
    r->mean_queue_length = offered_ > 0 ? static_cast<double>(queue_len_sum_) / offered_ : 0;
    r->batches = batches_;
    r->smallest_batch = smallest_;
    r->largest_batch = largest_;
    r->batch_trace = std::move(batch_trace_);
  }

  const std::vector<SimulatedRequest>& requests_;
  const BatchLatencyFit& curve_;
  const SimulationConfig& config_;
  BatchPlanner planner_;
  std::mt19937_64 rng_;
  std::mt19937_64 wake_rng_;  // wake-up draws, apart from the device-time draws
  bool wake_pending_ = false;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  uint64_t seq_ = 0;
  int64_t now_ = 0;
  Status failure_;

  WorkerPool pre_, post_;
  std::deque<Queued> batch_queue_;
  std::deque<int> idle_;  // idle instances, longest idle first
  std::vector<std::vector<int64_t>> running_;  // per instance: its batch's requests
  std::vector<int64_t> running_service_ns_;
  std::vector<int64_t> device_free_ns_;  // per device: when its current batch ends
  int64_t timer_at_ = -1;
  int64_t timer_generation_ = 0;

  int64_t offered_ = 0, rejected_ = 0, batches_ = 0, batched_requests_ = 0, busy_ns_ = 0;
  int64_t queue_len_sum_ = 0, last_completion_ns_ = 0;
  int smallest_ = 0, largest_ = 0;
  std::vector<double> latencies_ms_;
  std::vector<SimulatedBatch> batch_trace_;
};

}  // namespace

StatusOr<SimulationResult> PipelineSimulator::Run(const std::vector<SimulatedRequest>& requests,
                                                  const BatchLatencyFit& curve,
                                                  const SimulationConfig& config) {
  YS_RETURN_IF_ERROR(ValidateBatcherConfig(config.batcher));
  if (config.instances < 1 || config.preprocess_workers < 1 || config.postprocess_workers < 1) {
    return InvalidArgumentError("instances and worker counts must be >= 1");
  }
  if (config.devices < 1 || config.devices > config.instances) {
    return InvalidArgumentError("devices must be in [1, instances]");
  }
  if (config.turnaround_ns < 0) return InvalidArgumentError("turnaround_ns must be >= 0");
  if (!(config.service_scale > 0)) return InvalidArgumentError("service_scale must be > 0");
  for (int64_t w : config.wake_ns) {
    if (w < 0) return InvalidArgumentError("wake_ns must be >= 0");
  }
  for (size_t i = 1; i < requests.size(); ++i) {
    if (requests[i].arrival_ns < requests[i - 1].arrival_ns) {
      return InvalidArgumentError("arrivals must be in ascending order");
    }
  }
  Simulation sim(requests, curve, config);
  SimulationResult r;
  YS_RETURN_IF_ERROR(sim.Run(&r));
  return r;
}

}  // namespace yoloscope
