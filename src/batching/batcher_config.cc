#include "batching/batcher_config.h"

#include <cmath>
#include <string>

namespace yoloscope {

std::string_view BatchPolicyName(BatchPolicy policy) {
  switch (policy) {
    case BatchPolicy::kFixed:
      return "fixed";
    case BatchPolicy::kAdaptive:
      return "adaptive";
  }
  return "unknown";
}

StatusOr<BatchPolicy> ParseBatchPolicy(std::string_view name) {
  if (name == "fixed") return BatchPolicy::kFixed;
  if (name == "adaptive") return BatchPolicy::kAdaptive;
  return InvalidArgumentError("unknown batch policy '" + std::string(name) +
                              "' (expected fixed or adaptive)");
}

Status ValidateBatcherConfig(const BatcherConfig& config) {
  // The upper bounds only catch typos (a delay in ns, a size of 1e6); they
  // are far above anything a real deployment uses.
  constexpr int kMaxBatchLimit = 1 << 16;
  constexpr int64_t kMaxDelayUs = 60'000'000;
  if (config.max_batch_size < 1 || config.max_batch_size > kMaxBatchLimit) {
    return InvalidArgumentError("max_batch_size must be in [1, " + std::to_string(kMaxBatchLimit) +
                                "], got " + std::to_string(config.max_batch_size));
  }
  if (config.max_queue_delay_us < 0 || config.max_queue_delay_us > kMaxDelayUs) {
    return InvalidArgumentError("max_queue_delay_us must be in [0, " + std::to_string(kMaxDelayUs) +
                                "], got " + std::to_string(config.max_queue_delay_us));
  }
  for (int size : config.preferred_batch_sizes) {
    if (size < 1 || size > config.max_batch_size) {
      return InvalidArgumentError("preferred_batch_sizes entries must be in [1, max_batch_size=" +
                                  std::to_string(config.max_batch_size) + "], got " +
                                  std::to_string(size));
    }
  }
  if (config.max_queue_size < 1) {
    return InvalidArgumentError("max_queue_size must be >= 1, got " +
                                std::to_string(config.max_queue_size));
  }
  if (config.default_timeout_us < 0) {
    return InvalidArgumentError("default_timeout_us must be >= 0 (0 = none), got " +
                                std::to_string(config.default_timeout_us));
  }
  if (config.latency_curve_us.size() > static_cast<size_t>(config.max_batch_size)) {
    return InvalidArgumentError("latency_curve_us has " +
                                std::to_string(config.latency_curve_us.size()) +
                                " entries, more than max_batch_size");
  }
  for (double us : config.latency_curve_us) {
    if (!std::isfinite(us) || us < 0) {
      return InvalidArgumentError("latency_curve_us entries must be finite and >= 0");
    }
  }
  // Written as !(in range) so that NaN is rejected too.
  if (!(config.latency_ewma_alpha > 0 && config.latency_ewma_alpha <= 1)) {
    return InvalidArgumentError("latency_ewma_alpha must be in (0, 1]");
  }
  if (!(config.arrival_ewma_alpha > 0 && config.arrival_ewma_alpha <= 1)) {
    return InvalidArgumentError("arrival_ewma_alpha must be in (0, 1]");
  }
  if (!(config.adaptive_min_gain >= 0 && config.adaptive_min_gain < 1)) {
    return InvalidArgumentError("adaptive_min_gain must be in [0, 1)");
  }
  return Status::Ok();
}

}  // namespace yoloscope
