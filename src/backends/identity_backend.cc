#include "backends/identity_backend.h"

namespace yoloscope {

IdentityBackend::IdentityBackend(const BackendConfig& config) : max_batch_(config.max_batch) {
  info_.name = "identity";
  info_.layout = OutputLayout::kYoloV8;
  info_.class_names = CocoClassNames();
  if (config.input_w > 0) info_.input_w = config.input_w;
  if (config.input_h > 0) info_.input_h = config.input_h;
}

Status IdentityBackend::Run(const float* input, int batch, int height, int width,
                            OutputTensor* out, BatchTiming* timing) {
  if (input == nullptr || batch < 1 || batch > max_batch_ || height < 1 || width < 1) {
    return InvalidArgumentError("identity backend: bad batch shape");
  }
  out->shape = {batch, 4 + info_.num_classes(), 0};
  out->data.clear();
  timing->inference_ms = 0;
  return Status::Ok();
}

}  // namespace yoloscope
