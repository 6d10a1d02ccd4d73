// IdentityBackend: a TEST backend. It loads no model and returns an empty
// v8-layout result ([B, 84, 85], all zeros) at once, so the server and load generator can
// be measured without inference cost. Every record it produces says
// backend "identity". Not for production use.
#pragma once

#include "backends/backend.h"

namespace yoloscope {

class IdentityBackend final : public Backend {
 public:
  explicit IdentityBackend(const BackendConfig& config);

  const ModelInfo& info() const override { return info_; }
  std::string name() const override { return "identity"; }
  std::string device() const override { return "cpu"; }
  int max_batch() const override { return max_batch_; }
  Status Run(const float* input, int batch, int height, int width, OutputTensor* out,
             BatchTiming* timing) override;

 private:
  ModelInfo info_;
  int max_batch_;
};

}  // namespace yoloscope
