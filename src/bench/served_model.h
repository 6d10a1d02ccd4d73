// ServedModelName: asks a server which model it serves, so `bench
// --protocol kserve` calls the model that is there instead of a guessed
// name (which once sent 27k requests to a 404).
//
// Asks, in order:
//   1. POST /v2/repository/index (Triton's repository extension): the first
//      model whose state is READY (or the first model, when none says);
//   2. GET /v1/stats (yoloscope): its "model".
// Blocking; one short-lived connection per question. Thread-safe.
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"

namespace yoloscope {

// `url` is http://HOST[:PORT]. NotFound, naming what was tried, when neither
// answer names a model; Unavailable when the server cannot be reached.
StatusOr<std::string> ServedModelName(const std::string& url,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace yoloscope
