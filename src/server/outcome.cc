#include "server/outcome.h"

#include <array>

namespace yoloscope {
namespace {

// gRPC status codes (grpc::StatusCode / google.rpc.Code).
constexpr int kGrpcOk = 0;
constexpr int kGrpcInvalidArgument = 3;
constexpr int kGrpcDeadlineExceeded = 4;
constexpr int kGrpcNotFound = 5;
constexpr int kGrpcResourceExhausted = 8;
constexpr int kGrpcUnimplemented = 12;
constexpr int kGrpcInternal = 13;
constexpr int kGrpcUnavailable = 14;

// The one table. HTTP follows Triton where Triton has a case (400 for bad
// input, 503 for an unavailable server, 504 past a deadline) and keeps the
// finer codes a client can act on (415, 422, 507). gRPC follows Triton:
// bad input INVALID_ARGUMENT, a full queue UNAVAILABLE (retry later), an
// OOM RESOURCE_EXHAUSTED.
constexpr std::array<OutcomeInfo, 14> kTable = {{
    {Outcome::kOk, 200, kGrpcOk, "ok"},
    {Outcome::kBadRequest, 400, kGrpcInvalidArgument, "bad_request"},
    {Outcome::kUnsupportedMediaType, 415, kGrpcInvalidArgument, "unsupported_media_type"},
    {Outcome::kBadImage, 422, kGrpcInvalidArgument, "bad_image"},
    {Outcome::kTooManyPixels, 422, kGrpcInvalidArgument, "too_many_pixels"},
    {Outcome::kNotFound, 404, kGrpcNotFound, "not_found"},
    {Outcome::kQueueFull, 503, kGrpcUnavailable, "queue_full"},
    {Outcome::kUnavailable, 503, kGrpcUnavailable, "unavailable"},
    {Outcome::kTimeout, 504, kGrpcDeadlineExceeded, "timeout"},
    {Outcome::kOutOfMemory, 507, kGrpcResourceExhausted, "oom"},
    {Outcome::kInferenceError, 500, kGrpcInternal, "inference_error"},
    {Outcome::kPostprocessError, 500, kGrpcInternal, "postprocess_error"},
    {Outcome::kUnimplemented, 501, kGrpcUnimplemented, "unimplemented"},
    {Outcome::kInternal, 500, kGrpcInternal, "internal"},
}};

constexpr bool TableIsInEnumOrder() {
  for (size_t i = 0; i < kTable.size(); ++i) {
    if (static_cast<size_t>(kTable[i].outcome) != i) return false;
  }
  return true;
}
static_assert(TableIsInEnumOrder(), "kTable rows must follow the Outcome enumerators");

}  // namespace

const OutcomeInfo& DescribeOutcome(Outcome outcome) {
  const auto i = static_cast<size_t>(outcome);
  return i < kTable.size() ? kTable[i] : kTable[static_cast<size_t>(Outcome::kInternal)];
}

Outcome OutcomeForStatus(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return Outcome::kOk;
    case StatusCode::kInvalidArgument:
      return Outcome::kBadRequest;
    case StatusCode::kDataLoss:
      return Outcome::kBadImage;
    case StatusCode::kOutOfRange:
      return Outcome::kTooManyPixels;
    case StatusCode::kNotFound:
      return Outcome::kNotFound;
    case StatusCode::kResourceExhausted:
      return Outcome::kQueueFull;
    case StatusCode::kDeadlineExceeded:
      return Outcome::kTimeout;
    case StatusCode::kUnavailable:
      return Outcome::kUnavailable;
    case StatusCode::kUnimplemented:
      return Outcome::kUnimplemented;
    default:
      return Outcome::kInternal;
  }
}

Outcome OutcomeForDecodeStatus(const Status& status) {
  if (status.code() == StatusCode::kUnimplemented) return Outcome::kUnsupportedMediaType;
  return OutcomeForStatus(status);
}

}  // namespace yoloscope
