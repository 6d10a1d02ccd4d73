// TimeBucketStore: the fine time buckets of a LogAggregator -- what happened
// in each short interval (counts, latencies, queue, batches, device state,
// equal-work inference sums) -- later re-binned by the Analyzer into the
// windows of the time series.
//
// Memory stays bounded: buckets live in a sparse map keyed by
// floor(ts / resolution) and, when more than `max_buckets` are in use (or
// more than `max_cells` equal-work cells over all buckets), the
// resolution steps up a ladder in which every step divides the next
// (1 ms, 2 ms, 10 ms, 20 ms, 100 ms, 200 ms, 1 s, 2 s, 10 s, 20 s, 1 min,
// 2 min, 10 min, 20 min, 1 h, 2 h, 6 h, 1 d, then doubling) and neighbouring
// buckets are merged. The final resolution is the finest rung at which the
// log's distinct buckets and cells fit, whatever the order of records, so
// merging per-thread stores gives the same buckets as one pass.
//
// Thread-safety: none; one store per thread, merged afterwards.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "analyzer/aggregate/example_set.h"
#include "analyzer/aggregate/latency_histogram.h"
#include "analyzer/aggregate/running_stat.h"
#include "analyzer/aggregate/work_key.h"

namespace yoloscope {

// Device state samples of one GPU (or the CPU, gpu_id -1; unknown -2) within
// one bucket, from any record kind that carries them.
struct DeviceWindow {
  int64_t gpu_id = -2;
  RunningStat mem_used, mem_total, mem_ratio, mem_reserved, mem_allocated, mem_inactive_split,
      mem_other, gpu_util, sm_clock, temp, power;
  int64_t throttle_samples = 0;  // gpu samples.
  int64_t throttled = 0;         // ... with an active slowdown reason.

  void Merge(const DeviceWindow& o);
};

// Equal-work inference (and total) sums of one WorkKey within one bucket.
struct WorkCell {
  WorkKey key;
  uint64_t hash = 0;  // WorkKeyHash()(key): compared first when looking up.

  int64_t inference_n = 0;
  double inference_sum = 0.0;
  int64_t total_n = 0;
  double total_sum = 0.0;

  void Merge(const WorkCell& o) {
    inference_n += o.inference_n;
    inference_sum += o.inference_sum;
    total_n += o.total_n;
    total_sum += o.total_sum;
  }
};

struct TimeBucket {
  int64_t records = 0;
  int64_t requests = 0;
  int64_t batches = 0;      // batch records.
  int64_t gpu_samples = 0;  // gpu records.
  int64_t errors = 0;
  int64_t rejections = 0;
  int64_t ooms = 0;
  int64_t alloc_retries = 0;      // increases of the sources' alloc_retries (see LogAggregator).
  int64_t alloc_retries_raw = 0;  // sum of the request records' alloc_retries values.
  int64_t batch_alloc_retries_raw = 0;  // ... of the batch records'.
  RunningStat request_ts;               // arrival times (exact min/max for the summary).
  RunningStat total_ms, inference_ms, queue_ms, pre_ms, xfer_ms, post_ms, queue_len, batch_size,
      batch_record_size;
  LatencyHistogram total_hist{LatencyHistogram::kCoarseBits};
  LatencyHistogram inference_hist{LatencyHistogram::kCoarseBits};
  std::vector<DeviceWindow> devices;  // sorted by gpu_id.
  std::vector<WorkCell> work;         // in order of first use (SortCells sorts).
  // Cell()'s hash index of `work` (open addressing; a slot holds a cell's
  // index + 1, 0 = empty) once a bucket has kIndexedCells cells: a second-
  // long bucket holds a hundred or more cells and most of its keys come
  // back only once or twice, so a linear search per record was a tenth of
  // `analyze`'s CPU. It covers work[0, work_indexed); anything that changes
  // `work` otherwise is caught by the size, and SortCells resets it.
  static constexpr size_t kIndexedCells = 8;
  std::vector<uint32_t> work_slots;
  size_t work_indexed = 0;
  bool has_slowest = false;
  RequestExample slowest;  // slowest request (by total, else inference).

  DeviceWindow& Device(int64_t gpu_id);
  // The cell of `key`, appended when new (then *added = true).
  WorkCell& Cell(const WorkKey& key, bool* added = nullptr);
  // Adds `other`'s cells to `work` (new keys appended in `other`'s order).
  void MergeCells(const std::vector<WorkCell>& other);
  // Sorts `work` by key (for order-independent sums over cells).
  void SortCells();
  // Rebuilds work_slots over every cell of `work`.
  void IndexCells();
  void OfferSlowest(const RequestExample& e);
  void Merge(const TimeBucket& o);
};

class ClickHousePushDown;

class TimeBucketStore {
 public:
  explicit TimeBucketStore(int max_buckets = 2048, int64_t max_cells = 131072);

  // The bucket holding `ts_us`; may coarsen the store first. The reference is
  // valid until the next At() or Merge().
  TimeBucket& At(int64_t ts_us);

  void Merge(const TimeBucketStore& other);

  // Called after a WorkCell was appended to a bucket; coarsens when there
  // are more than `max_cells` (references into the store become invalid).
  void CellAdded() {
    if (++cells_ > max_cells_) Fit();
  }

  int64_t resolution_us() const;
  // Key k covers [k * resolution_us, (k + 1) * resolution_us).
  const std::map<int64_t, TimeBucket>& buckets() const { return buckets_; }
  size_t size() const { return buckets_.size(); }

  // The ladder of resolutions (microseconds), for tests and docs.
  static int64_t LadderUs(int level);

 private:
  // Fills the buckets from SQL aggregates (analyzer/clickhouse_pushdown.h).
  friend class ClickHousePushDown;

  void CoarsenTo(int level);
  void Fit();
  void CountCells();

  int max_buckets_;
  int64_t max_cells_;
  int64_t cells_ = 0;  // WorkCells over all buckets.
  int level_ = 0;
  std::map<int64_t, TimeBucket> buckets_;
  int64_t cached_key_[2] = {0, 0};
  TimeBucket* cached_[2] = {nullptr, nullptr};
};

}  // namespace yoloscope
