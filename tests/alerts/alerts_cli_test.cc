// `yoloscope alerts --check` through the built binary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace yoloscope {
namespace {

using ::testing::HasSubstr;

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

RunResult RunAlerts(const std::string& args) {
  const std::string cmd = std::string(YOLOSCOPE_BINARY) + " alerts " + args + " 2>&1";
  RunResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class AlertsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("ys_alerts_cli_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(AlertsCliTest, ValidFileExitsZero) {
  const std::string shipped = std::string(YOLOSCOPE_SOURCE_DIR) + "/configs/alerts/default.yaml";
  RunResult r = RunAlerts("--check " + shipped);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("default.yaml: OK (5 rules)"));

  r = RunAlerts("--check " + shipped + " --print --param slo_p99_ms=250");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("p99(total_ms[5m]) > 250"));
  EXPECT_THAT(r.output, HasSubstr("YoloscopeGpuMemoryHigh"));
}

TEST_F(AlertsCliTest, InvalidFileExitsTwoWithFileAndLine) {
  const std::string bad = Write("bad.yaml", R"(rules:
  - name: Slow
    metric: inference_ms
    window: 1 minute
    threshold: 100
)");
  const RunResult r = RunAlerts("--check " + bad);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr(bad + ":4: rules[0].window: bad duration '1 minute'"));
}

TEST_F(AlertsCliTest, EveryFileIsCheckedAndAnyFailureFails) {
  const std::string good =
      Write("good.yaml", "rules:\n  - {name: A, metric: queue_len, threshold: 5}\n");
  const std::string bad =
      Write("bad.yaml", "rules:\n  - {name: A, metric: queue_length, threshold: 5}\n");
  const RunResult r = RunAlerts("--check " + good + " " + bad);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("good.yaml: OK (1 rule)"));
  EXPECT_THAT(r.output, HasSubstr("bad.yaml:2: rules[0].metric: unknown metric 'queue_length'"));
}

TEST_F(AlertsCliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(RunAlerts("").exit_code, 2);
  EXPECT_EQ(RunAlerts("--check /nonexistent/rules.yaml").exit_code, 2);
  EXPECT_EQ(RunAlerts("--bogus").exit_code, 2);
  EXPECT_EQ(RunAlerts("--defaults --param slo_p99_ms=fast").exit_code, 2);
  const RunResult unknown = RunAlerts("--defaults --print --param nope=1");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.output, HasSubstr("params.nope: not defined"));
  EXPECT_EQ(RunAlerts("--help").exit_code, 0);
}

TEST_F(AlertsCliTest, DefaultsArePrinted) {
  const RunResult r = RunAlerts("--defaults");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("name: YoloscopeOutOfMemory"));
}

}  // namespace
}  // namespace yoloscope
