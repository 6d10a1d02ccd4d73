// The entry point of libys_torch_backend.so (YOLOSCOPE_TORCH_MODULE=ON): the
// backend factory dlopen()s the module on the first torch backend and calls
// this function, so libtorch is loaded only by the commands that run a
// TorchScript model (see backend_factory.cc).
#include "backends/torch_backend.h"

extern "C" __attribute__((visibility("default"))) yoloscope::Backend*
yoloscope_create_torch_backend(const yoloscope::BackendConfig* config, yoloscope::Status* status) {
  auto created = yoloscope::TorchBackend::Create(*config);
  if (!created.ok()) {
    *status = created.status();
    return nullptr;
  }
  return std::move(created).value().release();
}
