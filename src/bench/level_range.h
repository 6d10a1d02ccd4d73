// Load-level lists for `yoloscope bench`: concurrency levels, request rates
// and batch sizes, written as
//   "8"            one value
//   "1,2,4,8"      a list (kept in the given order)
//   "1:64:x2"      start:end:xF, multiplying by F (> 1) while <= end
//   "100:500:+100" start:end:+S or start:end:S, adding S (> 0) while <= end
//   "1:8"          start:end, step +1
// Values must be > 0. Pure functions; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "common/status.h"

namespace yoloscope {

// InvalidArgument naming the problem for a malformed spec, a value <= 0,
// end < start, or more than 10000 values.
StatusOr<std::vector<double>> ParseLevelRange(std::string_view spec);

// The same, requiring whole numbers (concurrency, batch sizes).
StatusOr<std::vector<int>> ParseIntLevelRange(std::string_view spec);

}  // namespace yoloscope
