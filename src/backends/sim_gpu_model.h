// SimGpuModel: a documented, deterministic MODEL of one GPU running a YOLO
// model, for tests and demos on machines without a GPU. It is a simulator:
// its numbers are never a measurement of hardware (docs/simulated-gpu.md).
//
// What it models (all documented in docs/simulated-gpu.md):
// - Latency of a batch of b images: base_ms + per_image_ms * b^alpha, or a
//   measured latency curve (batch size -> ms, linear interpolation), times
//   the active throttle/contention factors, times a seeded jitter; H2D/D2H
//   copies from their bytes and a PCIe bandwidth.
// - Device memory: capacity, CUDA context, weights, other processes, and a
//   caching allocator with PyTorch's block policy (SimCachingAllocator) that
//   serves each batch's tensors. Cached blocks of other sizes stay reserved
//   and splitting leaves inactive split bytes, so fragmentation grows with
//   batch-size variety; empty_cache releases whole free segments.
// - OOM recovery identical to the CUDA path of TorchBackend: the allocator
//   frees its cache and retries once by itself (num_alloc_retries); when the
//   batch still fails: empty_cache + retry the same batch; when that fails,
//   split the batch in halves and run each half the same way; a batch of 1
//   that cannot run -> ResourceExhausted (the server answers 507).
// - Scripted events on a timeline (seconds since this object was created, on
//   its Clock): a co-tenant taking memory, throttling, a leak, contention.
// - Busy time, PCIe bytes, clocks, power and temperature for telemetry.
//
// Time: every duration is simulated on the injected Clock; callers wait for
// it with WaitUntil() (a FakeClock just advances, so tests run fast).
//
// Thread-safety: all public methods are thread-safe (one mutex). Several
// SimBackend instances may share one SimGpuModel (one device): their
// batches queue on the device (one batch executes at a time) and share one
// caching allocator, like several model instances in one process.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backends/backend.h"
#include "common/clock.h"
#include "common/status.h"
#include "telemetry/device_sample.h"

namespace yoloscope {

// ---------------------------------------------------------------- config --

// Illustrative H100-80GB-like numbers for YOLOv8n at 640 (not measured).
struct SimDeviceConfig {
  std::string name = "simulated GPU (H100-like, illustrative)";  // YAML device.name
  double memory_mb = 81559;          // device.memory_mb: capacity (MiB).
  double context_mb = 500;           // device.context_mb: CUDA context + library handles.
  double sm_clock_mhz = 1980;        // device.sm_clock_mhz: unthrottled SM clock.
  double pcie_gbps = 25;             // device.pcie_gbps: host<->device GB/s (1e9 B/s), > 0.
  double copy_latency_us = 10;       // device.copy_latency_us: fixed cost per copy.
  double idle_power_w = 70;          // device.idle_power_w
  double max_power_w = 700;          // device.max_power_w: at 100% util, full clock.
  double idle_temp_c = 35;           // device.idle_temp_c
  double max_temp_c = 78;            // device.max_temp_c: steady state at max power.
  double temp_time_constant_s = 20;  // device.temp_time_constant_s (first-order lag).
};

struct SimLatencyConfig {
  // Formula: base_ms + per_image_ms * b^alpha (used when no curve is given).
  double base_ms = 1.46;        // latency.base_ms
  double per_image_ms = 0.142;  // latency.per_image_ms
  double alpha = 1.0;           // latency.alpha, > 0
  // Measured curve: (batch size, ms) points; when non-empty it replaces the
  // formula. Linear interpolation between points; below the smallest batch
  // size proportional to b; above the largest, the last segment's slope
  // (per-image cost of the largest point when there is one point).
  std::vector<std::pair<int, double>> curve;  // latency.curve {b: ms}
  std::string curve_file;   // latency.curve_file (CSV/JSON; relative to the YAML file)
  double jitter_pct = 2.0;  // latency.jitter_pct: stddev of a normal factor, percent.
  uint64_t seed = 1;        // latency.seed: jitter random seed.
};

struct SimMemoryConfig {
  double weights_mb = 13;               // memory.weights_mb: outside the allocator.
  double activation_mb_per_image = 60;  // memory.activation_mb_per_image: forward peak.
  double memory_fraction = 1.0;         // memory.memory_fraction: cap on weights + reserved.
  double other_processes_mb = 0;        // memory.other_processes_mb: baseline co-tenants.
  double cache_flush_ms = 2.0;          // memory.cache_flush_ms: cost of one empty_cache.
};

enum class SimEventType { kCotenant, kThrottle, kLeak, kContention };

// Parses "cotenant" | "throttle" | "leak" | "contention".
StatusOr<SimEventType> ParseSimEventType(const std::string& name);
const char* SimEventTypeName(SimEventType type);

// One scripted episode, active for start_s <= t < end_s (seconds since the
// SimGpuModel was created).
struct SimEvent {
  SimEventType type = SimEventType::kCotenant;
  double start_s = 0;
  double end_s = std::numeric_limits<double>::infinity();  // default: never ends.
  // cotenant: memory the other process wants (it takes what is free, and more
  // as we free ours, up to this; gives it all back at end_s).
  double mb = 0;
  double ramp_s = 0;  // cotenant: its demand grows linearly over ramp_s.
  // cotenant: a scenario shortcut, not a physical effect: when the episode
  // starts, our cached free segments are released (as if we had just called
  // empty_cache), so the co-tenant can take memory our cache held. Without
  // it a co-tenant only gets memory that is free, and a warmed-up cache
  // keeps serving our batches.
  bool evict_cache = false;
  // leak: MB allocated per batch through our allocator and never freed.
  double mb_per_batch = 0;
  // throttle: SM clock multiplier in (0, 1]; latency is divided by it unless
  // latency_factor is given.
  double clock_factor = 1.0;
  // throttle/contention: latency multiplier (>= 1); 0 = default
  // (throttle: 1 / clock_factor; contention: 1.5).
  double latency_factor = 0;
  double util_pct = 100;                       // contention: utilisation the other kernels cause.
  std::string reason = "sw_thermal_slowdown";  // throttle: NVML-style reason name.
};

struct SimOutputConfig {
  int detections_per_image = 3;  // output.detections_per_image: 0..20 fake boxes.
};

struct SimGpuConfig {
  std::string model_name = "yolov8n-sim";  // model.name
  int input_w = 640, input_h = 640;        // model.input_size: 640 or [h, w]
  SimDeviceConfig device;
  SimLatencyConfig latency;
  SimMemoryConfig memory;
  SimOutputConfig output;
  std::vector<SimEvent> events;

  // InvalidArgument naming the first bad field.
  Status Validate() const;
};

// Reads a sim model file (YAML, see configs/sim/*.yaml and
// docs/simulated-gpu.md). Unknown keys are an error (typos must not pass
// silently). A latency.curve_file is loaded here (relative to the YAML).
// NotFound when the file is missing, InvalidArgument for bad content.
StatusOr<SimGpuConfig> LoadSimGpuConfig(const std::string& path);
// Same from YAML text; relative curve files resolve against `base_dir`.
StatusOr<SimGpuConfig> ParseSimGpuConfig(const std::string& yaml_text,
                                         const std::string& base_dir = ".");
// Reads a latency curve: CSV with a header naming a batch column
// (batch_size | batch) and a latency column (latency_ms | inference_ms |
// p50_ms | median_ms | mean_ms), or JSON: {"1": 1.6, "8": 2.6}, a list of
// {"batch_size": 1, "latency_ms": 1.6} objects, or such a list under
// "curve" | "results" | "batches". Points sorted by batch size.
StatusOr<std::vector<std::pair<int, double>>> LoadLatencyCurve(const std::string& path);

// ------------------------------------------------------------- allocator --

// A model of PyTorch's CUDA caching allocator (c10 CUDACachingAllocator),
// at block granularity, with its default policy:
// - sizes round up to 512 B; <= 1 MiB requests use the small pool (2 MiB
//   segments), larger ones the large pool (20 MiB segments below 10 MiB,
//   else the size rounded up to 2 MiB);
// - best fit among cached free blocks of the pool (smallest size, then
//   lowest address); a block is split when the rest is >= 512 B (small) or
//   > 1 MiB (large); freed blocks merge with free neighbours of the same
//   segment;
// - a new segment ("cudaMalloc") that does not fit first releases every
//   cached whole free segment and retries (num_alloc_retries + 1); failing
//   again is an OOM (num_ooms + 1, ResourceExhausted).
// Stats follow torch.cuda.memory_stats(): allocated = bytes of live blocks,
// reserved = bytes of segments, inactive_split = free blocks inside split
// segments (the fragmentation measure).
// Not synchronized (SimGpuModel guards it).
class SimCachingAllocator {
 public:
  struct Stats {
    int64_t allocated_bytes = 0;
    int64_t reserved_bytes = 0;
    int64_t inactive_split_bytes = 0;
    int64_t segments = 0;
    int64_t num_alloc_retries = 0;
    int64_t num_ooms = 0;
  };

  // Allocates `bytes` (> 0). `max_reserved_bytes` is how large reserved may
  // grow (what the device and the memory fraction allow now). Returns the
  // block's address (a handle for Free).
  StatusOr<int64_t> Malloc(int64_t bytes, int64_t max_reserved_bytes);
  // Frees a block returned by Malloc (to the cache, not to the device).
  void Free(int64_t address);
  // torch.cuda.empty_cache(): releases every whole free segment. Returns the
  // bytes released.
  int64_t EmptyCache();

  Stats stats() const;
  int64_t reserved_bytes() const { return reserved_bytes_; }

 private:
  struct Block {
    int64_t size = 0;
    int64_t segment = 0;  // base address of its segment.
    bool allocated = false;
    bool small = false;
  };
  using FreeSet = std::set<std::pair<int64_t, int64_t>>;  // (size, address)

  FreeSet& PoolOf(bool small) { return small ? free_small_ : free_large_; }

  std::map<int64_t, Block> blocks_;      // by address.
  std::map<int64_t, int64_t> segments_;  // base address -> size.
  FreeSet free_small_, free_large_;
  int64_t next_address_ = 1 << 20;
  int64_t allocated_bytes_ = 0;
  int64_t reserved_bytes_ = 0;
  int64_t num_alloc_retries_ = 0;
  int64_t num_ooms_ = 0;
};

// ------------------------------------------------------------------ model --

// The outcome of SimGpuModel::PlanBatch: when the device will be done and
// what to report. The caller waits with WaitUntil(end_ns).
struct SimBatchPlan {
  Status status;       // OK, or ResourceExhausted (even batch 1 did not fit).
  BatchTiming timing;  // h2d/inference/d2h ms, oom, alloc_retries, memory.
  int64_t end_ns = 0;  // Clock time when the simulated device finishes.
};

class SimGpuModel {
 public:
  // One step of the simulated forward pass: allocate tensor `slot` of
  // `fraction` x activation_mb_per_image x b, or free it.
  struct ForwardOp {
    bool alloc = true;
    int slot = 0;
    double fraction = 0;
  };

  // `clock` is not owned and must outlive the model; nullptr = an owned
  // RealClock. InvalidArgument when the config does not validate.
  static StatusOr<std::unique_ptr<SimGpuModel>> Create(const SimGpuConfig& config,
                                                       Clock* clock = nullptr);

  // Simulates one batch of `batch` images (`input_bytes_per_image` in,
  // `output_bytes_per_image` out each): memory (allocations, OOM
  // recovery), device queueing and durations. `size_scale` is the input's
  // pixel count relative to config().input_w x input_h (it scales
  // activation memory and compute). Returns at once; the caller waits with
  // WaitUntil(plan.end_ns).
  SimBatchPlan PlanBatch(int batch, int64_t input_bytes_per_image, int64_t output_bytes_per_image,
                         double size_scale = 1.0);
  // Sleeps on the clock until `end_ns` (a FakeClock advances to it).
  void WaitUntil(int64_t end_ns);

  // One telemetry reading; utilisation and PCIe rates over (since_ns, now].
  DeviceSample Sample(int64_t since_ns);

  // torch.cuda.empty_cache() now. Returns MB released.
  double EmptyCache();
  // Memory facts now (the same fields as BatchTiming::memory).
  DeviceMemoryStats MemoryStats();
  // Seconds since creation on the clock (the event timeline's time).
  double ElapsedSeconds() const;
  // Memory held by other processes now (baseline + co-tenants), MB.
  double OtherProcessesMb();
  // The latency of a batch of b images by the latency model alone (no
  // events, no jitter), ms.
  double BaseLatencyMs(int batch, double size_scale = 1.0) const;

  const SimGpuConfig& config() const { return config_; }
  Clock* clock() const { return clock_; }

 private:
  SimGpuModel(const SimGpuConfig& config, Clock* clock, std::unique_ptr<Clock> owned_clock);

  // Effects of the events active at `t` seconds.
  struct Effects {
    double latency_factor = 1.0;
    double clock_factor = 1.0;
    double contention_util_pct = 0;  // 0 = no contention.
    double leak_mb_per_batch = 0;
    std::string throttle_reasons;
  };
  Effects EffectsAt(double t) const;
  double SecondsAt(int64_t ns) const { return static_cast<double>(ns - start_ns_) / 1e9; }

  // All below: mu_ held.
  // Lets co-tenants take (or give back) memory at time `now_ns`.
  void UpdateCotenantsLocked(int64_t now_ns);
  double OtherProcessesMbLocked() const;
  // How large reserved may grow now, bytes.
  int64_t MaxReservedBytesLocked() const;
  DeviceMemoryStats MemoryStatsLocked() const;
  // One forward pass of b images; on OOM frees what it allocated and sets
  // *progress to the fraction of the forward done. On success snapshots the
  // memory stats into *memory (output tensor still allocated).
  Status TryForwardLocked(int b, int64_t in_bytes, int64_t out_bytes, double act_mb, double leak_mb,
                          double* progress, DeviceMemoryStats* memory);
  // empty_cache + retry, then halves (see the header comment).
  Status RunRecoveringLocked(int b, int64_t in_bytes, int64_t out_bytes, double act_mb,
                             double size_scale, const Effects& fx, int64_t now_ns,
                             SimBatchPlan* plan);
  double ComputeMsLocked(int b, double size_scale, const Effects& fx);
  double CopyMs(int64_t bytes) const;

  const SimGpuConfig config_;
  std::unique_ptr<Clock> owned_clock_;  // set when created without a clock.
  Clock* const clock_;
  const int64_t start_ns_;

  mutable std::mutex mu_;
  // Guarded by mu_:
  SimCachingAllocator allocator_;
  std::vector<double> cotenant_held_mb_;  // per event (0 for other types).
  std::vector<bool> cotenant_evicted_;    // per event: evict_cache done.
  std::mt19937_64 rng_;
  int64_t device_free_at_ns_ = 0;
  struct Interval {
    int64_t begin_ns, end_ns;
  };
  std::deque<Interval> busy_;  // our kernels, for utilisation.
  struct Copy {
    int64_t at_ns;
    int64_t h2d_bytes, d2h_bytes;
  };
  std::deque<Copy> copies_;  // for PCIe rates.
  double temp_c_ = 0;
  int64_t temp_at_ns_ = 0;
  std::vector<int64_t> live_scratch_;  // TryForwardLocked's live blocks.

  // The forward pass's tensor program (constant after construction).
  int program_slots_ = 0;
  const std::vector<ForwardOp> program_;
};

}  // namespace yoloscope
