// Fuzzes a KServe v2 gRPC ModelInferRequest off the wire: protobuf parsing
// of arbitrary bytes (what gRPC does before the front end sees a call),
// then KServeGrpcToRequest (src/server/kserve_grpc_codec): raw and typed
// contents, length-prefixed BYTES, every InferParameter type.
// Properties: no crash; the converted request never holds more BYTES data
// than the message carried.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "server/kserve_grpc_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace yoloscope;
  inference::ModelInferRequest message;
  if (!message.ParseFromArray(data, static_cast<int>(size))) return 0;
  KServeInferRequest request;
  Status st = KServeGrpcToRequest(&message, &request);
  if (!st.ok()) {
    fuzz::Check(!st.message().empty(), "an error without a message");
    return 0;
  }
  size_t bytes = 0;
  for (const KServeInputTensor& t : request.inputs) {
    for (const std::string& e : t.bytes) bytes += e.size();
  }
  fuzz::Check(bytes <= size, "more BYTES data than the message");
  return 0;
}
