// InputFormat: the log formats the readers accept, their names for
// `--input-format`, and content sniffing for `auto`.
//
// Pure functions; thread-safe.
#pragma once

#include <string_view>

#include "common/status.h"

namespace yoloscope {

enum class InputFormat {
  kAuto,
  kJsonl,      // yoloscope.v1 JSON Lines (or any JSON Lines using its field names)
  kCsv,        // RFC 4180 CSV with a header row
  kTsv,        // tab-separated with a header row
  kMarkdown,   // Markdown / pipe table
  kNvidiaSmi,  // nvidia-smi --query-gpu=... --format=csv
  kTriton,     // Triton Inference Server trace file (JSON array)
};

// "auto", "jsonl", "csv", "tsv", "markdown", "nvidia-smi", "triton".
std::string_view InputFormatName(InputFormat format);

// Parses a --input-format value (also accepts "json", "ndjson", "md",
// "table" = csv, "nvidia_smi", "smi"); InvalidArgument otherwise.
StatusOr<InputFormat> ParseInputFormat(std::string_view name);

// Guesses the format from the first bytes of the (decompressed) content,
// falling back to the file extension when the content says nothing:
//   '{' first -> jsonl; '[' first -> triton; a first table line starting
//   with '|' (or a |---| rule on the second line) -> markdown; a header naming
//   nvidia-smi query fields (utilization.gpu, memory.used, ...) ->
//   nvidia-smi; a header with more tabs than commas -> tsv; else csv.
InputFormat DetectInputFormat(std::string_view head, std::string_view path);

}  // namespace yoloscope
