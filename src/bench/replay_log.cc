#include "bench/replay_log.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "common/time_format.h"

namespace yoloscope {
namespace {

// The `ts` of a record: RFC 3339 text or a bare epoch number.
std::optional<int64_t> TimestampUs(const nlohmann::json& ts) {
  if (ts.is_string()) {
    auto us = ParseTimestampUs(ts.get_ref<const std::string&>());
    if (us.ok()) return *us;
    return std::nullopt;
  }
  if (ts.is_number()) {
    auto us = ParseTimestampUs(ts.dump());
    if (us.ok()) return *us;
  }
  return std::nullopt;
}

int IntField(const nlohmann::json& record, const char* key) {
  auto it = record.find(key);
  if (it == record.end() || !it->is_number()) return 0;
  double v = it->get<double>();
  return v > 0 && v < 1e6 ? static_cast<int>(v) : 0;
}

}  // namespace

StatusOr<ReplayLog> ReplayLog::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("replay log not found: " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto log = Parse(text);
  if (!log.ok()) return log.status().WithContext(path);
  return log;
}

StatusOr<ReplayLog> ReplayLog::Parse(std::string_view text) {
  ReplayLog log;
  struct Row {
    int64_t ts_us;
    int w, h;
  };
  std::vector<Row> rows;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      ++log.skipped_lines_;
      continue;
    }
    auto event = j.find("event");
    if (event != j.end() &&
        !(event->is_string() && event->get_ref<const std::string&>() == "request")) {
      ++log.skipped_lines_;
      continue;
    }
    auto ts = j.find("ts");
    std::optional<int64_t> ts_us = ts == j.end() ? std::nullopt : TimestampUs(*ts);
    if (!ts_us) {
      ++log.skipped_lines_;
      continue;
    }
    rows.push_back({*ts_us, IntField(j, "input_w"), IntField(j, "input_h")});
  }
  if (rows.empty()) return InvalidArgumentError("no request records with a readable ts");
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.ts_us < b.ts_us; });
  log.arrivals_.reserve(rows.size());
  for (const Row& r : rows) {
    Arrival a;
    a.offset_ns = (r.ts_us - rows.front().ts_us) * 1000;
    if (r.w > 0 && r.h > 0) {
      a.image_w = r.w;
      a.image_h = r.h;
    }
    log.arrivals_.push_back(a);
  }
  return log;
}

}  // namespace yoloscope
