#include "bench/batching_advisor.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace yoloscope {
namespace {

// Requests per second `instances` can serve with batches up to `max_b`.
double CapacityRps(const EngineCurve& curve, int instances, int max_b) {
  double best = 0;
  for (int b = 1; b <= max_b; ++b) {
    best = std::max(best, b * 1000.0 / BatchQueueModel::MedianMs(curve, b));
  }
  return best * instances;
}

std::string DelayText(int64_t us) { return us == 0 ? "no waiting" : fmt::format("{} us", us); }

}  // namespace

std::string BatchingRecommendation::ToServeYaml(const std::vector<double>& latency_curve_us) const {
  std::string out = fmt::format(
      "model:\n  instances: {}\nbatching:\n  policy: fixed\n  max_batch_size: {}\n"
      "  max_queue_delay_us: {}\n",
      instances, max_batch_size, max_queue_delay_us);
  if (!latency_curve_us.empty()) {
    out += "  # latency_curve_us (BatcherConfig seed of the adaptive policy, 0 = unknown): [";
    for (size_t i = 0; i < latency_curve_us.size(); ++i) {
      out += fmt::format("{}{:.0f}", i ? ", " : "", latency_curve_us[i]);
    }
    out += "]\n";
  }
  return out;
}

std::string BatchingRecommendation::ToText() const {
  std::string out = fmt::format("knee: batch {} ({})\n", knee_batch_size,
                                batching_helps ? "batching raises throughput up to here"
                                               : "batching does not raise throughput");
  out += fmt::format("recommended: instances {}, max_batch_size {}, max_queue_delay_us {}\n",
                     instances, max_batch_size, max_queue_delay_us);
  if (modelled && !predicted.stable) {
    out += fmt::format(
        "predicted: cannot keep up: serves {:.1f} req/s (capacity {:.1f} req/s), the queue and "
        "the latency grow without bound  (goal NOT met)\n",
        predicted.throughput, capacity_rps);
  } else if (modelled) {
    out += fmt::format(
        "predicted: {:.1f} req/s served (capacity {:.1f} req/s), p50 {:.2f} ms, p99 {:.2f} ms, "
        "mean batch {:.2f}, utilization {:.0f}%{}\n",
        predicted.throughput, capacity_rps, predicted.p50_ms, predicted.p99_ms,
        predicted.mean_batch_size, 100 * predicted.utilization,
        meets_slo ? "" : "  (goal NOT met)");
  }
  out += rationale + "\n";
  return out;
}

StatusOr<BatchingAdvisor> BatchingAdvisor::Create(const AdvisorConfig& config) {
  if (config.slo_p99_ms < 0) return InvalidArgumentError("slo_p99_ms must be >= 0");
  if (config.arrival_rate < 0) return InvalidArgumentError("arrival_rate must be >= 0");
  if (config.max_instances < 1 || config.max_instances > 64) {
    return InvalidArgumentError("max_instances must be 1..64");
  }
  if (!(config.knee_gain > 0)) return InvalidArgumentError("knee_gain must be > 0");
  if (config.tie_tolerance < 0) return InvalidArgumentError("tie_tolerance must be >= 0");
  return BatchingAdvisor(config);
}

int BatchingAdvisor::FindKnee(const EngineCurve& curve, double knee_gain) {
  const auto& p = curve.points;
  if (p.empty()) return 1;
  for (size_t i = 0; i + 1 < p.size(); ++i) {
    if (p[i + 1].throughput_ips < p[i].throughput_ips * (1 + knee_gain)) return p[i].batch_size;
  }
  return p.back().batch_size;
}

StatusOr<BatchingRecommendation> BatchingAdvisor::Recommend(const EngineCurve& curve) const {
  if (curve.points.empty()) return InvalidArgumentError("the curve has no points");
  BatchingRecommendation rec;
  rec.knee_batch_size = FindKnee(curve, config_.knee_gain);
  rec.batching_helps = rec.knee_batch_size > curve.points.front().batch_size;
  const CurvePoint& first = curve.points.front();
  const CurvePoint* knee = curve.Find(rec.knee_batch_size);
  const double gain = knee->throughput_ips / first.throughput_ips;
  std::string curve_text =
      rec.batching_helps
          ? fmt::format(
                "Batching raises throughput up to batch {} ({:.2f}x of batch {}); larger "
                "batches add less than {:.0f}% each.",
                rec.knee_batch_size, gain, first.batch_size, 100 * config_.knee_gain)
          : fmt::format(
                "Batching does not raise throughput here (batch {} gives {:.2f}x of "
                "batch {}), so waiting to fill batches can only add latency.",
                curve.points.size() > 1 ? curve.points[1].batch_size : first.batch_size,
                curve.points.size() > 1 ? curve.points[1].throughput_ips / first.throughput_ips
                                        : 1.0,
                first.batch_size);

  if (!(config_.arrival_rate > 0)) {
    rec.instances = 1;
    rec.max_batch_size = rec.batching_helps ? rec.knee_batch_size : 1;
    rec.max_queue_delay_us = 0;
    rec.capacity_rps = CapacityRps(curve, 1, rec.max_batch_size);
    rec.rationale = curve_text +
                    " No --arrival-rate given: max_batch_size is the knee and no waiting; give "
                    "--arrival-rate (and --slo-p99) for a modelled recommendation.";
    return rec;
  }

  rec.modelled = true;
  std::vector<int> sizes;
  if (rec.batching_helps) {
    for (const CurvePoint& p : curve.points) sizes.push_back(p.batch_size);
  } else {
    sizes = {1};
  }
  const double slo = config_.slo_p99_ms;
  auto feasible = [slo](const BatchQueuePrediction& p) {
    return p.stable && (slo <= 0 || p.p99_ms <= slo);
  };
  int chosen_k = 0;
  for (int k = 1; k <= config_.max_instances && chosen_k == 0; ++k) {
    for (int b : sizes) {
      std::set<int64_t> delays = {0};
      if (rec.batching_helps && b > 1) {
        const double per_instance_per_us = config_.arrival_rate / k / 1e6;
        const double fill_us = (b - 1) / per_instance_per_us;
        const double exec_us = BatchQueueModel::MedianMs(curve, b) * 1000;
        for (double d : {0.5 * fill_us, fill_us, 0.5 * exec_us, exec_us}) {
          double cap = slo > 0 ? slo * 1000 / 2 : 1e6;
          int64_t us = static_cast<int64_t>(std::llround(std::min(d, cap) / 10.0)) * 10;
          if (us > 0) delays.insert(us);
        }
      }
      for (int64_t d : delays) {
        BatchingCandidate c;
        c.instances = k;
        c.max_batch_size = b;
        c.max_queue_delay_us = d;
        BatchQueueConfig q;
        q.instances = k;
        q.max_batch_size = b;
        q.max_queue_delay_us = d;
        q.arrival_rate = config_.arrival_rate;
        q.seed = config_.seed;
        c.predicted = BatchQueueModel::Simulate(curve, q);
        c.feasible = feasible(c.predicted);
        if (c.feasible) chosen_k = k;
        rec.considered.push_back(c);
      }
    }
  }

  // Lowest p99 among `ok` candidates; then, within tie_tolerance of it, the
  // least waiting and the smallest batch.
  auto pick_lowest_p99 = [&](auto ok) {
    const BatchingCandidate* pick = nullptr;
    for (const auto& c : rec.considered) {
      if (ok(c) && (pick == nullptr || c.predicted.p99_ms < pick->predicted.p99_ms)) pick = &c;
    }
    if (pick == nullptr) return pick;
    const double limit = pick->predicted.p99_ms * (1 + config_.tie_tolerance);
    for (const auto& c : rec.considered) {
      if (!ok(c) || c.predicted.p99_ms > limit) continue;
      if (c.max_queue_delay_us < pick->max_queue_delay_us ||
          (c.max_queue_delay_us == pick->max_queue_delay_us &&
           c.max_batch_size < pick->max_batch_size)) {
        pick = &c;
      }
    }
    return pick;
  };
  const BatchingCandidate* best = nullptr;
  if (chosen_k > 0) {
    best = pick_lowest_p99(
        [&](const BatchingCandidate& c) { return c.feasible && c.instances == chosen_k; });
  } else {
    // Nothing meets the goal. Keeping up but too slow: the lowest p99 of those
    // that keep up (with the most instances allowed). Not keeping up at all:
    // the most throughput; among settings within 1% of it, the least waiting,
    // then the smallest batch.
    best = pick_lowest_p99([](const BatchingCandidate& c) { return c.predicted.stable; });
    if (best == nullptr) {
      double top = 0;
      for (const auto& c : rec.considered) top = std::max(top, c.predicted.throughput);
      for (const auto& c : rec.considered) {
        if (c.predicted.throughput < top * 0.99) continue;
        if (best == nullptr || c.max_queue_delay_us < best->max_queue_delay_us ||
            (c.max_queue_delay_us == best->max_queue_delay_us &&
             c.max_batch_size < best->max_batch_size)) {
          best = &c;
        }
      }
    }
  }
  rec.meets_slo = chosen_k > 0;
  rec.instances = best->instances;
  rec.max_batch_size = best->max_batch_size;
  rec.max_queue_delay_us = best->max_queue_delay_us;
  rec.predicted = best->predicted;
  rec.capacity_rps = CapacityRps(curve, rec.instances, rec.max_batch_size);
  std::string goal = slo > 0 ? fmt::format("p99 <= {:g} ms", slo) : "the lowest p99";
  if (rec.meets_slo) {
    rec.rationale =
        curve_text +
        fmt::format(
            " At {:g} req/s, {} instance(s) with max_batch_size {} and {} meet {} (simulated over "
            "{} candidate settings; among settings within {:.0f}% of the best p99 the one with the "
            "least waiting and the smallest batch is kept).",
            config_.arrival_rate, rec.instances, rec.max_batch_size,
            DelayText(rec.max_queue_delay_us), goal, rec.considered.size(),
            100 * config_.tie_tolerance);
  } else {
    rec.rationale =
        curve_text +
        fmt::format(
            " At {:g} req/s no setting with up to {} instance(s) meets {}: {}. More instances "
            "(--max-instances), a faster device or a smaller model are needed.",
            config_.arrival_rate, config_.max_instances, goal,
            best->predicted.stable ? "the latency goal is missed (shown: the lowest p99)"
                                   : "the load exceeds capacity (shown: the most throughput)");
  }
  return rec;
}

}  // namespace yoloscope
