#include "backends/backend.h"

#include <algorithm>
#include <string>
#include <vector>

namespace yoloscope {

Status ApplyInputSizeOverride(const BackendConfig& config, bool resizable, ModelInfo* info) {
  if (config.input_w < 0 || config.input_h < 0) {
    return InvalidArgumentError("input size must be positive");
  }
  if (config.input_w == 0 && config.input_h == 0) return Status::Ok();
  int w = config.input_w > 0 ? config.input_w : info->input_w;
  int h = config.input_h > 0 ? config.input_h : info->input_h;
  const int stride = std::max(1, info->stride);
  const int rw = (w + stride - 1) / stride * stride;
  const int rh = (h + stride - 1) / stride * stride;
  if (rw != w || rh != h) {
    info->notes.push_back("imgsz " + std::to_string(h) + "x" + std::to_string(w) +
                          " is not a multiple of the model's stride " + std::to_string(stride) +
                          ": using " + std::to_string(rh) + "x" + std::to_string(rw) +
                          " (as Ultralytics rounds it up)");
    w = rw;
    h = rh;
  }
  if (!resizable && (w != info->input_w || h != info->input_h)) {
    return InvalidArgumentError(
        "this model only runs at " + std::to_string(info->input_h) + "x" +
        std::to_string(info->input_w) + " (its export fixed the input size), not " +
        std::to_string(h) + "x" + std::to_string(w) +
        "; leave --imgsz out, or re-export with `yolo export ... imgsz=" + std::to_string(h) +
        (h == w ? "" : "," + std::to_string(w)) + "` (or dynamic=True for ONNX)");
  }
  info->input_w = w;
  info->input_h = h;
  return Status::Ok();
}

Status Backend::Warmup(const std::vector<int>& batch_sizes) {
  const ModelInfo& mi = info();
  int largest = 1;
  for (int b : batch_sizes) largest = std::max(largest, b);
  std::vector<float> zeros(static_cast<size_t>(largest) * 3 * mi.input_h * mi.input_w, 0.f);
  OutputTensor out;
  // Twice per size: libtorch's executor still pays on the second call of a
  // new shape (measured: the first two real requests after a single warm-up
  // pass took 195 and 135 ms against 13 ms steady; the lab's cold-start
  // check found it).
  for (int pass = 0; pass < 2; ++pass) {
    for (int b : batch_sizes) {
      if (b < 1 || b > max_batch()) continue;
      BatchTiming timing;
      YS_RETURN_IF_ERROR(
          Run(zeros.data(), b, mi.input_h, mi.input_w, &out, &timing).WithContext("warm-up"));
    }
  }
  return Status::Ok();
}

}  // namespace yoloscope
