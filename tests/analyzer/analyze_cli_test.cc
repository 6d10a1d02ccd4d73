// Runs the built `yoloscope analyze` end to end: exit codes, formats, the
// rule fixtures in rules_fixtures/, stdin, and malformed input.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>

namespace yoloscope {
namespace {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;
  bool signaled = false;
  std::string out, err;
};

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class AnalyzeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ys_analyze_cli_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string Fixture(const std::string& name) {
    return std::string(YOLOSCOPE_SOURCE_DIR) + "/tests/analyzer/rules_fixtures/" + name;
  }

  RunResult Run(const std::string& args, const std::string& stdin_path = "") {
    const fs::path out = dir_ / "out.txt", err = dir_ / "err.txt";
    std::string cmd = "NO_COLOR=1 '" + std::string(YOLOSCOPE_BINARY) + "' analyze " + args + " >'" +
                      out.string() + "' 2>'" + err.string() + "'";
    if (!stdin_path.empty()) cmd += " <'" + stdin_path + "'";
    const int status = std::system(cmd.c_str());
    RunResult r;
    if (WIFEXITED(status)) {
      r.exit_code = WEXITSTATUS(status);
    } else {
      r.signaled = true;
    }
    r.out = ReadAll(out);
    r.err = ReadAll(err);
    return r;
  }

  nlohmann::json RunJson(const std::string& args, int expected_exit = 0) {
    const RunResult r = Run("--format json " + args);
    EXPECT_EQ(r.exit_code, expected_exit) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << r.out.substr(0, 500) << r.err;
    return j;
  }

  static const nlohmann::json* Finding(const nlohmann::json& j, const std::string& kind) {
    if (!j.is_object() || !j.contains("findings")) return nullptr;
    for (const auto& f : j["findings"]) {
      if (f["kind"] == kind) return &f;
    }
    return nullptr;
  }

  static std::string Kinds(const nlohmann::json& j) {
    std::string s;
    if (!j.is_object() || !j.contains("findings")) return s;
    for (const auto& f : j["findings"])
      s += f["severity"].get<std::string>() + ":" + f["kind"].get<std::string>() + " ";
    return s;
  }

  fs::path Write(const std::string& name, const std::string& content) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

  fs::path dir_;
};

TEST_F(AnalyzeCliTest, NoArgumentsIsAUsageError) { EXPECT_EQ(Run("").exit_code, 2); }

TEST_F(AnalyzeCliTest, MissingFileExits2AndNamesIt) {
  const RunResult r = Run("/nonexistent/requests.jsonl");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent/requests.jsonl"), std::string::npos) << r.err;
}

TEST_F(AnalyzeCliTest, BadArgumentsExit2) {
  EXPECT_EQ(Run("--format yaml " + Fixture("healthy.jsonl")).exit_code, 2);
  EXPECT_EQ(Run("--fail-on sometimes " + Fixture("healthy.jsonl")).exit_code, 2);
  EXPECT_EQ(Run("--map nonsense " + Fixture("healthy.jsonl")).exit_code, 2);
  EXPECT_EQ(Run("--map no_such_field=x " + Fixture("healthy.jsonl")).exit_code, 2);
  EXPECT_EQ(Run("--input-format xml " + Fixture("healthy.jsonl")).exit_code, 2);
  EXPECT_EQ(Run("--threads -3 " + Fixture("healthy.jsonl")).exit_code, 2);
}

TEST_F(AnalyzeCliTest, EmptyFileIsUnusableInput) {
  const fs::path p = Write("empty.jsonl", "");
  const RunResult r = Run(p.string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("empty.jsonl"), std::string::npos) << r.err;
}

TEST_F(AnalyzeCliTest, HealthyLogPassesFailOnWarning) {
  const nlohmann::json j = RunJson("--fail-on warning " + Fixture("healthy.jsonl"));
  EXPECT_EQ(j["summary"]["requests"], 300);
  for (const auto& f : j["findings"]) EXPECT_EQ(f["severity"], "info") << f.dump();
  EXPECT_FALSE(j["stages"].empty());
}

TEST_F(AnalyzeCliTest, ThreeRowChineseTableYieldsOomAndFailOnCritical) {
  const nlohmann::json j = RunJson(Fixture("oom_three_rows.csv"));
  const auto* f = Finding(j, "oom");
  ASSERT_NE(f, nullptr) << Kinds(j);
  EXPECT_EQ((*f)["severity"], "critical");
  EXPECT_EQ((*f)["request_ids"][0], "r3");
  EXPECT_EQ(Run("--fail-on critical " + Fixture("oom_three_rows.csv")).exit_code, 3);
  EXPECT_EQ(Run("--fail-on warning " + Fixture("oom_three_rows.csv")).exit_code, 3);
  EXPECT_EQ(Run(Fixture("oom_three_rows.csv")).exit_code, 0);
}

TEST_F(AnalyzeCliTest, ThreeRowMarkdownTableYieldsMemoryPressure) {
  const nlohmann::json j = RunJson(Fixture("memory_pressure_three_rows.md"));
  const auto* f = Finding(j, "gpu_memory_pressure");
  ASSERT_NE(f, nullptr) << Kinds(j);
  EXPECT_NE((*f)["evidence"][0].get<std::string>().find("6.2x"), std::string::npos) << f->dump();
  EXPECT_FALSE(j["skipped_checks"].empty());
}

TEST_F(AnalyzeCliTest, QueueSaturationFixture) {
  const nlohmann::json j = RunJson(Fixture("queue_saturation.jsonl"));
  const auto* f = Finding(j, "queue_saturation");
  ASSERT_NE(f, nullptr) << Kinds(j);
  EXPECT_EQ((*f)["severity"], "critical");
  EXPECT_EQ(Run("--fail-on warning " + Fixture("queue_saturation.jsonl")).exit_code, 3);
}

TEST_F(AnalyzeCliTest, BatchWindowFixture) {
  const nlohmann::json j = RunJson(Fixture("batch_window.jsonl"));
  ASSERT_NE(Finding(j, "batch_window_too_long"), nullptr) << Kinds(j);
  EXPECT_EQ(Finding(j, "queue_saturation"), nullptr) << Kinds(j);
}

TEST_F(AnalyzeCliTest, CpuPreprocessTsvFixture) {
  const nlohmann::json j = RunJson(Fixture("cpu_preprocess.tsv"));
  ASSERT_NE(Finding(j, "cpu_preprocess_bound"), nullptr) << Kinds(j);
}

TEST_F(AnalyzeCliTest, ThrottlingFromNvidiaSmiJoinedWithRequests) {
  const nlohmann::json j =
      RunJson(Fixture("throttle_requests.jsonl") + " " + Fixture("throttle_nvidia_smi.csv"));
  EXPECT_GT(j["summary"]["gpu_samples"].get<int>(), 200);
  const auto* f = Finding(j, "gpu_throttling");
  ASSERT_NE(f, nullptr) << Kinds(j);
  EXPECT_EQ(Finding(j, "gpu_contention"), nullptr) << Kinds(j);
}

TEST_F(AnalyzeCliTest, MalformedLinesAreCountedNotFatal) {
  const nlohmann::json j = RunJson(Fixture("malformed.jsonl"));
  EXPECT_GE(j["input"]["malformed"].get<int>(), 4);
  EXPECT_FALSE(j["input"]["malformed_examples"].empty());
  EXPECT_GE(j["summary"]["requests"].get<int>(), 40);
}

TEST_F(AnalyzeCliTest, GarbageNeverCrashes) {
  std::mt19937 rng(42);
  for (int i = 0; i < 6; ++i) {
    std::string bytes(static_cast<size_t>(1000 + 5000 * i), '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
    if (i % 2) {
      // Mostly-JSON garbage: valid records cut at random points.
      bytes = ReadAll(Fixture("healthy.jsonl")).substr(0, 20000);
      for (int k = 0; k < 200; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng() & 0xff);
    }
    const fs::path p = Write("garbage" + std::to_string(i) + ".jsonl", bytes);
    for (const char* fmt :
         {"", "--input-format csv ", "--input-format triton ", "--input-format nvidia-smi "}) {
      const RunResult r = Run(std::string(fmt) + "--format json " + p.string());
      EXPECT_FALSE(r.signaled) << fmt << p;
      EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 2) << r.exit_code << " " << r.err;
    }
  }
  const fs::path long_line = Write("long.jsonl", std::string(3 << 20, '{') + "\n");
  const RunResult r = Run(long_line.string());
  EXPECT_FALSE(r.signaled);
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST_F(AnalyzeCliTest, ReadsStdin) {
  const RunResult r = Run("--format json -", Fixture("healthy.jsonl"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["summary"]["requests"], 300);
}

TEST_F(AnalyzeCliTest, TextAndMarkdownFormats) {
  const RunResult text = Run(Fixture("queue_saturation.jsonl"));
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("Where the time goes"), std::string::npos);
  EXPECT_NE(text.out.find("queue_saturation"), std::string::npos);
  EXPECT_EQ(text.out.find("\033["), std::string::npos);  // NO_COLOR and not a TTY.
  const RunResult md = Run("--format markdown " + Fixture("queue_saturation.jsonl"));
  EXPECT_EQ(md.exit_code, 0);
  EXPECT_NE(md.out.find("# yoloscope analyze"), std::string::npos);
  EXPECT_NE(md.out.find("| stage |"), std::string::npos);
}

TEST_F(AnalyzeCliTest, ThreadCountDoesNotChangeTheReport) {
  nlohmann::json one = RunJson("--threads 1 " + Fixture("queue_saturation.jsonl"));
  nlohmann::json two = RunJson("--threads 2 " + Fixture("queue_saturation.jsonl"));
  for (auto* j : {&one, &two}) {
    (*j)["input"].erase("seconds");
    (*j)["input"].erase("bytes_per_s");
    (*j)["input"].erase("threads");
  }
  EXPECT_EQ(one.dump(), two.dump());
}

TEST_F(AnalyzeCliTest, WindowOption) {
  const nlohmann::json j = RunJson("--window 10 " + Fixture("healthy.jsonl"));
  EXPECT_DOUBLE_EQ(j["time_series"]["window_s"].get<double>(), 10.0);
}

// Issue 19: frames of video streams (request records with `stream`) and
// the streams' `stream` records give a per-stream summary: achieved fps,
// drops, frame latency.
TEST_F(AnalyzeCliTest, PerStreamSummary) {
  const fs::path log = dir_ / "streams.jsonl";
  {
    std::ofstream out(log);
    // cam1: 11 frames over 1 s (10 fps), 100 ms capture-to-result; cam2: 3.
    for (int i = 0; i <= 10; ++i) {
      out << R"({"event":"request","schema":"yoloscope.v1","ts":"2026-01-01T00:00:0)"
          << (i == 10 ? "1.000000" : "0." + std::to_string(i) + "00000") << R"(Z","request_id":"f)"
          << i << R"(","protocol":"stream","stream":"cam1","frame_index":)" << i * 2
          << R"(,"pts_ms":)" << i * 80
          << R"(,"model":"m","backend":"sim","device":"sim:0","gpu_id":0,"batch_id":)" << i
          << R"(,"batch_size":2,"queue_ms":60,"decode_ms":2,"preprocess_ms":1,"inference_ms":30,)"
          << R"("postprocess_ms":1,"total_ms":100,"status":"ok"})"
          << "\n";
    }
    for (int i = 0; i < 3; ++i) {
      out << R"({"event":"request","schema":"yoloscope.v1","ts":"2026-01-01T00:00:00.)" << i
          << R"(50000Z","request_id":"g)" << i
          << R"(","protocol":"stream","stream":"cam2","frame_index":)" << i << R"(,"batch_id":)"
          << i << R"(,"batch_size":2,"total_ms":40,"status":"ok"})"
          << "\n";
    }
    // An older and a newer stream record: the newer one counts.
    out << R"({"event":"stream","schema":"yoloscope.v1","ts":"2026-01-01T00:00:00.500000Z","stream":"cam1","state":"running","source_fps":25,"target_fps":0,"frames_read":12,"frames_processed":5,"frames_failed":0,"frames_dropped":6,"frames_skipped":0,"frames_queued":1,"frames_in_flight":0,"reconnects":0})"
        << "\n";
    out << R"({"event":"stream","schema":"yoloscope.v1","ts":"2026-01-01T00:00:01.100000Z","stream":"cam1","state":"stopped","source_fps":25,"target_fps":0,"frames_read":25,"frames_processed":11,"frames_failed":0,"frames_dropped":14,"frames_skipped":0,"frames_queued":0,"frames_in_flight":0,"reconnects":0})"
        << "\n";
  }
  const RunResult r = Run("--format json " + log.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["summary"]["requests"], 14);
  const auto& streams = j["summary"]["by_stream"];
  ASSERT_EQ(streams.size(), 2u) << j["summary"].dump();
  const auto& cam1 = streams[0];
  EXPECT_EQ(cam1["name"], "cam1");
  EXPECT_EQ(cam1["frames"], 11);
  EXPECT_NEAR(cam1["fps"].get<double>(), 10.0, 0.01);
  EXPECT_EQ(cam1["source_fps"], 25);
  EXPECT_EQ(cam1["frames_read"], 25);
  EXPECT_EQ(cam1["frames_dropped"], 14);
  EXPECT_NEAR(cam1["drop_fraction"].get<double>(), 0.56, 1e-3);
  EXPECT_NEAR(cam1["latency_p50_ms"].get<double>(), 100.0, 1.0);
  EXPECT_NEAR(cam1["queue_mean_ms"].get<double>(), 60.0, 1e-6);
  EXPECT_NEAR(cam1["decode_mean_ms"].get<double>(), 2.0, 1e-6);
  const auto& cam2 = streams[1];
  EXPECT_EQ(cam2["name"], "cam2");
  EXPECT_EQ(cam2["frames"], 3);
  EXPECT_TRUE(cam2["frames_read"].is_null());  // no stream record: unknown, not 0
  // The text report has a line per stream.
  const RunResult text = Run(log.string());
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("stream    cam1"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("dropped 14 of 25 (56%)"), std::string::npos) << text.out;
  // A log without streams has no by_stream.
  const RunResult plain = Run("--format json " + Fixture("healthy.jsonl"));
  ASSERT_EQ(plain.exit_code, 0);
  EXPECT_FALSE(nlohmann::json::parse(plain.out)["summary"].contains("by_stream"));
}

}  // namespace
}  // namespace yoloscope
