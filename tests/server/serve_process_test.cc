// `yoloscope serve` as a process: start on a free port, load, SIGTERM while
// requests are in flight: every accepted request is answered, the log holds
// one record each, the exit code is 0.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "http/test_http_client.h"
#include "testing/test_models.h"

namespace yoloscope {
namespace {

using testing::TestHttpClient;

struct Child {
  pid_t pid = -1;
  int stderr_fd = -1;
};

Child Spawn(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

// Reads the child's stderr until the "listening on" line; returns the port.
int WaitForPort(const Child& c, std::string* seen) {
  char buf[512];
  std::regex re("listening on http://127\\.0\\.0\\.1:([0-9]+)");
  for (int i = 0; i < 2000; ++i) {
    ssize_t n = read(c.stderr_fd, buf, sizeof(buf));
    if (n <= 0) return -1;
    seen->append(buf, static_cast<size_t>(n));
    std::smatch m;
    if (std::regex_search(*seen, m, re)) return std::stoi(m[1]);
  }
  return -1;
}

TEST(ServeProcessTest, SigtermDrainsInFlightRequestsAndLosesNoLogLine) {
  const std::string model = testing::ModelPath("yolov8tiny_320", "torchscript");
  ASSERT_FALSE(model.empty());
  auto dir = std::filesystem::temp_directory_path() / ("ys_serve_proc_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string log = (dir / "req.jsonl").string();
  Child c =
      Spawn({YOLOSCOPE_BINARY, "serve", "--model", model, "--port", "0", "--grpc-port", "0",
             "--log", log, "--threads", "1", "--max-batch", "2", "--max-queue-delay-us", "20000"});
  ASSERT_GT(c.pid, 0);
  std::string err;
  int port = WaitForPort(c, &err);
  ASSERT_GT(port, 0) << err;

  const std::string jpeg = testing::ReadFileBytes(testing::PhotosDir() + "/dog.jpg");
  constexpr int kClients = 6;
  std::atomic<int> sent{0}, ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&] {
      auto client = TestHttpClient::Connect(port, "127.0.0.1", std::chrono::seconds(60));
      ASSERT_TRUE(client.ok());
      ASSERT_TRUE(client
                      ->SendRaw(TestHttpClient::FormatRequest("POST", "/v1/detect", jpeg,
                                                              {{"Content-Type", "image/jpeg"}}))
                      .ok());
      sent++;
      auto r = client->ReadResponse();
      if (r.ok() && r->status == 200)
        ok++;
      else
        refused++;
    });
  }
  while (sent.load() < kClients) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));  // let the server read them
  kill(c.pid, SIGTERM);
  for (auto& t : threads) t.join();
  int status = 0;
  waitpid(c.pid, &status, 0);
  char buf[4096];
  ssize_t n;
  while ((n = read(c.stderr_fd, buf, sizeof(buf))) > 0) err.append(buf, static_cast<size_t>(n));
  close(c.stderr_fd);
  ASSERT_TRUE(WIFEXITED(status)) << err;
  EXPECT_EQ(WEXITSTATUS(status), 0) << err;
  EXPECT_NE(err.find("SIGTERM received"), std::string::npos) << err;
  EXPECT_EQ(ok.load(), kClients) << err;

  std::ifstream in(log);
  std::string line;
  int requests = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "torn log line: " << line;
    requests += j.value("event", "") == "request";
  }
  EXPECT_EQ(requests, ok.load() + refused.load());
  std::filesystem::remove_all(dir);
}

TEST(ServeProcessTest, PrintConfigAndBadConfigFile) {
  auto dir = std::filesystem::temp_directory_path() / ("ys_serve_cfg_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string cfg = (dir / "serve.yaml").string();
  std::ofstream(cfg) << "model:\n  path: m.onnx\nbatching:\n  max_batch_size: 12\n";
  std::string out = (dir / "out.txt").string();
  std::string cmd = std::string(YOLOSCOPE_BINARY) + " serve --config " + cfg +
                    " --max-queue-delay-us 777 --print-config > " + out + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string printed = testing::ReadFileBytes(out);
  EXPECT_NE(printed.find("max_batch_size: 12"), std::string::npos) << printed;
  EXPECT_NE(printed.find("max_queue_delay_us: 777"), std::string::npos) << printed;
  EXPECT_NE(printed.find("path: m.onnx"), std::string::npos) << printed;

  std::ofstream(cfg) << "batching:\n  max_batch_size: lots\n";
  cmd = std::string(YOLOSCOPE_BINARY) + " serve --config " + cfg + " > " + out + " 2>&1";
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 2);
  std::string msg = testing::ReadFileBytes(out);
  EXPECT_NE(msg.find("serve.yaml:2: batching.max_batch_size"), std::string::npos) << msg;

  cmd = std::string(YOLOSCOPE_BINARY) + " serve --model /nonexistent.onnx --port 0 > " + out +
        " 2>&1";
  rc = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 2);
  EXPECT_NE(testing::ReadFileBytes(out).find("/nonexistent.onnx"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace yoloscope
