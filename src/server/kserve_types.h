// The KServe v2 inference request and response, independent of the
// protocol that carried them. The KServe HTTP and gRPC front ends parse
// into KServeInferRequest and render KServeInferResponse; InferenceCore does
// everything in between. See docs/serve.md for the model's inputs/outputs.
//
// Value types; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/request_params.h"

namespace yoloscope {

// The model's tensors, as metadata and /config name them.
inline constexpr std::string_view kImagesInput = "images";           // BYTES [B]: encoded images
inline constexpr std::string_view kImagesFp32Input = "images_fp32";  // FP32 [B,3,H,W]
inline constexpr std::string_view kNumDetectionsOutput = "num_detections";  // INT32 [B]
inline constexpr std::string_view kDetectionsOutput = "detections";         // FP32 [B,K,6]

struct KServeInputTensor {
  std::string name;
  std::string datatype;  // "BYTES", "FP32", ... as the client said
  std::vector<int64_t> shape;
  // The data, in the member of its datatype (BYTES elements or FP32 values).
  std::vector<std::string> bytes;
  std::vector<float> fp32;
  bool has_data = false;  // false: the client sent no data for this input
};

struct KServeRequestedOutput {
  std::string name;
  bool binary = false;  // HTTP: as a binary tensor after the JSON header
};

struct KServeInferRequest {
  std::string model_name;
  std::string model_version;  // "" = the latest (the only one, "1")
  std::string id;             // the client's id, echoed and logged as client_id
  RequestParams params;
  std::vector<KServeInputTensor> inputs;
  std::vector<KServeRequestedOutput> outputs;  // empty = every output
  bool binary_outputs = false;                 // default of outputs not listed (HTTP)
};

struct KServeOutputTensor {
  std::string name;
  std::string datatype;  // "INT32" or "FP32"
  std::vector<int64_t> shape;
  std::vector<int32_t> int32_data;
  std::vector<float> fp32_data;
  bool binary = false;

  // The data as little-endian bytes (this machine's order: x86/ARM LE).
  std::string_view raw() const {
    return datatype == "INT32" ? std::string_view(reinterpret_cast<const char*>(int32_data.data()),
                                                  int32_data.size() * sizeof(int32_t))
                               : std::string_view(reinterpret_cast<const char*>(fp32_data.data()),
                                                  fp32_data.size() * sizeof(float));
  }
};

struct KServeInferResponse {
  std::string model_name;
  std::string model_version = "1";
  std::string id;
  std::vector<KServeOutputTensor> outputs;  // in the order requested (or the model's order)
};

}  // namespace yoloscope
