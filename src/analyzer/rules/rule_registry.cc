#include "analyzer/rules/rule_registry.h"

#include <algorithm>
#include <set>
#include <string>

#include "analyzer/rules/batch_window_too_long.h"
#include "analyzer/rules/cold_start.h"
#include "analyzer/rules/cpu_preprocess_bound.h"
#include "analyzer/rules/error_burst.h"
#include "analyzer/rules/gpu_contention.h"
#include "analyzer/rules/gpu_memory_pressure.h"
#include "analyzer/rules/gpu_throttling.h"
#include "analyzer/rules/latency_outliers.h"
#include "analyzer/rules/memory_fragmentation.h"
#include "analyzer/rules/memory_leak.h"
#include "analyzer/rules/oom.h"
#include "analyzer/rules/postprocess_bound.h"
#include "analyzer/rules/queue_saturation.h"
#include "analyzer/rules/stream_falling_behind.h"
#include "analyzer/rules/transfer_bound.h"
#include "analyzer/rules/underbatching.h"

namespace yoloscope {
namespace {

template <typename T>
std::function<std::unique_ptr<Rule>()> Make() {
  return [] { return std::make_unique<T>(); };
}

using F = LogField;

}  // namespace

RuleRegistry RuleRegistry::Builtin() {
  // The order is the one the rules always ran in: memory first, then device
  // state, batching and queueing, stages, errors, and latency_outliers last
  // (it looks at what every other rule explained), then the per-stream rule.
  return RuleRegistry({
      {"oom", 10, {{F::kOom, F::kAllocRetries, F::kStatus, F::kError}}, {}, Make<OomRule>()},
      {"gpu_memory_pressure",
       20,
       {{F::kMemUsed}, {F::kMemTotal}},
       {},
       Make<GpuMemoryPressureRule>()},
      {"memory_fragmentation",
       30,
       {{F::kTs}, {F::kMemReserved}, {F::kMemAllocated, F::kMemInactiveSplit}},
       {},
       Make<MemoryFragmentationRule>()},
      {"memory_leak", 40, {{F::kTs}, {F::kMemAllocated, F::kMemUsed}}, {}, Make<MemoryLeakRule>()},
      {"cold_start", 50, {{F::kInferenceMs, F::kTotalMs}}, {}, Make<ColdStartRule>()},
      {"gpu_throttling",
       60,
       {{F::kTs}, {F::kSmClock, F::kThrottleReasons}},
       {},
       Make<GpuThrottlingRule>()},
      {"gpu_contention",
       70,
       {{F::kTs}, {F::kInferenceMs, F::kTotalMs}},
       {"cold_start"},
       Make<GpuContentionRule>()},
      {"underbatching",
       80,
       {{F::kBatchSize}, {F::kQueueLen, F::kTs}},
       {},
       Make<UnderbatchingRule>()},
      {"batch_window_too_long",
       90,
       {{F::kQueueMs}, {F::kQueueLen, F::kBatchSize}},
       {},
       Make<BatchWindowTooLongRule>()},
      {"queue_saturation",
       100,
       {{F::kQueueMs, F::kQueueLen, F::kStatus, F::kError}},
       {"oom", "gpu_memory_pressure", "cold_start", "gpu_throttling", "gpu_contention",
        "underbatching"},
       Make<QueueSaturationRule>()},
      {"cpu_preprocess_bound",
       110,
       {{F::kDecodeMs, F::kPreprocessMs}, {F::kTotalMs, F::kInferenceMs}},
       {},
       Make<CpuPreprocessBoundRule>()},
      {"transfer_bound",
       120,
       {{F::kH2dMs, F::kD2hMs}, {F::kTotalMs, F::kInferenceMs}},
       {},
       Make<TransferBoundRule>()},
      {"postprocess_bound",
       130,
       {{F::kPostprocessMs}, {F::kTotalMs, F::kInferenceMs}},
       {},
       Make<PostprocessBoundRule>()},
      {"error_burst", 140, {{F::kStatus, F::kError}}, {}, Make<ErrorBurstRule>()},
      {"latency_outliers",
       150,
       {{F::kTotalMs, F::kInferenceMs}},
       {"oom", "gpu_memory_pressure", "memory_fragmentation", "memory_leak", "cold_start",
        "gpu_throttling", "gpu_contention", "underbatching", "batch_window_too_long",
        "queue_saturation", "cpu_preprocess_bound", "transfer_bound", "postprocess_bound",
        "error_burst"},
       Make<LatencyOutliersRule>()},
      // Per video stream; reads no other rule (docs/streams.md).
      {"stream_falling_behind", 160, {{F::kTs}}, {}, Make<StreamFallingBehindRule>()},
  });
}

RuleRegistry::RuleRegistry(std::vector<RuleInfo> infos) : infos_(std::move(infos)) {
  std::stable_sort(infos_.begin(), infos_.end(),
                   [](const RuleInfo& a, const RuleInfo& b) { return a.order < b.order; });
  rules_.reserve(infos_.size());
  for (const RuleInfo& info : infos_) rules_.push_back(info.create ? info.create() : nullptr);
}

Status RuleRegistry::Validate() const {
  std::set<std::string_view> before;
  for (size_t i = 0; i < infos_.size(); ++i) {
    const RuleInfo& info = infos_[i];
    if (rules_[i] == nullptr) {
      return InvalidArgumentError("rule " + std::string(info.name) + " has no factory");
    }
    if (before.count(info.name)) {
      return InvalidArgumentError("rule " + std::string(info.name) + " is listed twice");
    }
    for (std::string_view r : info.reads) {
      if (!before.count(r)) {
        return InvalidArgumentError("rule " + std::string(info.name) + " reads " + std::string(r) +
                                    ", which does not run before it");
      }
    }
    before.insert(info.name);
  }
  return Status::Ok();
}

void RuleRegistry::RunAll(AnalysisContext& ctx) const {
  for (size_t i = 0; i < infos_.size(); ++i) {
    if (rules_[i] == nullptr || !ctx.Require(infos_[i].name, infos_[i].fields)) continue;
    rules_[i]->Run(ctx);
  }
}

}  // namespace yoloscope
