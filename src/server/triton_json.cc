#include "server/triton_json.h"

namespace yoloscope {
namespace {

using Json = nlohmann::json;

Json Duration(const CountAndNs& d) { return {{"count", d.count}, {"ns", d.ns}}; }

// Config dims leave out the batch dimension (max_batch_size > 0). A BYTES
// input of shape [B] is [1] per item with reshape [] (Triton's way to say
// the model sees [B]); num_detections likewise.
Json ConfigTensor(const TensorSpec& t, bool input) {
  Json dims = Json::array();
  Json reshape;
  if (t.shape.size() <= 1) {
    dims.push_back(1);
    reshape = {{"shape", Json::array()}};
  } else {
    for (size_t i = 1; i < t.shape.size(); ++i) dims.push_back(t.shape[i]);
  }
  Json j = {{"name", t.name}, {"data_type", TritonConfigDataType(t.datatype)}, {"dims", dims}};
  if (!reshape.is_null()) j["reshape"] = reshape;
  if (input) {
    j["format"] = t.shape.size() == 4 ? "FORMAT_NCHW" : "FORMAT_NONE";
    j["optional"] = true;  // a request carries one of the two inputs
  } else {
    j["label_filename"] = "";
  }
  return j;
}

}  // namespace

std::vector<std::string> TritonExtensions() {
  return {"binary_tensor_data", "model_configuration", "statistics",
          "model_repository",   "parameters",          "schedule_policy"};
}

std::string TritonConfigDataType(const std::string& kserve_datatype) {
  if (kserve_datatype == "BYTES") return "TYPE_STRING";
  return "TYPE_" + kserve_datatype;  // FP32 -> TYPE_FP32, INT32 -> TYPE_INT32
}

Json TritonModelMetadataJson(const ModelDescription& m) {
  Json inputs = Json::array(), outputs = Json::array();
  for (const TensorSpec& t : m.inputs) {
    inputs.push_back({{"name", t.name}, {"datatype", t.datatype}, {"shape", t.shape}});
  }
  for (const TensorSpec& t : m.outputs) {
    outputs.push_back({{"name", t.name}, {"datatype", t.datatype}, {"shape", t.shape}});
  }
  return {{"name", m.name},
          {"versions", {m.version}},
          {"platform", m.platform},
          {"inputs", inputs},
          {"outputs", outputs},
          {"parameters",
           {{"layout", "detections rows are x1, y1, x2, y2, score, class_id"},
            {"classes", m.class_names},
            {"backend", m.backend},
            {"engine", m.engine},
            {"input_size", {m.input_h, m.input_w}},
            {"max_batch_size", m.max_batch_size},
            {"device", m.device}}}};
}

Json TritonModelConfigJson(const ModelDescription& m) {
  Json inputs = Json::array(), outputs = Json::array();
  for (const TensorSpec& t : m.inputs) inputs.push_back(ConfigTensor(t, true));
  for (const TensorSpec& t : m.outputs) outputs.push_back(ConfigTensor(t, false));
  const bool gpu = m.device.rfind("cuda", 0) == 0 || m.device.rfind("sim", 0) == 0;
  Json gpus = Json::array();
  if (gpu) {
    const size_t colon = m.device.find(':');
    gpus.push_back(colon == std::string::npos ? 0 : std::stoi(m.device.substr(colon + 1)));
  }
  Json names = Json::array();
  for (const auto& n : m.class_names) names.push_back(n);
  return {
      {"name", m.name},
      {"platform", m.platform},
      {"backend", m.backend},
      {"runtime", ""},
      {"version_policy", {{"latest", {{"num_versions", 1}}}}},
      {"max_batch_size", m.max_batch_size},
      {"input", inputs},
      {"output", outputs},
      {"batch_input", Json::array()},
      {"batch_output", Json::array()},
      {"dynamic_batching",
       {{"preferred_batch_size", m.preferred_batch_sizes},
        {"max_queue_delay_microseconds", m.max_queue_delay_us},
        {"preserve_ordering", false},
        {"priority_levels", 2},
        {"default_priority_level", 2},
        {"default_queue_policy",
         {{"timeout_action", "REJECT"},
          {"default_timeout_microseconds", m.default_timeout_us},
          {"allow_timeout_override", true},
          {"max_queue_size", m.max_queue_size}}}}},
      {"instance_group",
       {{{"name", m.name + "_0"},
         {"kind", gpu ? "KIND_GPU" : "KIND_CPU"},
         {"count", m.instances},
         {"gpus", gpus},
         {"secondary_devices", Json::array()},
         {"profile", Json::array()},
         {"passive", false},
         {"host_policy", ""}}}},
      {"default_model_filename", ""},
      {"cc_model_filenames", Json::object()},
      {"metric_tags", Json::object()},
      {"parameters",
       {{"device", {{"string_value", m.device}}},
        {"engine", {{"string_value", m.engine}}},
        {"input_size",
         {{"string_value", std::to_string(m.input_h) + "x" + std::to_string(m.input_w)}}},
        {"classes", {{"string_value", names.dump()}}}}},
      {"model_warmup", Json::array()},
  };
}

Json TritonModelStatsJson(const ModelDescription& m, const InferenceServiceStats& s) {
  Json batches = Json::array();
  for (const BatchSizeStats& b : s.batch_stats) {
    batches.push_back({{"batch_size", b.batch_size},
                       {"compute_input", Duration(b.compute_input)},
                       {"compute_infer", Duration(b.compute_infer)},
                       {"compute_output", Duration(b.compute_output)}});
  }
  const CountAndNs zero;
  Json model = {{"name", m.name},
                {"version", m.version},
                {"last_inference", s.last_inference_ms},
                {"inference_count", s.success.count},
                {"execution_count", s.execution_count},
                {"inference_stats",
                 {{"success", Duration(s.success)},
                  {"fail", Duration(s.fail)},
                  {"queue", Duration(s.queue)},
                  {"compute_input", Duration(s.compute_input)},
                  {"compute_infer", Duration(s.compute_infer)},
                  {"compute_output", Duration(s.compute_output)},
                  {"cache_hit", Duration(zero)},
                  {"cache_miss", Duration(zero)}}},
                {"batch_stats", batches},
                {"memory_usage", Json::array()},
                {"response_stats", Json::object()}};
  return {{"model_stats", {model}}};
}

}  // namespace yoloscope
