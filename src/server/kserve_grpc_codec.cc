#include "server/kserve_grpc_codec.h"

#include <cstdio>
#include <cstring>

namespace yoloscope {
namespace {

std::string ParamText(const inference::InferParameter& p) {
  switch (p.parameter_choice_case()) {
    case inference::InferParameter::kBoolParam:
      return p.bool_param() ? "true" : "false";
    case inference::InferParameter::kInt64Param:
      return std::to_string(p.int64_param());
    case inference::InferParameter::kStringParam:
      return p.string_param();
    case inference::InferParameter::kDoubleParam: {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%.17g", p.double_param());
      return buf;
    }
    case inference::InferParameter::kUint64Param:
      return std::to_string(p.uint64_param());
    case inference::InferParameter::PARAMETER_CHOICE_NOT_SET:
      break;
  }
  return "<empty>";
}

}  // namespace

// The protobuf request in the core's terms. InvalidArgument on bad input.
Status KServeGrpcToRequest(inference::ModelInferRequest* in, KServeInferRequest* out) {
  out->model_name = in->model_name();
  out->model_version = in->model_version();
  out->id = in->id();
  for (const auto& [name, value] : in->parameters()) {
    if (!IsRequestParam(name)) continue;
    YS_RETURN_IF_ERROR(
        ApplyParam(name, "parameter '" + name + "'", ParamText(value), &out->params));
  }
  const int raw_count = in->raw_input_contents_size();
  if (raw_count > 0 && raw_count != in->inputs_size()) {
    return InvalidArgumentError("raw_input_contents field must be used for all inputs or none: " +
                                std::to_string(in->inputs_size()) + " inputs, " +
                                std::to_string(raw_count) + " raw_input_contents");
  }
  for (int i = 0; i < in->inputs_size(); ++i) {
    auto* tensor = in->mutable_inputs(i);
    KServeInputTensor t;
    t.name = tensor->name();
    t.datatype = tensor->datatype();
    t.shape.assign(tensor->shape().begin(), tensor->shape().end());
    const std::string what = "input '" + t.name + "'";
    const bool has_contents = tensor->has_contents();
    if (raw_count > 0) {
      if (has_contents) {
        return InvalidArgumentError(what + " has both contents and raw_input_contents");
      }
      std::string_view data = in->raw_input_contents(i);
      t.has_data = true;
      if (t.datatype == "BYTES") {
        while (!data.empty()) {
          if (data.size() < 4) return InvalidArgumentError(what + ": truncated BYTES element");
          uint32_t len;
          std::memcpy(&len, data.data(), 4);  // little-endian
          data.remove_prefix(4);
          if (len > data.size()) return InvalidArgumentError(what + ": truncated BYTES element");
          t.bytes.emplace_back(data.substr(0, len));
          data.remove_prefix(len);
        }
      } else if (t.datatype == "FP32") {
        // A size that is not a whole number of values is named by the core
        // as a count mismatch, after the name and datatype checks.
        t.fp32.resize(data.size() / sizeof(float));
        // memcpy of nothing from an empty vector is UB (a null pointer; found
        // by kserve_http_infer_fuzzer).
        if (!t.fp32.empty()) std::memcpy(t.fp32.data(), data.data(), t.fp32.size() * sizeof(float));
      }
    } else if (has_contents) {
      auto* c = tensor->mutable_contents();
      t.has_data = true;
      if (t.datatype == "BYTES") {
        for (auto& b : *c->mutable_bytes_contents()) t.bytes.push_back(std::move(b));
      } else if (t.datatype == "FP32") {
        t.fp32.assign(c->fp32_contents().begin(), c->fp32_contents().end());
      }
    }
    out->inputs.push_back(std::move(t));
  }
  for (const auto& o : in->outputs()) {
    KServeRequestedOutput r;
    r.name = o.name();
    out->outputs.push_back(std::move(r));
  }
  return Status::Ok();
}

// The core's answer as the protobuf response: outputs as raw contents,
// as Triton answers.
void KServeResponseToGrpc(const KServeInferResponse& in, inference::ModelInferResponse* out) {
  out->set_model_name(in.model_name);
  out->set_model_version(in.model_version);
  out->set_id(in.id);
  for (const KServeOutputTensor& t : in.outputs) {
    auto* o = out->add_outputs();
    o->set_name(t.name);
    o->set_datatype(t.datatype);
    for (int64_t d : t.shape) o->add_shape(d);
    const std::string_view raw = t.raw();
    out->add_raw_output_contents(raw.data(), raw.size());
  }
}

}  // namespace yoloscope
