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
  // The fewest anchors that still make a v8-shaped output ([B, 4+nc, N] needs
  // N > 4+nc), all zero: it decodes to no detection. A zero-length output is
  // not a YOLO layout and would be refused by the decoder.
  const int channels = 4 + info_.num_classes();
  out->shape = {batch, channels, channels + 1};
  out->data.assign(static_cast<size_t>(batch) * channels * (channels + 1), 0.f);
  timing->inference_ms = 0;
  return Status::Ok();
}

}  // namespace yoloscope
