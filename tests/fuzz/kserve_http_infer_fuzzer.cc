// Fuzzes the KServe v2 HTTP infer body (src/server/kserve_http_codec): the
// JSON header, the binary-tensor extension (first line of the input = the
// Inference-Header-Content-Length value, or "-" for none), base64 BYTES,
// nested FP32 data, parameters and requested outputs.
// Properties: no exception escapes; a parsed request never holds more
// bytes of BYTES data or more FP32 values than the body could carry; a
// rendered response's JSON length is within the body.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "fuzz/fuzz_input.h"
#include "server/kserve_http_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace yoloscope;
  fuzz::FuzzInput in(data, size);
  const std::string_view length = in.TakeLine();
  const std::string_view body = in.rest();
  KServeInferRequest request;
  Status st = ParseKServeHttpInfer(
      body, length == "-" ? std::nullopt : std::optional<std::string_view>(length), &request);
  if (!st.ok()) {
    fuzz::Check(!st.message().empty(), "an error without a message");
    return 0;
  }
  size_t bytes = 0, floats = 0;
  for (const KServeInputTensor& t : request.inputs) {
    for (const std::string& e : t.bytes) bytes += e.size();
    floats += t.fp32.size();
  }
  fuzz::Check(bytes <= body.size(), "more BYTES data than the body");
  // A JSON number takes at least one character; a binary float four bytes.
  fuzz::Check(floats <= body.size(), "more FP32 values than the body could carry");
  // Render a response with the requested outputs (as the core would).
  KServeInferResponse response;
  response.model_name = request.model_name;
  response.id = request.id;
  for (const KServeRequestedOutput& o : request.outputs) {
    KServeOutputTensor t;
    t.name = o.name;
    t.datatype = "FP32";
    t.shape = {1, 1, 6};
    t.fp32_data = {1, 2, 3, 4, 0.5f, 7};
    t.binary = o.binary;
    response.outputs.push_back(std::move(t));
  }
  std::string out;
  size_t json_length = 0;
  RenderKServeHttpInfer(response, &out, &json_length);
  fuzz::Check(json_length <= out.size(), "JSON header longer than the response");
  return 0;
}
