// The KServe v2 HTTP wire format of an inference request and response,
// including Triton's binary-tensor extension: a JSON header of
// `Inference-Header-Content-Length` bytes followed by the binary tensors in
// input (or output) order, each `parameters.binary_data_size` bytes long;
// BYTES elements are a 4-byte little-endian length then the bytes.
//
// JSON tensor `data` may be flat or nested (row-major), as the spec allows;
// BYTES elements in JSON are base64 strings (images are not text).
// Request `parameters` may be numbers, numeric strings or booleans; the
// request knobs go through ApplyParam (request_params.h).
//
// Stateless functions; thread-safe. No exception leaves them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "server/kserve_types.h"

namespace yoloscope {

// Parses an infer request body. `header_length` is the value of
// Inference-Header-Content-Length when present. InvalidArgument with a
// message for the client on any malformed input.
Status ParseKServeHttpInfer(std::string_view body, std::optional<std::string_view> header_length,
                            KServeInferRequest* request);

// Renders `response`: the JSON, then the binary outputs. Sets
// `*json_length` to the JSON's size (the Inference-Header-Content-Length
// to send when any output is binary).
void RenderKServeHttpInfer(const KServeInferResponse& response, std::string* body,
                           size_t* json_length);

// Standard base64 (RFC 4648), padding optional, no whitespace.
StatusOr<std::string> Base64Decode(std::string_view in);

}  // namespace yoloscope
