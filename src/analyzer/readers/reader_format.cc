#include "analyzer/readers/reader_format.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace yoloscope {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view TrimLine(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

bool IsMarkdownRule(std::string_view line) {
  line = TrimLine(line);
  if (line.empty() || line.find('-') == std::string_view::npos) return false;
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == '|' || c == '-' || c == ':' || c == ' '; }) &&
         line.find('|') != std::string_view::npos;
}

}  // namespace

std::string_view InputFormatName(InputFormat format) {
  switch (format) {
    case InputFormat::kAuto:
      return "auto";
    case InputFormat::kJsonl:
      return "jsonl";
    case InputFormat::kCsv:
      return "csv";
    case InputFormat::kTsv:
      return "tsv";
    case InputFormat::kMarkdown:
      return "markdown";
    case InputFormat::kNvidiaSmi:
      return "nvidia-smi";
    case InputFormat::kTriton:
      return "triton";
  }
  return "auto";
}

StatusOr<InputFormat> ParseInputFormat(std::string_view name) {
  const std::string n = Lower(name);
  if (n == "auto" || n.empty()) return InputFormat::kAuto;
  if (n == "jsonl" || n == "json" || n == "ndjson") return InputFormat::kJsonl;
  if (n == "csv" || n == "table") return InputFormat::kCsv;
  if (n == "tsv") return InputFormat::kTsv;
  if (n == "markdown" || n == "md") return InputFormat::kMarkdown;
  if (n == "nvidia-smi" || n == "nvidia_smi" || n == "smi") return InputFormat::kNvidiaSmi;
  if (n == "triton") return InputFormat::kTriton;
  return InvalidArgumentError("unknown input format '" + std::string(name) +
                              "' (expected auto, jsonl, csv, tsv, markdown, nvidia-smi or triton)");
}

InputFormat DetectInputFormat(std::string_view head, std::string_view path) {
  if (head.substr(0, 3) == "\xEF\xBB\xBF") head.remove_prefix(3);  // UTF-8 BOM
  // Skip blank lines.
  size_t pos = 0;
  while (pos < head.size() && std::isspace(static_cast<unsigned char>(head[pos]))) ++pos;
  if (pos == head.size()) {
    const std::string p = Lower(path);
    for (std::string_view ext : {".gz", ".zst", ".zstd"}) {
      if (EndsWith(p, ext))
        return DetectInputFormat({}, std::string_view(p).substr(0, p.size() - ext.size()));
    }
    if (EndsWith(p, ".csv")) return InputFormat::kCsv;
    if (EndsWith(p, ".tsv")) return InputFormat::kTsv;
    if (EndsWith(p, ".md")) return InputFormat::kMarkdown;
    return InputFormat::kJsonl;
  }
  if (head[pos] == '{') return InputFormat::kJsonl;
  if (head[pos] == '[') return InputFormat::kTriton;

  // The first non-blank lines.
  auto next_line = [&](size_t* p) {
    while (*p < head.size() && (head[*p] == '\n' || head[*p] == '\r')) ++*p;
    const size_t start = *p;
    const size_t nl = head.find('\n', start);
    const size_t end = nl == std::string_view::npos ? head.size() : nl;
    *p = end;
    return TrimLine(head.substr(start, end - start));
  };
  size_t p = pos;
  const std::string_view first = next_line(&p);
  if (!first.empty() && first.front() == '|') return InputFormat::kMarkdown;
  // A Markdown document may have a title or prose before its table.
  std::string_view previous = first;
  for (int i = 0; i < 50 && p < head.size(); ++i) {
    const std::string_view line = next_line(&p);
    if (IsMarkdownRule(line) && previous.find('|') != std::string_view::npos) {
      return InputFormat::kMarkdown;
    }
    previous = line;
  }
  const std::string lower = Lower(first);
  for (std::string_view smi : {"utilization.gpu", "memory.used", "memory.total", "temperature.gpu",
                               "power.draw", "clocks.sm", "clocks.current.sm", "pci.bus_id"}) {
    if (lower.find(smi) != std::string::npos) return InputFormat::kNvidiaSmi;
  }
  const auto tabs = std::count(first.begin(), first.end(), '\t');
  const auto commas = std::count(first.begin(), first.end(), ',');
  if (tabs > 0 && tabs >= commas) return InputFormat::kTsv;
  return InputFormat::kCsv;
}

}  // namespace yoloscope
