// Shared by the per-rule tests in tests/analyzer/rules/: expectations on a
// report's findings, and a tiny three-row table log.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "analyzer/synthetic_log.h"

namespace yoloscope::rules_test {

using testing::FindKind;
using testing::kT0;
using testing::SyntheticLog;
using testing::TestRecord;

inline bool Contains(const std::vector<std::string>& v, std::string_view needle) {
  return std::any_of(v.begin(), v.end(),
                     [&](const std::string& s) { return s.find(needle) != std::string::npos; });
}

inline bool OverlapsSeconds(const Finding& f, double from_s, double to_s) {
  for (const TimeRange& r : f.time_ranges) {
    const double a = static_cast<double>(r.start_us - kT0) / 1e6,
                 b = static_cast<double>(r.end_us - kT0) / 1e6;
    if (a < to_s && b > from_s) return true;
  }
  return false;
}

// Asserts a finding of `kind` with at least `min` severity and returns it.
inline const Finding& Expect(const AnalysisReport& r, std::string_view kind,
                             FindingSeverity min = FindingSeverity::kWarning) {
  const Finding* f = FindKind(r, kind);
  EXPECT_NE(f, nullptr) << "no " << kind << " finding; report:\n" << testing::Describe(r);
  static const Finding kNone;
  if (f == nullptr) return kNone;
  EXPECT_GE(f->severity, min) << testing::Describe(r);
  EXPECT_FALSE(f->evidence.empty());
  EXPECT_FALSE(f->recommendation.empty());
  return *f;
}

inline void ExpectNoWarning(const AnalysisReport& r, std::string_view kind) {
  const Finding* f = FindKind(r, kind);
  if (f != nullptr) EXPECT_EQ(f->severity, FindingSeverity::kInfo) << testing::Describe(r);
}

inline void ExpectNone(const AnalysisReport& r, std::string_view kind) {
  EXPECT_EQ(FindKind(r, kind), nullptr) << testing::Describe(r);
}

// A three-row table: (batch_size, inference_ms, mem_used_mb, oom) per row.
inline SyntheticLog ThreeRows(const std::vector<std::tuple<int64_t, double, double, bool>>& rows) {
  SyntheticLog log;
  int i = 0;
  for (const auto& [batch, inference, mem, oom] : rows) {
    TestRecord& q = log.Add(RecordKind::kRequest, kT0 + i * 1'000'000);
    q.request_id = "r" + std::to_string(++i);
    q.source = "table.csv";
    q.r.batch_size = batch;
    if (inference > 0) q.r.inference_ms = inference;
    q.r.mem_used_mb = mem;
    q.r.mem_total_mb = 4096;
    if (oom) q.r.oom = true;
    q.device.clear();
    q.status.clear();
  }
  return log;
}

}  // namespace yoloscope::rules_test

// Every name the per-rule tests use, for one `using namespace
// rules_test::names;` in each test file instead of the same sixteen lines.
namespace yoloscope::rules_test::names {
using rules_test::Contains;
using rules_test::Expect;
using rules_test::ExpectNone;
using rules_test::ExpectNoWarning;
using rules_test::OverlapsSeconds;
using rules_test::ThreeRows;
using testing::FindKind;
using testing::HasWarningOrWorse;
using testing::HealthyLog;
using testing::HealthyOptions;
using testing::kT0;
using testing::LogNormal;
using testing::RequestShape;
using testing::SyntheticLog;
using testing::TestRecord;
using testing::Uniform;
}  // namespace yoloscope::rules_test::names
