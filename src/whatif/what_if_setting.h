// WhatIfSetting: one serving setting the what-if model can simulate -- the
// dynamic batcher's knobs, the pipeline's capacity and the offered load --
// plus the parser of the `--what-if` / `--setting` text
// ('max_batch=8,max_queue_delay_us=2000,instances=2,rate=x1.5').
//
// Keys (docs/what-if.md):
//   max_batch (max_batch_size)            int >= 1
//   max_queue_delay_us (window_us)        int >= 0, microseconds
//   max_queue_delay_ms (window_ms)        number >= 0, milliseconds
//   instances                             int >= 1, model instances; they share the
//                                         devices (below), one batch at a time per device
//   devices (gpus)                        int >= 1, devices the instances run on; raises
//                                         instances to at least this when the same spec
//                                         does not set instances
//   queue_size (max_queue_size)           int >= 1, admission bound (503 beyond)
//   preprocess_workers, postprocess_workers   int >= 1
//   policy                                fixed | adaptive
//   rate                                  xF (arrival rate scaled by F > 0: gaps / F)
//                                         or R (R requests per second, > 0)
// A key not given keeps the base setting's value.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "batching/batcher_config.h"
#include "common/status.h"

namespace yoloscope {

struct WhatIfSetting {
  // Defaults are `yoloscope serve`'s (BatcherConfig, InferenceServiceConfig).
  int max_batch_size = 8;
  int64_t max_queue_delay_us = 10'000;
  int instances = 1;
  // Devices (GPUs) the instances are spread over, round-robin; 0 = as
  // logged (WhatIfEngine: the log's distinct gpu_id, else one per logged
  // instance). More devices than instances count as `instances`.
  int devices = 0;
  int max_queue_size = 256;
  int preprocess_workers = 2;
  int postprocess_workers = 1;
  BatchPolicy policy = BatchPolicy::kFixed;
  // Offered load: the log's arrivals with their gaps divided by rate_scale;
  // rate_per_s > 0 instead asks for that mean rate (the scale is derived).
  double rate_scale = 1.0;
  double rate_per_s = 0;
  // How the user wrote it ("max_batch=8"); "logged" for the logged setting.
  std::string label;
};

// OK, or InvalidArgument naming the first bad field.
Status ValidateWhatIfSetting(const WhatIfSetting& setting);

// `base` with the keys of `spec` applied; label = spec. InvalidArgument for
// an unknown key, a malformed value, or a result that fails validation.
StatusOr<WhatIfSetting> ApplyWhatIf(std::string_view spec, const WhatIfSetting& base);

// "max_batch=8,max_queue_delay_us=2000,instances=2,queue_size=256,
// preprocess_workers=2,postprocess_workers=1,policy=fixed[,rate=x1.5]":
// every key, in ApplyWhatIf syntax (rate only when not x1).
std::string DescribeWhatIf(const WhatIfSetting& setting);

// The batcher config the server would run with this setting.
BatcherConfig ToBatcherConfig(const WhatIfSetting& setting);

}  // namespace yoloscope
