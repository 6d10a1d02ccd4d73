// CommandNotifier running real scripts (fork + execve).
#include "alerts/command_notifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "alerts/test_records.h"

namespace yoloscope {
namespace {

using ::testing::HasSubstr;
using testing::kSecond;
using testing::kT0;
using Ms = std::chrono::milliseconds;

class CommandNotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ys_cmd_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Script(const std::string& name, const std::string& body) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << "#!/bin/sh\n" << body;
    ::chmod(path.c_str(), 0755);
    return path;
  }
  std::string Read(const std::string& name) {
    std::ifstream in(dir_ / name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static bool WaitFor(const std::function<bool()>& done, Ms timeout = Ms(5000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(Ms(5));
    }
    return true;
  }

  std::filesystem::path dir_;
};

AlertTransition Firing() {
  AlertTransition t;
  t.state = AlertState::kFiring;
  t.rule = "YoloscopeQueueLong";
  t.severity = "warning";
  t.metric = "queue_len";
  t.aggregation = "mean";
  t.window_s = 30;
  t.comparator = ">";
  t.threshold = 10;
  t.value = 14.5;
  t.peak = 16;
  t.at_us = kT0 + 30 * kSecond;
  t.started_at_us = kT0;
  t.fired_at_us = t.at_us;
  t.labels = {{"alertname", t.rule}, {"severity", "warning"}, {"gpu_id", "0"}};
  t.annotations = {{"summary", "14.5 requests waiting"}, {"description", "scale out"}};
  return t;
}

TEST_F(CommandNotifierTest, RunsTheCommandWithTheAlertInItsEnvironment) {
  const std::string out = (dir_ / "env.txt").string();
  CommandNotifierConfig c;
  c.argv = {Script("hook.sh", "env > \"$1\"\necho \"args: $# $2\" >> \"$1\"\n"), out, "two words"};
  ::setenv("YOLOSCOPE_ALERT_NAME", "stale-from-parent", 1);
  auto n = CommandNotifier::Create(c);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  (*n)->Notify({Firing()});
  ASSERT_TRUE(WaitFor([&] { return (*n)->stats().succeeded == 1; }));
  ::unsetenv("YOLOSCOPE_ALERT_NAME");
  const std::string env = Read("env.txt");
  EXPECT_THAT(env, HasSubstr("YOLOSCOPE_ALERT_NAME=YoloscopeQueueLong\n"));
  EXPECT_THAT(env, ::testing::Not(HasSubstr("stale-from-parent")));
  EXPECT_THAT(env, HasSubstr("YOLOSCOPE_ALERT_STATE=firing\n"));
  EXPECT_THAT(env, HasSubstr("YOLOSCOPE_ALERT_SEVERITY=warning\n"));
  EXPECT_THAT(env, HasSubstr("YOLOSCOPE_ALERT_VALUE=14.5\n"));
  EXPECT_THAT(env, HasSubstr("YOLOSCOPE_ALERT_THRESHOLD=10\n"));
  EXPECT_THAT(env, HasSubstr("YOLOSCOPE_ALERT_METRIC=queue_len\n"));
  EXPECT_THAT(env, HasSubstr("YOLOSCOPE_ALERT_WINDOW_S=30\n"));
  EXPECT_THAT(env, HasSubstr("YOLOSCOPE_ALERT_FIRED_AT=2026-01-01T00:00:30.000000Z\n"));
  EXPECT_THAT(env, HasSubstr("YOLOSCOPE_ALERT_RESOLVED_AT=\n"));
  EXPECT_THAT(env, HasSubstr("YOLOSCOPE_ALERT_SUMMARY=14.5 requests waiting\n"));
  EXPECT_THAT(env, HasSubstr("YOLOSCOPE_ALERT_LABEL_GPU_ID=0\n"));
  EXPECT_THAT(env, HasSubstr("YOLOSCOPE_ALERT_LABELS={\"alertname\":\"YoloscopeQueueLong\""));
  EXPECT_THAT(env, HasSubstr("PATH="));  // the server's environment is kept
  EXPECT_THAT(env, HasSubstr("args: 2 two words\n"));
  // The JSON variable is the alert log record.
  const size_t at = env.find("YOLOSCOPE_ALERT_JSON=");
  ASSERT_NE(at, std::string::npos);
  const std::string json = env.substr(at + 21, env.find('\n', at) - at - 21);
  EXPECT_EQ(nlohmann::json::parse(json)["event"], "alert");
  EXPECT_EQ((*n)->stats().runs, 1);
  EXPECT_EQ((*n)->stats().last_exit_code, 0);
}

TEST_F(CommandNotifierTest, CountsFailuresAndHonoursOnResolved) {
  CommandNotifierConfig c;
  c.argv = {Script("fail.sh", "exit 3\n")};
  c.on_resolved = false;
  auto n = CommandNotifier::Create(c);
  ASSERT_TRUE(n.ok());
  AlertTransition resolved = Firing();
  resolved.state = AlertState::kResolved;
  (*n)->Notify({Firing(), resolved});
  ASSERT_TRUE(WaitFor([&] { return (*n)->stats().failed == 1; }));
  (*n)->Close();
  const auto s = (*n)->stats();
  EXPECT_EQ(s.runs, 1);  // the resolved transition was not wanted
  EXPECT_EQ(s.last_exit_code, 3);
  EXPECT_THAT(s.last_error, HasSubstr("exit status 3"));
}

TEST_F(CommandNotifierTest, KillsACommandThatRunsTooLong) {
  const std::string pidfile = (dir_ / "child.pid").string();
  CommandNotifierConfig c;
  // The script starts a grandchild in its process group; both must go.
  c.argv = {Script("slow.sh", "sleep 30 &\necho $! > \"$1\"\nwait\n"), pidfile};
  c.timeout_ms = 200;
  c.kill_grace_ms = 100;
  auto n = CommandNotifier::Create(c);
  ASSERT_TRUE(n.ok());
  const auto start = std::chrono::steady_clock::now();
  (*n)->Notify({Firing()});
  ASSERT_TRUE(WaitFor([&] { return (*n)->stats().timed_out == 1; }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, Ms(3000));
  EXPECT_EQ((*n)->stats().failed, 1);
  const pid_t grandchild = std::atoi(Read("child.pid").c_str());
  ASSERT_GT(grandchild, 0);
  // Gone, or a zombie waiting for a reaper.
  auto gone = [grandchild] {
    if (::kill(grandchild, 0) != 0) return true;
    std::ifstream stat("/proc/" + std::to_string(grandchild) + "/stat");
    std::string pid, comm, state;
    stat >> pid >> comm >> state;
    return state == "Z";
  };
  EXPECT_TRUE(WaitFor(gone, Ms(2000)));
}

TEST_F(CommandNotifierTest, NotifyNeverWaitsAndAFullQueueDrops) {
  CommandNotifierConfig c;
  c.argv = {Script("sleepy.sh", "sleep 0.3\n")};
  c.queue_capacity = 2;
  c.close_timeout_ms = 100;
  auto n = CommandNotifier::Create(c);
  ASSERT_TRUE(n.ok());
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) (*n)->Notify({Firing()});
  EXPECT_LT(std::chrono::steady_clock::now() - start, Ms(200));  // one run takes 300 ms
  EXPECT_GE((*n)->stats().dropped, 7);
  const auto t0 = std::chrono::steady_clock::now();
  (*n)->Close();  // kills the running command at the close deadline
  EXPECT_LT(std::chrono::steady_clock::now() - t0, Ms(2000));
}

TEST_F(CommandNotifierTest, RejectsCommandsThatCannotRun) {
  CommandNotifierConfig c;
  EXPECT_FALSE(CommandNotifier::Create(c).ok());
  c.argv = {"/nonexistent/hook"};
  EXPECT_FALSE(CommandNotifier::Create(c).ok());
  c.argv = {(dir_ / "not-executable").string()};
  std::ofstream(c.argv[0]) << "data";
  EXPECT_FALSE(CommandNotifier::Create(c).ok());
  c.argv = {"true"};  // looked up in PATH
  EXPECT_TRUE(CommandNotifier::Create(c).ok());
}

}  // namespace
}  // namespace yoloscope
