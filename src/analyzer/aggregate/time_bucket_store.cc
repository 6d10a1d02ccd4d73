#include "analyzer/aggregate/time_bucket_store.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>

namespace yoloscope {
namespace {

constexpr std::array<int64_t, 18> kLadderUs = {
    1'000,       2'000,         10'000,        20'000,        100'000,        200'000,
    1'000'000,   2'000'000,     10'000'000,    20'000'000,    60'000'000,     120'000'000,
    600'000'000, 1'200'000'000, 3'600'000'000, 7'200'000'000, 21'600'000'000, 86'400'000'000,
};

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

void DeviceWindow::Merge(const DeviceWindow& o) {
  mem_used.Merge(o.mem_used);
  mem_total.Merge(o.mem_total);
  mem_ratio.Merge(o.mem_ratio);
  mem_reserved.Merge(o.mem_reserved);
  mem_allocated.Merge(o.mem_allocated);
  mem_inactive_split.Merge(o.mem_inactive_split);
  mem_other.Merge(o.mem_other);
  gpu_util.Merge(o.gpu_util);
  sm_clock.Merge(o.sm_clock);
  temp.Merge(o.temp);
  power.Merge(o.power);
  throttle_samples += o.throttle_samples;
  throttled += o.throttled;
}

DeviceWindow& TimeBucket::Device(int64_t gpu_id) {
  for (DeviceWindow& d : devices) {
    if (d.gpu_id == gpu_id) return d;
  }
  auto it = std::lower_bound(devices.begin(), devices.end(), gpu_id,
                             [](const DeviceWindow& d, int64_t id) { return d.gpu_id < id; });
  it = devices.insert(it, DeviceWindow{});
  it->gpu_id = gpu_id;
  return *it;
}

WorkCell& TimeBucket::Cell(const WorkKey& key, bool* added) {
  // Append-only, so that an index cached by the caller stays valid.
  const uint64_t hash = WorkKeyHash()(key);
  size_t slot = 0;
  const bool indexed = work.size() >= kIndexedCells;
  if (!indexed) {
    for (WorkCell& c : work) {
      if (c.hash == hash && c.key == key) return c;
    }
  } else {
    if (work_indexed != work.size() || 2 * work.size() >= work_slots.size()) IndexCells();
    const size_t mask = work_slots.size() - 1;
    slot = hash & mask;
    while (work_slots[slot] != 0) {
      WorkCell& c = work[work_slots[slot] - 1];
      if (c.hash == hash && c.key == key) return c;
      slot = (slot + 1) & mask;
    }
  }
  if (added != nullptr) *added = true;
  // Buckets end up with tens of cells: skip the first few reallocations.
  if (work.empty()) work.reserve(16);
  work.emplace_back();
  work.back().key = key;
  work.back().hash = hash;
  if (indexed) {
    work_slots[slot] = static_cast<uint32_t>(work.size());
    work_indexed = work.size();
  }
  return work.back();
}

void TimeBucket::IndexCells() {
  size_t slots = 32;
  while (slots < 4 * work.size()) slots *= 2;
  work_slots.assign(slots, 0);
  for (size_t j = 0; j < work.size(); ++j) {
    size_t i = work[j].hash & (slots - 1);
    while (work_slots[i] != 0) i = (i + 1) & (slots - 1);
    work_slots[i] = static_cast<uint32_t>(j + 1);
  }
  work_indexed = work.size();
}

void TimeBucket::MergeCells(const std::vector<WorkCell>& other) {
  if (other.empty()) return;
  if (work.empty()) {
    work = other;
    return;
  }
  // Few cells on either side (the common case while a store coarsens from
  // sub-second buckets): match them pairwise, without an index to allocate.
  if (work.size() * other.size() <= 256) {
    const size_t mine = work.size();
    for (const WorkCell& c : other) {
      size_t j = 0;
      while (j < mine && !(work[j].hash == c.hash && work[j].key == c.key)) ++j;
      if (j < mine) {
        work[j].Merge(c);
      } else {
        work.push_back(c);
      }
    }
    return;
  }
  // A bucket holds up to a few hundred cells (models x GPUs x batch sizes x
  // input sizes): matching them pairwise by Cell() made each coarsening of
  // the store quadratic in that, so index this bucket's cells by hash once.
  size_t slots = 16;
  while (slots < 2 * (work.size() + other.size())) slots *= 2;
  std::vector<uint32_t> index(slots, UINT32_MAX);
  auto find_slot = [&](uint64_t hash, const WorkKey& key) {
    size_t i = hash & (slots - 1);
    while (index[i] != UINT32_MAX) {
      const WorkCell& c = work[index[i]];
      if (c.hash == hash && c.key == key) break;
      i = (i + 1) & (slots - 1);
    }
    return i;
  };
  for (size_t j = 0; j < work.size(); ++j) {
    index[find_slot(work[j].hash, work[j].key)] = static_cast<uint32_t>(j);
  }
  work.reserve(work.size() + other.size());
  for (const WorkCell& c : other) {
    const size_t i = find_slot(c.hash, c.key);
    if (index[i] == UINT32_MAX) {
      index[i] = static_cast<uint32_t>(work.size());
      work.push_back(c);
    } else {
      work[index[i]].Merge(c);
    }
  }
}

void TimeBucket::SortCells() {
  std::sort(work.begin(), work.end(),
            [](const WorkCell& a, const WorkCell& b) { return a.key < b.key; });
  work_slots.clear();
  work_indexed = 0;
}

void TimeBucket::OfferSlowest(const RequestExample& e) {
  if (!has_slowest || e.value > slowest.value ||
      (e.value == slowest.value &&
       (e.ts_us < slowest.ts_us || (e.ts_us == slowest.ts_us && e.id < slowest.id)))) {
    slowest = e;
    has_slowest = true;
  }
}

void TimeBucket::Merge(const TimeBucket& o) {
  records += o.records;
  requests += o.requests;
  batches += o.batches;
  gpu_samples += o.gpu_samples;
  errors += o.errors;
  rejections += o.rejections;
  ooms += o.ooms;
  alloc_retries += o.alloc_retries;
  alloc_retries_raw += o.alloc_retries_raw;
  batch_alloc_retries_raw += o.batch_alloc_retries_raw;
  request_ts.Merge(o.request_ts);
  total_ms.Merge(o.total_ms);
  inference_ms.Merge(o.inference_ms);
  queue_ms.Merge(o.queue_ms);
  pre_ms.Merge(o.pre_ms);
  xfer_ms.Merge(o.xfer_ms);
  post_ms.Merge(o.post_ms);
  queue_len.Merge(o.queue_len);
  batch_size.Merge(o.batch_size);
  batch_record_size.Merge(o.batch_record_size);
  total_hist.Merge(o.total_hist);
  inference_hist.Merge(o.inference_hist);
  for (const DeviceWindow& d : o.devices) Device(d.gpu_id).Merge(d);
  MergeCells(o.work);
  if (o.has_slowest) OfferSlowest(o.slowest);
}

TimeBucketStore::TimeBucketStore(int max_buckets, int64_t max_cells)
    : max_buckets_(std::max(16, max_buckets)), max_cells_(std::max<int64_t>(1024, max_cells)) {}

int64_t TimeBucketStore::LadderUs(int level) {
  if (level < static_cast<int>(kLadderUs.size())) return kLadderUs[static_cast<size_t>(level)];
  int64_t r = kLadderUs.back();
  for (int i = static_cast<int>(kLadderUs.size()) - 1; i < level && r < (int64_t{1} << 60); ++i) {
    r *= 2;
  }
  return r;
}

int64_t TimeBucketStore::resolution_us() const { return LadderUs(level_); }

TimeBucket& TimeBucketStore::At(int64_t ts_us) {
  int64_t key = FloorDiv(ts_us, resolution_us());
  // Two recently used buckets: records of neighbouring buckets interleave
  // (a batch is logged at its start, its requests at their arrival).
  if (cached_[0] != nullptr && key == cached_key_[0]) return *cached_[0];
  if (cached_[1] != nullptr && key == cached_key_[1]) {
    std::swap(cached_[0], cached_[1]);
    std::swap(cached_key_[0], cached_key_[1]);
    return *cached_[0];
  }
  auto [it, inserted] = buckets_.try_emplace(key);
  if (inserted && static_cast<int>(buckets_.size()) > max_buckets_) {
    Fit();
    key = FloorDiv(ts_us, resolution_us());
    it = buckets_.find(key);
  }
  cached_[1] = cached_[0];
  cached_key_[1] = cached_key_[0];
  cached_key_[0] = key;
  cached_[0] = &it->second;
  return it->second;
}

void TimeBucketStore::Fit() {
  // One bucket cannot get smaller: the cell budget then stays exceeded
  // (bounded anyway by the number of equal-work keys).
  while ((static_cast<int>(buckets_.size()) > max_buckets_ || cells_ > max_cells_) &&
         buckets_.size() > 1) {
    CoarsenTo(level_ + 1);
  }
}

void TimeBucketStore::CountCells() {
  cells_ = 0;
  for (const auto& [key, b] : buckets_) cells_ += static_cast<int64_t>(b.work.size());
}

void TimeBucketStore::CoarsenTo(int level) {
  cached_[0] = cached_[1] = nullptr;
  if (level <= level_) return;
  const int64_t factor = LadderUs(level) / LadderUs(level_);
  // The map's nodes are re-keyed and relinked rather than copied: a store
  // coarsens several times while it fills (1 ms up to seconds), each time
  // over thousands of buckets. Keys come in ascending order and FloorDiv
  // keeps that order, so a bucket joins the last coarse one or starts a new
  // one at the end.
  std::map<int64_t, TimeBucket> coarse;
  while (!buckets_.empty()) {
    auto node = buckets_.extract(buckets_.begin());
    const int64_t key = FloorDiv(node.key(), factor);
    if (!coarse.empty() && std::prev(coarse.end())->first == key) {
      std::prev(coarse.end())->second.Merge(node.mapped());
    } else {
      node.key() = key;
      coarse.insert(coarse.end(), std::move(node));
    }
  }
  buckets_ = std::move(coarse);
  level_ = level;
  CountCells();
}

void TimeBucketStore::Merge(const TimeBucketStore& other) {
  cached_[0] = cached_[1] = nullptr;
  if (other.level_ > level_) CoarsenTo(other.level_);
  const int64_t factor = LadderUs(level_) / LadderUs(other.level_);
  for (const auto& [key, bucket] : other.buckets_) {
    buckets_[FloorDiv(key, factor)].Merge(bucket);
  }
  CountCells();
  Fit();
}

}  // namespace yoloscope
