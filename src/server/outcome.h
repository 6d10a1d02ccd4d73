// Outcome: how one inference request ended, in the pipeline's own words.
// The pipeline (InferenceService) only ever says an Outcome; the one table
// in outcome.cc maps each to the HTTP status, the gRPC status code and the
// request log's `status` that every front end uses, so the same ending gets
// the same code everywhere (no HTTP codes inside the pipeline, no matching on
// message text).
//
// Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace yoloscope {

enum class Outcome : uint8_t {
  kOk = 0,
  kBadRequest,            // malformed request or parameter
  kUnsupportedMediaType,  // a recognised image format this build cannot decode (GIF, ...)
  kBadImage,              // truncated or corrupt image data
  kTooManyPixels,         // over pipeline.max_pixels, refused from the header
  kNotFound,              // unknown model or route
  kQueueFull,             // admission refused: the queue is at max_queue_size
  kUnavailable,           // shutting down or not ready
  kTimeout,               // the request's deadline passed before it was answered
  kOutOfMemory,           // the device ran out of memory even after recovery
  kInferenceError,        // the backend failed
  kPostprocessError,      // decoding the output failed
  kUnimplemented,         // asked for something this build does not do
  kInternal,              // a bug
};

struct OutcomeInfo {
  Outcome outcome;
  int http_status;              // e.g. 503
  int grpc_code;                // google.rpc.Code / grpc::StatusCode value, e.g. 14 (UNAVAILABLE)
  std::string_view log_status;  // the request record's `status`, e.g. "queue_full"
};

// The row for `outcome` (every enumerator has one).
const OutcomeInfo& DescribeOutcome(Outcome outcome);

// The outcome a library Status stands for, from its code alone:
// InvalidArgument -> kBadRequest, DataLoss -> kBadImage, OutOfRange ->
// kTooManyPixels, NotFound, ResourceExhausted -> kQueueFull,
// DeadlineExceeded -> kTimeout, Unavailable, Unimplemented, else kInternal.
Outcome OutcomeForStatus(const Status& status);

// The same for the image decoder, whose Unimplemented means "a format it
// recognises but cannot decode" (-> kUnsupportedMediaType).
Outcome OutcomeForDecodeStatus(const Status& status);

}  // namespace yoloscope
