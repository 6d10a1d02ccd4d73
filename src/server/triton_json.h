// Triton's JSON shapes for what InferenceCore describes: server extensions,
// model metadata, the model configuration (/config, as Triton's
// model_config.proto in JSON), the statistics extension (/stats) and the
// repository index. The gRPC front end fills the same fields in protobuf.
//
// Stateless functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/inference_core.h"

namespace yoloscope {

// The KServe/Triton extensions this server implements.
std::vector<std::string> TritonExtensions();

nlohmann::json TritonModelMetadataJson(const ModelDescription& model);
nlohmann::json TritonModelConfigJson(const ModelDescription& model);
nlohmann::json TritonModelStatsJson(const ModelDescription& model,
                                    const InferenceServiceStats& stats);

// Triton's config data type of a KServe datatype ("BYTES" -> "TYPE_STRING").
std::string TritonConfigDataType(const std::string& kserve_datatype);

}  // namespace yoloscope
