// TritonTraceParser: reads a Triton Inference Server trace file (the JSON
// array written by `--trace-config triton,file=...` at level TIMESTAMPS)
// into one `request` record per traced request.
//
// Triton writes either one object per trace ({"id", "model_name",
// "model_version", "timestamps": [{"name", "ns"}, ...]}, older releases) or
// several objects per trace id (one with model_name / request_id /
// parent_id, then one per timestamp); both are merged by "id". Timestamp
// names are matched case-insensitively, "request handler start" style names
// of old releases included. Stages (ms):
//   queue_ms      = COMPUTE_START        - QUEUE_START
//   h2d_ms        = COMPUTE_INPUT_END    - COMPUTE_START   (input copy, incl. to GPU)
//   inference_ms  = COMPUTE_OUTPUT_START - COMPUTE_INPUT_END
//   d2h_ms        = COMPUTE_END          - COMPUTE_OUTPUT_START (output copy)
//   total_ms      = REQUEST_END          - REQUEST_START
// ts = REQUEST_START (else the earliest timestamp). Triton's "ns" values are
// usually a monotonic clock, not wall time: when a value is before the year
// 2000 as Unix time, the record has ts_monotonic = true. Triton traces carry
// no status, batch or GPU fields: those stay unknown; backend is "triton";
// request_id is Triton's "request_id" when set, else the trace id. Ensemble
// children (with "parent_id") are delivered as their own requests. `line` is
// the line of the trace's first object in the file.
//
// Lifetime: string_views in the records are valid during OnRecord only.
// Thread-safety: not thread-safe; one parser per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "reqlog/record_sink.h"

namespace yoloscope {

class TritonTraceParser {
 public:
  static constexpr size_t kPadding = 64;  // readable bytes needed after the content.

  struct Result {
    int64_t records = 0;       // requests delivered
    int64_t malformed = 0;     // entries that could not be read
    int64_t field_errors = 0;  // traces with a negative or missing stage span
    std::vector<std::pair<int64_t, std::string>> problems;  // (line, why), first few
  };

  static StatusOr<std::unique_ptr<TritonTraceParser>> Create();
  ~TritonTraceParser();

  // Parses the whole trace file `content`; `capacity` >= content.size() +
  // kPadding bytes must be readable from content.data(). Records go to
  // `sink` with record.source = `source`. Never fails on bad content (it is
  // counted in the result); a file that is not a JSON array at all gives one
  // malformed entry.
  Result Parse(std::string_view content, size_t capacity, std::string_view source,
               RecordSink* sink);

 private:
  struct Impl;
  explicit TritonTraceParser(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace yoloscope
