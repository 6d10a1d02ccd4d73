// `analyze` shows the alert timeline of a log: a real recording of the
// server on the simulated GPU during a memory squeeze (OOMs).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace yoloscope {
namespace {

std::string RunAnalyze(const std::string& args, int* code) {
  std::string cmd = std::string(YOLOSCOPE_BINARY) + " analyze " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  *code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

const std::string kLog = std::string(YOLOSCOPE_SOURCE_DIR) + "/tests/alerts/data/squeeze-sim.jsonl";

TEST(AnalyzeAlertsTest, JsonHasTheAlertThatFired) {
  int code;
  auto doc = nlohmann::json::parse(RunAnalyze(kLog + " --format json", &code));
  EXPECT_EQ(code, 0);
  ASSERT_TRUE(doc.contains("alerts"));
  bool oom = false;
  for (const auto& a : doc["alerts"]) {
    if (a.at("rule") == "YoloscopeOutOfMemory") {
      oom = true;
      EXPECT_EQ(a.at("severity"), "critical");
      EXPECT_TRUE(a.at("fired_at").is_string());
      EXPECT_GT(a.at("value").get<double>(), 0);
    }
  }
  EXPECT_TRUE(oom) << doc["alerts"].dump();
}

TEST(AnalyzeAlertsTest, TextShowsTheTimelineAndNoneTurnsItOff) {
  int code;
  std::string text = RunAnalyze(kLog, &code);
  EXPECT_NE(text.find("YoloscopeOutOfMemory"), std::string::npos) << text;
  auto doc = nlohmann::json::parse(RunAnalyze(kLog + " --format json --alert-rules none", &code));
  EXPECT_FALSE(doc.contains("alerts"));
  RunAnalyze(kLog + " --alert-rules /nonexistent/rules.yaml", &code);
  EXPECT_EQ(code, 2);
}

}  // namespace
}  // namespace yoloscope
