#include "server/kserve_http_codec.h"

#include <array>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>

#include "reqlog/json_line_serializer.h"

namespace yoloscope {
namespace {

using Json = nlohmann::json;

// Appends the scalars of a flat or nested JSON array, row-major.
template <typename Fn>
Status Flatten(const Json& data, int depth, Fn&& add) {
  if (depth > 8) return InvalidArgumentError("tensor 'data' is nested too deeply");
  if (!data.is_array()) return add(data);
  for (const Json& e : data) YS_RETURN_IF_ERROR(Flatten(e, depth + 1, add));
  return Status::Ok();
}

StatusOr<int64_t> BinarySize(const Json& parameters, const std::string& what) {
  if (!parameters.is_object() || !parameters.contains("binary_data_size")) return int64_t{-1};
  const Json& v = parameters["binary_data_size"];
  if (!v.is_number_integer() || v.get<int64_t>() < 0) {
    return InvalidArgumentError(what + ": parameters.binary_data_size must be a whole number >= 0");
  }
  return v.get<int64_t>();
}

// The text ApplyParam checks: a string as is, a number as JSON writes it.
std::string ParamText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  return std::string("<") + v.type_name() + ">";
}

}  // namespace

StatusOr<std::string> Base64Decode(std::string_view in) {
  static const auto kTable = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(a[i])] = static_cast<int8_t>(i);
    return t;
  }();
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int8_t v = kTable[static_cast<uint8_t>(c)];
    if (v < 0) return InvalidArgumentError("BYTES element is not base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

Status ParseKServeHttpInfer(std::string_view body, std::optional<std::string_view> header_length,
                            KServeInferRequest* request) {
  std::string_view json_text = body, binary;
  if (header_length) {
    size_t n = 0;
    auto [p, ec] =
        std::from_chars(header_length->data(), header_length->data() + header_length->size(), n);
    if (ec != std::errc() || p != header_length->data() + header_length->size() ||
        n > body.size()) {
      return InvalidArgumentError(
          "Inference-Header-Content-Length is not a length within the body");
    }
    json_text = body.substr(0, n);
    binary = body.substr(n);
  }
  Json j = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgumentError("request body is not a JSON object");
  }
  try {
    if (j.contains("id")) {
      if (!j["id"].is_string()) return InvalidArgumentError("'id' must be a string");
      request->id = j["id"].get<std::string>();
    }
    if (j.contains("parameters")) {
      const Json& p = j["parameters"];
      if (!p.is_object()) return InvalidArgumentError("'parameters' must be an object");
      for (auto it = p.begin(); it != p.end(); ++it) {
        if (it.key() == "binary_data_output") {
          if (!it.value().is_boolean()) {
            return InvalidArgumentError("parameter 'binary_data_output' must be true or false");
          }
          request->binary_outputs = it.value().get<bool>();
        } else if (IsRequestParam(it.key())) {
          YS_RETURN_IF_ERROR(ApplyParam(it.key(), "KServe parameter '" + it.key() + "'",
                                        ParamText(it.value()), &request->params));
        }
      }
    }
    if (!j.contains("inputs") || !j["inputs"].is_array()) {
      return InvalidArgumentError("'inputs' must be an array of input tensors");
    }
    std::string_view rest = binary;  // binary tensors, consumed in input order
    for (const Json& in : j["inputs"]) {
      if (!in.is_object()) return InvalidArgumentError("each input must be an object");
      KServeInputTensor t;
      if (!in.contains("name") || !in["name"].is_string()) {
        return InvalidArgumentError("each input needs a string 'name'");
      }
      t.name = in["name"].get<std::string>();
      const std::string what = "input '" + t.name + "'";
      if (!in.contains("datatype") || !in["datatype"].is_string()) {
        return InvalidArgumentError(what + " needs a string 'datatype'");
      }
      t.datatype = in["datatype"].get<std::string>();
      if (!in.contains("shape") || !in["shape"].is_array()) {
        return InvalidArgumentError(what + " needs a 'shape' array");
      }
      for (const Json& d : in["shape"]) {
        if (!d.is_number_integer()) {
          return InvalidArgumentError(what + ": 'shape' must hold whole numbers");
        }
        t.shape.push_back(d.get<int64_t>());
      }
      auto size = BinarySize(in.contains("parameters") ? in["parameters"] : Json(), what);
      if (!size.ok()) return size.status();
      if (*size >= 0) {
        if (static_cast<size_t>(*size) > rest.size()) {
          return InvalidArgumentError(what + ": binary_data_size " + std::to_string(*size) +
                                      " exceeds the " + std::to_string(rest.size()) +
                                      " bytes of binary data left in the body");
        }
        std::string_view data = rest.substr(0, static_cast<size_t>(*size));
        rest.remove_prefix(static_cast<size_t>(*size));
        t.has_data = true;
        if (t.datatype == "BYTES") {
          while (!data.empty()) {
            if (data.size() < 4) return InvalidArgumentError(what + ": truncated BYTES element");
            uint32_t len;
            std::memcpy(&len, data.data(), 4);  // little-endian on x86/ARM
            data.remove_prefix(4);
            if (len > data.size()) {
              return InvalidArgumentError(what + ": truncated BYTES element");
            }
            t.bytes.emplace_back(data.substr(0, len));
            data.remove_prefix(len);
          }
        } else if (t.datatype == "FP32") {
          // A partial value is named by the core as a count mismatch, after
          // the name and datatype checks.
          t.fp32.resize(data.size() / sizeof(float));
          // memcpy of nothing from an empty vector is UB (a null pointer; found
          // by kserve_http_infer_fuzzer).
          if (!t.fp32.empty())
            std::memcpy(t.fp32.data(), data.data(), t.fp32.size() * sizeof(float));
        }
        // Other datatypes: carried as no data; the core names the mismatch.
      } else if (in.contains("data")) {
        t.has_data = true;
        const Json& data = in["data"];
        if (t.datatype == "BYTES") {
          YS_RETURN_IF_ERROR(Flatten(data, 0, [&](const Json& e) -> Status {
            if (!e.is_string()) {
              return InvalidArgumentError(what + ": BYTES data elements must be base64 strings");
            }
            auto decoded = Base64Decode(e.get_ref<const std::string&>());
            if (!decoded.ok())
              return InvalidArgumentError(what + ": " + decoded.status().message());
            t.bytes.push_back(std::move(decoded).value());
            return Status::Ok();
          }));
        } else if (t.datatype == "FP32") {
          YS_RETURN_IF_ERROR(Flatten(data, 0, [&](const Json& e) -> Status {
            if (!e.is_number()) {
              return InvalidArgumentError(what + ": FP32 data elements must be numbers");
            }
            t.fp32.push_back(e.get<float>());
            return Status::Ok();
          }));
        }
      }
      request->inputs.push_back(std::move(t));
    }
    if (!rest.empty()) {
      return InvalidArgumentError(std::to_string(rest.size()) +
                                  " bytes of binary data follow the inputs that no input's "
                                  "binary_data_size accounts for");
    }
    if (j.contains("outputs")) {
      if (!j["outputs"].is_array()) return InvalidArgumentError("'outputs' must be an array");
      for (const Json& o : j["outputs"]) {
        if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) {
          return InvalidArgumentError("each requested output needs a string 'name'");
        }
        KServeRequestedOutput out;
        out.name = o["name"].get<std::string>();
        out.binary = request->binary_outputs;
        if (o.contains("parameters")) {
          const Json& p = o["parameters"];
          if (!p.is_object()) {
            return InvalidArgumentError("output '" + out.name +
                                        "': 'parameters' must be an object");
          }
          if (p.contains("binary_data")) {
            if (!p["binary_data"].is_boolean()) {
              return InvalidArgumentError("output '" + out.name +
                                          "': parameter 'binary_data' must be true or false");
            }
            out.binary = p["binary_data"].get<bool>();
          }
          if (p.contains("classification")) {
            return InvalidArgumentError("output '" + out.name +
                                        "': the classification extension is not supported by "
                                        "a detection model");
          }
        }
        request->outputs.push_back(std::move(out));
      }
    }
  } catch (const Json::exception& e) {
    // Not expected (every access above is checked); never leaks as a raw
    // library message.
    return InvalidArgumentError("malformed KServe request");
  }
  return Status::Ok();
}

void RenderKServeHttpInfer(const KServeInferResponse& response, std::string* body,
                           size_t* json_length) {
  std::string& out = *body;
  out.clear();
  out += "{\"model_name\":";
  AppendJsonString(response.model_name, &out);
  out += ",\"model_version\":";
  AppendJsonString(response.model_version, &out);
  if (!response.id.empty()) {
    out += ",\"id\":";
    AppendJsonString(response.id, &out);
  }
  out += ",\"outputs\":[";
  for (size_t i = 0; i < response.outputs.size(); ++i) {
    const KServeOutputTensor& t = response.outputs[i];
    if (i) out += ',';
    out += "{\"name\":";
    AppendJsonString(t.name, &out);
    out += ",\"datatype\":\"" + t.datatype + "\",\"shape\":[";
    for (size_t d = 0; d < t.shape.size(); ++d) {
      if (d) out += ',';
      out += std::to_string(t.shape[d]);
    }
    out += ']';
    if (t.binary) {
      out += ",\"parameters\":{\"binary_data_size\":" + std::to_string(t.raw().size()) + "}}";
      continue;
    }
    out += ",\"data\":[";
    if (t.datatype == "INT32") {
      for (size_t k = 0; k < t.int32_data.size(); ++k) {
        if (k) out += ',';
        out += std::to_string(t.int32_data[k]);
      }
    } else {
      for (size_t k = 0; k < t.fp32_data.size(); ++k) {
        if (k) out += ',';
        AppendJsonNumber(t.fp32_data[k], 4, &out);
      }
    }
    out += "]}";
  }
  out += "]}";
  *json_length = out.size();
  for (const KServeOutputTensor& t : response.outputs) {
    if (t.binary) out.append(t.raw());
  }
}

}  // namespace yoloscope
