#include "lab/served_check.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/time_format.h"

namespace yoloscope {
namespace {

double NearestRank(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

bool Near(double a, double b, double rel, double abs_tol) {
  return std::fabs(a - b) <= std::max(rel * std::fabs(b), abs_tol);
}

}  // namespace

StatusOr<ServedTruth> ReadServedTruth(const std::string& log_path) {
  std::ifstream in(log_path);
  if (!in) return NotFoundError("cannot open " + log_path);
  ServedTruth t;
  std::vector<double> totals;
  int64_t first = std::numeric_limits<int64_t>::max(), last = std::numeric_limits<int64_t>::min();
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) continue;
    if (j.contains("event") && j["event"] != "request") continue;
    ++t.requests;
    if (j.contains("ts") && j["ts"].is_string()) {
      auto ts = ParseTimestampUs(j["ts"].get<std::string>());
      if (ts.ok()) {
        first = std::min(first, *ts);
        last = std::max(last, *ts);
      }
    }
    const bool ok = !j.contains("status") || j["status"].is_null() || j["status"] == "ok";
    if (!ok) continue;
    ++t.served;
    if (j.contains("total_ms") && j["total_ms"].is_number()) {
      totals.push_back(j["total_ms"].get<double>());
    }
  }
  if (first < last) t.span_s = static_cast<double>(last - first) / 1e6;
  if (t.span_s > 0) t.served_rps = static_cast<double>(t.served) / t.span_s;
  t.served_p50_ms = NearestRank(totals, 0.5);
  t.served_p99_ms = NearestRank(totals, 0.99);
  return t;
}

std::vector<std::string> CompareServedNumbers(const ServedTruth& truth,
                                              const AnalysisReport& report) {
  std::vector<std::string> out;
  const Summary& s = report.summary;
  if (s.served != truth.served) {
    out.push_back(fmt::format("served {} in the analysis, {} in the records", s.served,
                              truth.served));
  }
  const StageSummary* total = nullptr;
  for (const StageSummary& st : report.stages) {
    if (st.stage == "total") total = &st;
  }
  if (truth.served > 0) {
    if (total == nullptr) {
      out.push_back("no total stage in the analysis");
    } else {
      if (!Near(total->p50_ms, truth.served_p50_ms, 0.02, 0.01)) {
        out.push_back(fmt::format("served total p50 {:.3f} ms in the analysis, {:.3f} ms in the "
                                  "records",
                                  total->p50_ms, truth.served_p50_ms));
      }
      if (!Near(total->p99_ms, truth.served_p99_ms, 0.02, 0.01)) {
        out.push_back(fmt::format("served total p99 {:.3f} ms in the analysis, {:.3f} ms in the "
                                  "records",
                                  total->p99_ms, truth.served_p99_ms));
      }
    }
  }
  if (truth.span_s > 0) {
    if (!s.served_rps || !Near(*s.served_rps, truth.served_rps, 0.01, 0.01)) {
      out.push_back(fmt::format("served {:.2f} rps in the analysis, {:.2f} rps in the records",
                                s.served_rps.value_or(-1), truth.served_rps));
    }
  }
  return out;
}

}  // namespace yoloscope
