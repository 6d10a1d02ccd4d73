#include "whatif/profile_builder.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string_view>
#include <unordered_map>

#include "whatif/quantile.h"

namespace yoloscope {
namespace {

enum class Category : uint8_t { kOk, kQueueFull, kTimeout, kFailed, kRefusedByHttp };

Category Categorize(std::string_view status) {
  if (status.empty() || status == "ok") return Category::kOk;
  if (status == "queue_full") return Category::kQueueFull;
  if (status == "timeout") return Category::kTimeout;
  if (status == "payload_too_large" || status == "header_too_large" || status == "unauthorized" ||
      status == "bad_request" || status == "read_timeout" || status == "log_unavailable") {
    return Category::kRefusedByHttp;
  }
  return Category::kFailed;
}

struct RawRequest {
  int64_t ts_us = 0;
  bool has_ts = false;
  int model = -1;
  Category category = Category::kOk;
  double pre_ms = kUnknownMs, post_ms = kUnknownMs, other_ms = kUnknownMs, total_ms = kUnknownMs;
  double device_ms = kUnknownMs;
  int batch_size = 0;
  int64_t batch_id = -1;
  int64_t queue_len = -1;
};

struct RawBatch {
  int64_t ts_us = -1;  // start; -1 = unknown
  int model = -1;
  int size = 0;
  double device_ms = 0;
  double busy_ms = kUnknownMs;
  int64_t batch_id = -1;
  int64_t instance = -1;
  int64_t gpu_id = -1;
  bool oom = false;
};

double Sum(std::initializer_list<std::optional<double>> parts) {
  double s = 0;
  for (const auto& p : parts) s += p.value_or(0);
  return s;
}

// The turnaround of a backlogged instance is the floor of (start gap -
// device time) over consecutive batches, and it shows as a cluster there:
// many pairs within max(0.05 ms, 50%) of the smallest. Idle gaps (a lightly
// loaded instance) form no such floor, except under perfectly periodic
// traffic, which the last guard catches: bookkeeping between two batches
// is far below a batch's own time. 0 = not shown by the log.
double EstimateTurnaroundMs(std::vector<double> gaps_ms, double mean_device_ms) {
  std::erase_if(gaps_ms, [](double g) { return !(g >= 0); });  // overlaps: clock noise
  if (gaps_ms.size() < static_cast<size_t>(kMinTurnaroundPairs)) return 0;
  std::sort(gaps_ms.begin(), gaps_ms.end());
  const double floor = gaps_ms.front();
  const double limit = floor + std::max(0.05, 0.5 * floor);
  std::vector<double> cluster;
  for (double g : gaps_ms) {
    if (g > limit) break;
    cluster.push_back(g);
  }
  const size_t needed = std::max<size_t>(kMinTurnaroundPairs / 2, gaps_ms.size() / 20);
  if (cluster.size() < needed) return 0;
  const double estimate = QuantileOfSorted(cluster, 0.5);
  return estimate <= 0.25 * mean_device_ms ? estimate : 0;
}

}  // namespace

// Wake-up latency of an idle instance (PipelineProfile::wake_us): for each
// batch, the moment the fixed policy would dispatch it from its members'
// ready times; where the instance had finished its previous batch (ts +
// busy_ms, else + device time) by then, the start's lateness is a sample.
// A start more than 50 us before that moment was not the fixed policy's
// decision as reconstructed and is left out; so are lateness values above
// 3x the median (see below).
template <typename Keep>
std::vector<double> EstimateWakeUs(
    const std::vector<RawRequest>& requests,
    const std::map<int64_t, std::vector<const RawBatch*>>& by_instance,
    const std::optional<LoggedConfig>& config, const Keep& keep) {
  std::vector<double> out;
  if (!config || !config->max_batch_size || !config->max_queue_delay_us ||
      !(config->batch_policy.empty() || config->batch_policy == "fixed")) {
    return out;
  }
  const int64_t max_batch = *config->max_batch_size;
  const double delay_us = static_cast<double>(*config->max_queue_delay_us);
  struct Ready {
    double first = 0, last = 0;
  };
  std::unordered_map<int64_t, Ready> ready;  // batch_id -> members' ready times (Unix us)
  for (const RawRequest& q : requests) {
    if (!keep(q.model) || q.batch_id < 0 || !q.has_ts || q.category != Category::kOk) continue;
    const double r = static_cast<double>(q.ts_us) + (std::isnan(q.pre_ms) ? 0 : q.pre_ms * 1000);
    auto [it, fresh] = ready.try_emplace(q.batch_id, Ready{r, r});
    if (!fresh) {
      it->second.first = std::min(it->second.first, r);
      it->second.last = std::max(it->second.last, r);
    }
  }
  for (const auto& [instance, list] : by_instance) {
    for (size_t i = 0; i < list.size(); ++i) {
      const RawBatch& b = *list[i];
      auto it = ready.find(b.batch_id);
      if (b.batch_id < 0 || it == ready.end()) continue;
      const double trigger = b.size >= max_batch ? it->second.last : it->second.first + delay_us;
      if (i > 0) {
        const RawBatch& prev = *list[i - 1];
        const double held_ms = std::isnan(prev.busy_ms) ? prev.device_ms : prev.busy_ms;
        if (static_cast<double>(prev.ts_us) + held_ms * 1000 >= trigger) continue;  // busy
      }
      const double late = static_cast<double>(b.ts_us) - trigger;
      if (late < -50) continue;
      out.push_back(std::max(0.0, late));
    }
  }
  if (static_cast<int>(out.size()) < kMinWakeSamples) {
    out.clear();
    return out;
  }
  // More than 3x the median is not a wake-up: a stall of the host, or a
  // member that waited for a preprocess worker (its ready time is then
  // later than arrival + its stages; the model queues it there itself).
  // Drawn for every wake-up, such outliers raised every prediction (lab
  // logs of three runs, 47 rows: p50 error +0.5 % mean, 2.3 % mean
  // absolute with them; +0.1 % and 2.0 % without).
  std::vector<double> sorted = out;
  std::sort(sorted.begin(), sorted.end());
  const double cap = 3 * sorted[sorted.size() / 2];
  out.erase(std::remove_if(out.begin(), out.end(), [cap](double w) { return w > cap; }), out.end());
  return out;
}

struct RawConfig {
  int model = -1;
  LoggedConfig config;
};

bool SameSetting(const LoggedConfig& a, const LoggedConfig& b) {
  return a.instances == b.instances && a.max_batch_size == b.max_batch_size &&
         a.max_queue_delay_us == b.max_queue_delay_us && a.max_queue_size == b.max_queue_size &&
         a.preprocess_workers == b.preprocess_workers &&
         a.postprocess_workers == b.postprocess_workers && a.batch_policy == b.batch_policy;
}

struct ProfileBuilder::Data {
  std::vector<RawConfig> configs;
  std::vector<std::string> models;
  std::map<std::string, int, std::less<>> model_index;
  std::vector<RawRequest> requests;
  std::vector<RawBatch> batches;

  int ModelId(std::string_view name) {
    if (name.empty()) return -1;
    auto it = model_index.find(name);
    if (it != model_index.end()) return it->second;
    const int id = static_cast<int>(models.size());
    models.emplace_back(name);
    model_index.emplace(std::string(name), id);
    return id;
  }
};

ProfileBuilder::ProfileBuilder() : data_(std::make_unique<Data>()) {}
ProfileBuilder::~ProfileBuilder() = default;

void ProfileBuilder::OnRecord(const LogRecord& r) {
  if (r.kind == RecordKind::kConfig) {
    RawConfig c;
    c.model = data_->ModelId(r.model);
    LoggedConfig& l = c.config;
    l.ts_us = r.ts_us.value_or(0);
    l.instances = r.instances;
    l.max_batch_size = r.max_batch_size;
    l.max_queue_delay_us = r.max_queue_delay_us;
    l.max_queue_size = r.max_queue_size;
    l.preprocess_workers = r.preprocess_workers;
    l.postprocess_workers = r.postprocess_workers;
    l.batch_policy.assign(r.batch_policy);
    data_->configs.push_back(std::move(c));
    return;
  }
  if (r.kind == RecordKind::kBatch) {
    if (!r.batch_size || *r.batch_size < 1 || !r.inference_ms) return;
    RawBatch b;
    b.model = data_->ModelId(r.model);
    b.size = static_cast<int>(*r.batch_size);
    b.device_ms = Sum({r.h2d_ms, r.inference_ms, r.d2h_ms});
    b.instance = r.instance.value_or(-1);
    b.gpu_id = r.gpu_id.value_or(-1);
    b.batch_id = r.batch_id.value_or(-1);
    if (r.busy_ms) b.busy_ms = *r.busy_ms;
    b.oom = r.oom.value_or(false);
    b.ts_us = r.ts_us.value_or(-1);
    data_->batches.push_back(b);
    return;
  }
  if (r.kind != RecordKind::kRequest) return;
  RawRequest q;
  q.model = data_->ModelId(r.model);
  q.category = Categorize(r.status);
  if (r.ts_us) {
    q.ts_us = *r.ts_us;
    q.has_ts = true;
  }
  if (r.decode_ms || r.preprocess_ms) q.pre_ms = Sum({r.decode_ms, r.preprocess_ms});
  if (r.postprocess_ms) q.post_ms = *r.postprocess_ms;
  if (r.total_ms) {
    q.total_ms = *r.total_ms;
    q.other_ms = std::max(0.0, *r.total_ms - Sum({r.queue_ms, r.decode_ms, r.preprocess_ms,
                                                  r.h2d_ms, r.inference_ms, r.d2h_ms,
                                                  r.postprocess_ms}));
  }
  if (r.inference_ms && r.batch_size && *r.batch_size >= 1) {
    q.device_ms = Sum({r.h2d_ms, r.inference_ms, r.d2h_ms});
    q.batch_size = static_cast<int>(*r.batch_size);
  }
  q.batch_id = r.batch_id.value_or(-1);
  q.queue_len = r.queue_len.value_or(-1);
  data_->requests.push_back(q);
}

void ProfileBuilder::Merge(ProfileBuilder&& other) {
  Data& o = *other.data_;
  std::vector<int> remap(o.models.size());
  for (size_t i = 0; i < o.models.size(); ++i) remap[i] = data_->ModelId(o.models[i]);
  for (RawRequest& q : o.requests) {
    if (q.model >= 0) q.model = remap[q.model];
    data_->requests.push_back(q);
  }
  for (RawBatch& b : o.batches) {
    if (b.model >= 0) b.model = remap[b.model];
    data_->batches.push_back(b);
  }
  for (RawConfig& c : o.configs) {
    if (c.model >= 0) c.model = remap[c.model];
    data_->configs.push_back(std::move(c));
  }
  o.requests.clear();
  o.batches.clear();
  o.configs.clear();
}

StatusOr<PipelineProfile> ProfileBuilder::Finish(const ProfileOptions& options) && {
  Data& d = *data_;
  PipelineProfile p;
  // Which model: the one asked for, or the only one.
  std::set<int> with_requests;
  for (const RawRequest& q : d.requests) {
    if (q.model >= 0) with_requests.insert(q.model);
  }
  int model = -1;
  if (!options.model.empty()) {
    auto it = d.model_index.find(options.model);
    if (it == d.model_index.end()) {
      std::string names;
      for (const auto& m : d.models) names += (names.empty() ? "" : ", ") + m;
      return InvalidArgumentError(fmt::format("--model {}: not in the log (models: {})",
                                              options.model, names.empty() ? "none" : names));
    }
    model = it->second;
  } else if (with_requests.size() > 1) {
    std::string names;
    for (int m : with_requests) names += (names.empty() ? "" : ", ") + d.models[m];
    return FailedPreconditionError(fmt::format(
        "cannot predict: needs one model, and the log holds {} ({}); choose one with --model",
        with_requests.size(), names));
  } else if (!with_requests.empty()) {
    model = *with_requests.begin();
  }
  if (model >= 0) p.model = d.models[model];
  auto keep = [model](int m) { return model < 0 || m == model || m < 0; };

  // The model's latest config record; several different ones (a restart
  // with another setting) are noted.
  std::vector<const LoggedConfig*> configs;
  for (const RawConfig& c : d.configs) {
    if (keep(c.model)) configs.push_back(&c.config);
  }
  if (!configs.empty()) {
    std::stable_sort(
        configs.begin(), configs.end(),
        [](const LoggedConfig* a, const LoggedConfig* b) { return a->ts_us < b->ts_us; });
    LoggedConfig latest = *configs.back();
    latest.records = static_cast<int>(configs.size());
    std::vector<const LoggedConfig*> distinct;
    for (const LoggedConfig* c : configs) {
      if (std::none_of(distinct.begin(), distinct.end(),
                       [&](const LoggedConfig* x) { return SameSetting(*x, *c); })) {
        distinct.push_back(c);
      }
    }
    latest.distinct = static_cast<int>(distinct.size());
    if (latest.distinct > 1) {
      p.notes.push_back(fmt::format(
          "the log holds {} config records with {} different settings (a restart with another "
          "setting?); the latest is taken as the logged setting",
          latest.records, latest.distinct));
    }
    p.logged_config = std::move(latest);
  }

  ObservedRun& obs = p.observed;
  std::vector<const RawRequest*> offered;
  for (const RawRequest& q : d.requests) {
    if (!keep(q.model)) continue;
    if (q.category == Category::kRefusedByHttp) {
      ++obs.refused_by_http;
      continue;
    }
    if (!q.has_ts) {
      ++obs.without_ts;
      continue;
    }
    offered.push_back(&q);
  }
  std::stable_sort(offered.begin(), offered.end(),
                   [](const RawRequest* a, const RawRequest* b) { return a->ts_us < b->ts_us; });
  // The measurement window: from the first arrival + skip_s.
  const int64_t from_us =
      offered.empty() ? 0 : offered.front()->ts_us + std::llround(options.skip_s * 1e6);
  p.measure_from_us = from_us;
  std::vector<double> served_ms;
  int64_t first_us = std::numeric_limits<int64_t>::max(), last_done_us = 0;
  int64_t queue_len_sum = 0, queue_len_n = 0;
  std::map<int64_t, int64_t> full_queue_lens;  // queue_len of queue_full -> count
  for (const RawRequest* qp : offered) {
    const RawRequest& q = *qp;
    if (q.category == Category::kQueueFull && q.queue_len > 0) {
      ++full_queue_lens[q.queue_len];
      ++obs.queue_full_with_len;
    }
    if (q.ts_us < from_us) continue;
    first_us = std::min(first_us, q.ts_us);
    const int64_t total_us =
        std::isnan(q.total_ms) ? 0 : static_cast<int64_t>(std::llround(q.total_ms * 1000));
    last_done_us = std::max(last_done_us, q.ts_us + total_us);
    ++obs.offered;
    switch (q.category) {
      case Category::kOk:
        ++obs.served;
        if (!std::isnan(q.total_ms)) served_ms.push_back(q.total_ms);
        break;
      case Category::kQueueFull:
        ++obs.rejected;
        break;
      case Category::kTimeout:
        ++obs.timed_out;
        break;
      default:
        ++obs.failed;
    }
    if (q.queue_len >= 0) {
      queue_len_sum += q.queue_len;
      ++queue_len_n;
    }
  }
  if (offered.size() < 2) {
    return FailedPreconditionError(fmt::format(
        "cannot predict: needs request records with arrival times (ts); the log has {}{}",
        offered.size(),
        obs.without_ts > 0 ? fmt::format(" ({} request records have no ts)", obs.without_ts) : ""));
  }
  if (obs.offered == 0) {
    return InvalidArgumentError(fmt::format(
        "--skip-s {} leaves no request to measure (the log's arrivals span {:.1f} s)",
        options.skip_s, static_cast<double>(offered.back()->ts_us - offered.front()->ts_us) / 1e6));
  }
  // A batch's host work (busy_ms - device time: assembly before the run,
  // hand-off after) is in its requests' unmodelled time too -- no stage
  // covers it. The model charges it to the instance (the overhead), so it
  // leaves the requests' own time.
  std::unordered_map<int64_t, double> batch_overhead_ms;
  for (const RawBatch& b : d.batches) {
    if (keep(b.model) && b.batch_id >= 0 && !std::isnan(b.busy_ms)) {
      batch_overhead_ms[b.batch_id] = std::max(0.0, b.busy_ms - b.device_ms);
    }
  }
  for (const RawRequest* q : offered) {
    double other_ms = q->other_ms;
    if (!std::isnan(other_ms) && q->batch_id >= 0) {
      auto it = batch_overhead_ms.find(q->batch_id);
      if (it != batch_overhead_ms.end()) other_ms = std::max(0.0, other_ms - it->second);
    }
    p.requests.push_back(ProfiledRequest{q->ts_us, q->pre_ms, q->post_ms, other_ms});
    if (!std::isnan(q->pre_ms)) p.preprocess_ms.push_back(q->pre_ms);
    if (!std::isnan(q->post_ms)) p.postprocess_ms.push_back(q->post_ms);
    if (!std::isnan(other_ms)) p.other_ms.push_back(other_ms);
  }
  obs.span_s = static_cast<double>(last_done_us - first_us) / 1e6;
  obs.throughput_per_s = obs.span_s > 0 ? static_cast<double>(obs.served) / obs.span_s : 0;
  obs.rejection_rate = static_cast<double>(obs.rejected) / static_cast<double>(obs.offered);
  if (!served_ms.empty()) {
    std::sort(served_ms.begin(), served_ms.end());
    obs.has_latency = true;
    obs.p50_ms = QuantileOfSorted(served_ms, 0.5);
    obs.p90_ms = QuantileOfSorted(served_ms, 0.9);
    obs.p99_ms = QuantileOfSorted(served_ms, 0.99);
    obs.distribution_ms = DistributionOfSorted(served_ms);
    double sum = 0;
    for (double v : served_ms) sum += v;
    obs.mean_ms = sum / static_cast<double>(served_ms.size());
  }
  // The most common length: a refusal after preprocessing (the batcher's
  // own check) may see one more or fewer than the admission bound.
  int64_t most = 0;
  for (const auto& [len, n] : full_queue_lens) {
    if (n >= most && len <= std::numeric_limits<int>::max()) {
      most = n;
      obs.queue_bound = static_cast<int>(len);
    }
  }
  if (queue_len_n > 0) {
    obs.has_queue_len = true;
    obs.mean_queue_length = static_cast<double>(queue_len_sum) / static_cast<double>(queue_len_n);
  }

  // Device times per batch size: batch records first.
  double batches_weight = 0, batched_requests = 0, busy_ms = 0;
  std::set<int64_t> instances, gpus;
  for (const RawBatch& b : d.batches) {
    if (!keep(b.model) || b.oom) continue;
    p.device_us[b.size].push_back(b.device_ms * 1000);
    if (!std::isnan(b.busy_ms)) {
      p.overhead_us[b.size].push_back(std::max(0.0, b.busy_ms - b.device_ms) * 1000);
    }
    if (b.instance >= 0) instances.insert(b.instance);
    if (b.gpu_id >= 0) gpus.insert(b.gpu_id);
    obs.largest_batch = std::max(obs.largest_batch, b.size);
    // A skipped warm-up: in the curve, not in the observed run's numbers.
    if (options.skip_s > 0 && b.ts_us >= 0 && b.ts_us < from_us) continue;
    batches_weight += 1;
    batched_requests += b.size;
    busy_ms += b.device_ms;
  }
  if (!p.device_us.empty()) {
    // Turnaround: consecutive batches of one instance.
    std::map<int64_t, std::vector<const RawBatch*>> by_instance;
    for (const RawBatch& b : d.batches) {
      if (keep(b.model) && b.instance >= 0 && b.ts_us >= 0) by_instance[b.instance].push_back(&b);
    }
    std::vector<double> gaps_ms;
    for (auto& [inst, list] : by_instance) {
      std::stable_sort(list.begin(), list.end(),
                       [](const RawBatch* a, const RawBatch* b) { return a->ts_us < b->ts_us; });
      for (size_t i = 1; i < list.size(); ++i) {
        gaps_ms.push_back(static_cast<double>(list[i]->ts_us - list[i - 1]->ts_us) / 1000.0 -
                          list[i - 1]->device_ms);
      }
    }
    p.turnaround_ms = EstimateTurnaroundMs(
        std::move(gaps_ms), batches_weight > 0 ? busy_ms / batches_weight : 0);
    p.wake_us = EstimateWakeUs(d.requests, by_instance, p.logged_config, keep);
    if (p.wake_us.empty()) {
      p.notes.push_back(
          "no wake-up latency of an idle instance estimated (needs a config record with a fixed "
          "policy, and batch records with ts, instance and batch_id): modelled as none");
    }
    p.device_source = "batch records";
    obs.has_device_busy = true;
    obs.instances = static_cast<int>(instances.size());
    obs.devices = static_cast<int>(gpus.size());
    // Instances share the logged GPUs; without gpu_id (a CPU backend) each
    // instance counts as its own device, as before busy_ms.
    const int n = obs.device_count();
    if (!p.overhead_us.empty() && obs.instances > n) {
      p.notes.push_back(fmt::format(
          "the log's {} instances share {} device(s): their busy_ms includes waits for the device, "
          "so the host work per batch (busy_ms - device time) is overstated",
          obs.instances, n));
    }
    obs.device_busy_fraction = obs.span_s > 0 ? busy_ms / 1000.0 / (obs.span_s * n) : 0;
  } else {
    std::set<int64_t> seen;
    for (const RawRequest& q : d.requests) {
      if (!keep(q.model) || q.batch_size < 1 || std::isnan(q.device_ms)) continue;
      if (q.batch_id >= 0) {
        if (!seen.insert(q.batch_id).second) continue;
        p.device_us[q.batch_size].push_back(q.device_ms * 1000);
        batches_weight += 1;
      } else {
        // One record per request: a batch of b appears b times.
        p.device_us[q.batch_size].push_back(q.device_ms * 1000);
        batches_weight += 1.0 / q.batch_size;
      }
      batched_requests += q.batch_id >= 0 ? q.batch_size : 1;
      obs.largest_batch = std::max(obs.largest_batch, q.batch_size);
    }
    p.device_source = "request records";
  }
  if (p.device_us.empty()) {
    return FailedPreconditionError(
        "cannot predict: needs per-batch device times -- `batch` records, or request records with "
        "batch_size and inference_ms -- and this log has none (Triton traces and tables without "
        "batch columns carry no batch data)");
  }
  obs.batches = std::llround(batches_weight);
  obs.mean_batch_size = batches_weight > 0 ? batched_requests / batches_weight : 0;

  if (p.preprocess_ms.empty()) {
    p.notes.push_back("no decode_ms/preprocess_ms in the log: preprocessing modelled as instant");
  }
  if (p.postprocess_ms.empty()) {
    p.notes.push_back("no postprocess_ms in the log: postprocessing modelled as instant");
  }
  if (p.other_ms.empty()) {
    p.notes.push_back("no total_ms in the log: latency covers the modelled stages only");
  }
  if (obs.timed_out > 0) {
    p.notes.push_back(fmt::format(
        "{} requests timed out in the log; deadlines are not modelled (they count as served)",
        obs.timed_out));
  }
  if (obs.failed > 0) {
    p.notes.push_back(fmt::format(
        "{} requests failed in the log (bad image, OOM, ...); they are modelled as served",
        obs.failed));
  }
  return p;
}

StatusOr<PipelineProfile> ProfileBuilder::Load(const std::vector<std::string>& paths,
                                               const ReadOptions& read_options,
                                               const ProfileOptions& options) {
  YS_ASSIGN_OR_RETURN(auto reader, LogReader::Create(read_options));
  const int n = std::max(1, reader->num_threads());
  std::vector<ProfileBuilder> sinks(static_cast<size_t>(n));
  ReadStats stats;
  YS_RETURN_IF_ERROR(
      reader->Read(paths, [&](int i) -> RecordSink* { return &sinks[static_cast<size_t>(i)]; }, &stats));
  for (int i = 1; i < n; ++i) sinks[0].Merge(std::move(sinks[static_cast<size_t>(i)]));
  if (stats.records == 0) {
    return FailedPreconditionError("cannot predict: needs request records, and no record was readable");
  }
  return std::move(sinks[0]).Finish(options);
}

}  // namespace yoloscope
