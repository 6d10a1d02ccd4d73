#include "backends/backend.h"

#include <algorithm>
#include <vector>

namespace yoloscope {

Status Backend::Warmup(const std::vector<int>& batch_sizes) {
  const ModelInfo& mi = info();
  int largest = 1;
  for (int b : batch_sizes) largest = std::max(largest, b);
  std::vector<float> zeros(static_cast<size_t>(largest) * 3 * mi.input_h * mi.input_w, 0.f);
  OutputTensor out;
  for (int b : batch_sizes) {
    if (b < 1 || b > max_batch()) continue;
    BatchTiming timing;
    YS_RETURN_IF_ERROR(
        Run(zeros.data(), b, mi.input_h, mi.input_w, &out, &timing).WithContext("warm-up"));
  }
  return Status::Ok();
}

}  // namespace yoloscope
