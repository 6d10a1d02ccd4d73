// BatchingAdvisor: reads a measured EngineCurve and recommends the dynamic
// batcher's settings (max_batch_size, max_queue_delay_us) and the number of
// model instances for a latency goal and an expected arrival rate.
//
// Knee: walking the measured batch sizes upwards, the knee is the first
// size from which the next measured size raises throughput (images/s) by
// less than `knee_gain` (10%): past it, bigger batches only add latency.
// Batching "helps" when the knee is above the smallest measured size.
//
// Recommendation (needs arrival_rate; slo_p99_ms optional):
// 1. Candidates: instances 1..max_instances; max_batch_size among the
//    measured sizes; max_queue_delay_us 0 plus a few delays derived from the
//    curve (the time to fill a batch at the per-instance arrival rate, and
//    half / all of the batch's own latency), capped at half the SLO.
//    When batching does not help, the only candidates are batch 1 with no
//    delay: waiting can only add latency there.
// 2. Each candidate is predicted by BatchQueueModel (a simulation of the
//    batcher on the curve, same seeded arrivals for all).
// 3. Feasible = keeps up with the rate (stable) and p99 <= SLO. Fewest
//    instances first; among those, the lowest p99; then, among candidates
//    within 3% of that p99, the smallest delay and then the smallest batch
//    (so the advisor never recommends waiting, or a larger batch, for a gain
//    that is within noise). Without a feasible candidate (meets_slo =
//    false): among those that keep up, the lowest p99 (same tie rule); when
//    none keeps up, the most throughput (within 1%: least waiting, then the
//    smallest batch).
// Without an arrival rate only the knee is given (max_batch_size = knee, no
// waiting).
//
// Thread-safety: immutable after Create; Recommend is const.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/batch_queue_model.h"
#include "bench/engine_curve.h"
#include "common/status.h"

namespace yoloscope {

struct AdvisorConfig {
  double slo_p99_ms = 0;        // latency goal for p99 (queue + batch wait + execution); 0 = none
  double arrival_rate = 0;      // expected requests per second; 0 = unknown (knee only)
  int max_instances = 1;        // instances the deployment can afford, >= 1
  double knee_gain = 0.10;      // marginal throughput gain that still counts, > 0
  double tie_tolerance = 0.03;  // p99 differences below this fraction are noise
  uint64_t seed = 1;            // arrivals of the simulation
};

struct BatchingCandidate {
  int instances = 1;
  int max_batch_size = 1;
  int64_t max_queue_delay_us = 0;
  BatchQueuePrediction predicted;
  bool feasible = false;
};

struct BatchingRecommendation {
  int knee_batch_size = 1;
  bool batching_helps = false;
  // False when no arrival rate was given: only the knee-based settings.
  bool modelled = false;
  bool meets_slo = false;  // a feasible candidate exists (modelled only)
  int instances = 1;
  int max_batch_size = 1;
  int64_t max_queue_delay_us = 0;
  BatchQueuePrediction predicted;  // of the recommendation (modelled only)
  // Throughput the recommended instances can reach at max_batch_size (from
  // the curve), requests per second.
  double capacity_rps = 0;
  std::string rationale;                      // one paragraph, for humans
  std::vector<BatchingCandidate> considered;  // every candidate simulated

  // The recommendation as `yoloscope serve` YAML (model.instances and the
  // batching keys). A non-empty `latency_curve_us` (EngineCurve::
  // BatcherSeedUs) is added as a comment: BatcherConfig::latency_curve_us,
  // the adaptive policy's seed, has no serve YAML key yet.
  std::string ToServeYaml(const std::vector<double>& latency_curve_us = {}) const;
  // A few lines for the terminal.
  std::string ToText() const;
};

class BatchingAdvisor {
 public:
  // InvalidArgument for a bad config.
  static StatusOr<BatchingAdvisor> Create(const AdvisorConfig& config);

  // The knee batch size of `curve` (see the header comment); 1 for an empty curve.
  static int FindKnee(const EngineCurve& curve, double knee_gain = 0.10);

  // InvalidArgument for an empty curve.
  StatusOr<BatchingRecommendation> Recommend(const EngineCurve& curve) const;

 private:
  explicit BatchingAdvisor(const AdvisorConfig& config) : config_(config) {}
  AdvisorConfig config_;
};

}  // namespace yoloscope
