// The scenario files themselves (no server): every file in scenarios/ loads,
// is named after its file, and together they prove every diagnosis rule --
// each finding kind is expected by at least one scenario, and one scenario
// asserts a healthy run. `lab_scenarios` runs them for real.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "analyzer/analysis_report.h"
#include "lab/scenario.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;

std::vector<Scenario> LoadAll() {
  std::vector<Scenario> out;
  const fs::path dir = fs::path(YOLOSCOPE_SOURCE_DIR) / "scenarios";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& p : files) {
    auto s = LoadScenarioFile(p.string(), {{"MODELS", "/models"}, {"PHOTOS", "/photos"}});
    EXPECT_TRUE(s.ok()) << p << ": " << s.status().ToString();
    if (!s.ok()) continue;
    EXPECT_EQ(s->name, p.stem().string()) << p;
    out.push_back(std::move(s).value());
  }
  return out;
}

TEST(LabScenariosTest, EveryRuleHasAScenario) {
  const std::vector<Scenario> all = LoadAll();
  ASSERT_FALSE(all.empty());
  std::set<std::string> expected;
  int healthy = 0;
  for (const Scenario& s : all) {
    expected.insert(s.expect_kinds.begin(), s.expect_kinds.end());
    healthy += s.healthy;
    EXPECT_TRUE(s.healthy || !s.expect_kinds.empty()) << s.name << " expects nothing";
  }
  EXPECT_GE(healthy, 1);
  // Kinds the lab cannot produce (it drives HTTP load only), with the test
  // that proves each on real serve runs instead.
  const std::map<std::string_view, std::string_view> proven_elsewhere = {
      {"stream_falling_behind", "tests/server/stream_behind_test.cc (real ffmpeg streams)"},
  };
  for (std::string_view kind : kFindingKinds) {
    if (proven_elsewhere.count(kind)) {
      EXPECT_FALSE(expected.count(std::string(kind)))
          << kind << " now has a scenario: drop it from proven_elsewhere";
      continue;
    }
    EXPECT_TRUE(expected.count(std::string(kind))) << "no scenario proves " << kind;
  }
  for (const std::string& k : expected) {
    EXPECT_TRUE(std::find(std::begin(kFindingKinds), std::end(kFindingKinds), k) !=
                std::end(kFindingKinds))
        << "unknown kind " << k;
  }
}

TEST(LabScenariosTest, NamesAreUniqueAndLoadStaysShort) {
  std::map<std::string, int> names;
  for (const Scenario& s : LoadAll()) {
    ++names[s.name];
    double seconds = 0;
    for (const LoadPhase& p : s.phases) seconds += p.duration_s;
    // Each scenario must finish in <= 30 s including server start and analysis.
    EXPECT_LE(seconds, 20) << s.name;
  }
  for (const auto& [name, n] : names) EXPECT_EQ(n, 1) << name;
}

}  // namespace
}  // namespace yoloscope
