// The KServe v2 gRPC messages (proto/inference.proto) in InferenceCore's
// terms and back; the gRPC twin of kserve_http_codec.h.
//
// Stateless functions; thread-safe. Built only with gRPC.
#pragma once

#include "common/status.h"
#include "proto/inference.pb.h"
#include "server/kserve_types.h"

namespace yoloscope {

// The request in the core's terms. The tensor data is moved out of `in`.
// Parameters go through ApplyParam (any InferParameter type, as text).
// InvalidArgument on inconsistent input (raw_input_contents for some inputs
// only, raw and typed data on one input, truncated BYTES elements, a bad
// parameter).
Status KServeGrpcToRequest(inference::ModelInferRequest* in, KServeInferRequest* out);

// The core's answer as the protobuf response, outputs as raw contents (as
// Triton answers).
void KServeResponseToGrpc(const KServeInferResponse& in, inference::ModelInferResponse* out);

}  // namespace yoloscope
