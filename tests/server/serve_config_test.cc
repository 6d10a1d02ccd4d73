#include "server/serve_config.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace yoloscope {
namespace {

TEST(ServeConfigTest, YamlOverridesOnlyWhatItNames) {
  ServeConfig c;
  ASSERT_TRUE(LoadServeConfigYaml(R"(
model:
  path: m.onnx
  instances: 2
batching:
  max_batch_size: 16
  max_queue_delay_us: 2500
  policy: adaptive
  preferred_batch_sizes: [4, 8]
http:
  port: 9000
log:
  path: /tmp/x.jsonl
)",
                                  "cfg.yaml", &c)
                  .ok());
  EXPECT_EQ(c.service.backend.model_path, "m.onnx");
  EXPECT_EQ(c.service.instances, 2);
  EXPECT_EQ(c.service.batcher.max_batch_size, 16);
  EXPECT_EQ(c.service.batcher.max_queue_delay_us, 2500);
  EXPECT_EQ(c.service.batcher.policy, BatchPolicy::kAdaptive);
  EXPECT_EQ(c.service.batcher.preferred_batch_sizes, (std::vector<int>{4, 8}));
  EXPECT_EQ(c.http.port, 9000);
  EXPECT_EQ(c.http.host, "127.0.0.1");               // untouched default
  EXPECT_EQ(c.service.batcher.max_queue_size, 256);  // untouched default
  EXPECT_EQ(c.log.path, "/tmp/x.jsonl");
}

TEST(ServeConfigTest, ErrorsNameFileLineAndKey) {
  ServeConfig c;
  Status s = LoadServeConfigYaml("model:\n  path: a\nbatching:\n  max_batch: 3\n", "f.yaml", &c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("f.yaml:4"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("batching.max_batch"), std::string::npos) << s.message();

  s = LoadServeConfigYaml("http:\n  port: eighty\n", "f.yaml", &c);
  EXPECT_NE(s.message().find("f.yaml:2: http.port: expected an integer"), std::string::npos)
      << s.message();
  s = LoadServeConfigYaml("batching:\n  policy: sometimes\n", "f.yaml", &c);
  EXPECT_FALSE(s.ok());
  s = LoadServeConfigYaml("model: [unclosed\n", "f.yaml", &c);
  EXPECT_FALSE(s.ok());
}

TEST(ServeConfigTest, PrintedConfigLoadsBackToTheSameValues) {
  ServeConfig a;
  a.service.backend.model_path = "x.torchscript";
  a.service.batcher.max_batch_size = 4;
  a.service.batcher.preferred_batch_sizes = {2, 4};
  a.http.port = 1234;
  ServeConfig b;
  Status s = LoadServeConfigYaml(ServeConfigToYaml(a), "printed", &b);
  ASSERT_TRUE(s.ok()) << s.message() << "\n" << ServeConfigToYaml(a);
  EXPECT_EQ(ServeConfigToYaml(a), ServeConfigToYaml(b));
}

TEST(ServeConfigTest, ValidationNamesTheField) {
  ServeConfig c;
  EXPECT_NE(ValidateServeConfig(c).message().find("model.path"), std::string::npos);
  c.service.backend.model_path = "m.onnx";
  c.service.batcher.max_batch_size = 0;
  EXPECT_FALSE(ValidateServeConfig(c).ok());
}

TEST(ServeConfigTest, OneValidationNamesKeyAndFlagWithTheValue) {
  struct Case {
    std::function<void(ServeConfig*)> set;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](ServeConfig* c) { c->service.batcher.max_batch_size = -1; },
       "batching.max_batch_size (--max-batch) must be in 1..65536, got -1"},
      {[](ServeConfig* c) { c->service.instances = 0; },
       "model.instances (--instances) must be in 1..256, got 0"},
      {[](ServeConfig* c) { c->service.batcher.max_queue_size = 0; },
       "batching.max_queue_size (--max-queue-size) must be >= 1, got 0"},
      {[](ServeConfig* c) { c->service.preprocess_workers = 0; },
       "pipeline.preprocess_workers (--preprocess-workers) must be in 1..1024, got 0"},
      {[](ServeConfig* c) { c->service.backend.num_threads = -3; },
       "model.threads (--threads) must be in 0..1024, got -3"},
      {[](ServeConfig* c) { c->http.idle_timeout = std::chrono::milliseconds(0); },
       "http.idle_timeout_ms (--idle-timeout-ms) must be >= 1, got 0"},
      {[](ServeConfig* c) { c->log.policy = "never"; },
       "log.policy (--log-policy) must be availability or audit, got 'never'"},
      {[](ServeConfig* c) { c->log.sink_nice = 20; },
       "log.sink_nice (--log-sink-nice) must be in 0..19, got 20"},
      {[](ServeConfig* c) { c->service.postprocess.conf = 3; }, "postprocess: conf must be in"},
      {[](ServeConfig* c) { c->heap_trim_interval_ms = -5; },
       "heap_trim_interval_ms must be >= 0, got -5"},
  };
  for (const Case& k : cases) {
    ServeConfig c;
    c.service.backend.kind = "identity";
    ASSERT_TRUE(ValidateServeConfig(c).ok());
    k.set(&c);
    Status s = ValidateServeConfig(c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(k.message), std::string::npos) << s.message();
  }
}

TEST(ServeConfigTest, EnvironmentSetsAnyKeyWithTheYamlTypeChecks) {
  std::map<std::string, std::string> env = {{"YOLOSCOPE_BATCHING_MAX_BATCH_SIZE", "16"},
                                            {"YOLOSCOPE_LOG_POLICY", "audit"},
                                            {"YOLOSCOPE_HTTP_MAX_CONNECTIONS_PER_IP", "8"},
                                            {"YOLOSCOPE_HEAP_TRIM_INTERVAL_MS", "0"},
                                            {"UNRELATED", "x"}};
  auto lookup = [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  ServeConfig c;
  ASSERT_TRUE(ApplyServeConfigEnv(lookup, &c).ok());
  EXPECT_EQ(c.service.batcher.max_batch_size, 16);
  EXPECT_EQ(c.log.policy, "audit");
  EXPECT_EQ(c.http.max_connections_per_ip, 8u);
  EXPECT_EQ(c.heap_trim_interval_ms, 0);
  EXPECT_EQ(c.service.instances, 1);  // untouched
  // A CRLF environment file: the value's '\r' is refused, naming it.
  env["YOLOSCOPE_LOG_PATH"] = "requests.jsonl\r";
  Status crlf = ApplyServeConfigEnv(lookup, &c);
  EXPECT_EQ(crlf.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(crlf.message().find("YOLOSCOPE_LOG_PATH"), std::string::npos) << crlf.message();
  EXPECT_NE(crlf.message().find("control character (0x0d, a CRLF line ending?)"), std::string::npos)
      << crlf.message();
  env.erase("YOLOSCOPE_LOG_PATH");
  env["YOLOSCOPE_MODEL_INSTANCES"] = "many";
  Status s = ApplyServeConfigEnv(lookup, &c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("YOLOSCOPE_MODEL_INSTANCES"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("model.instances: expected an integer"), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace yoloscope

namespace yoloscope {
namespace {

// Issue 19: `streams:` in YAML and the environment, one validation.
TEST(ServeConfigTest, StreamsListLoadsValidatesAndPrints) {
  ServeConfig c;
  c.service.backend.model_path = "m.onnx";
  ASSERT_TRUE(LoadServeConfigYaml(R"(
stream_stats_period_ms: 1000
streams:
  - name: door
    uri: rtsp://admin:secret@10.0.0.5/live
    fps: 5
    queue_size: 2
    drop_policy: drop_oldest
    max_in_flight: 1
    priority: high
    reconnect_min_ms: 100
    reconnect_max_ms: 800
    max_reconnects: 3
    open_timeout_ms: 2000
    read_timeout_ms: 1000
  - name: file
    uri: /data/clip.mp4
    realtime: true
)",
                                  "cfg.yaml", &c)
                  .ok());
  ASSERT_EQ(c.streams.size(), 2u);
  EXPECT_EQ(c.stream_stats_period_ms, 1000);
  const StreamConfig& d = c.streams[0];
  EXPECT_EQ(d.name, "door");
  EXPECT_EQ(d.target_fps, 5);
  EXPECT_EQ(d.queue_size, 2);
  EXPECT_EQ(d.drop_policy, FrameDropPolicy::kDropOldest);
  EXPECT_EQ(d.max_in_flight, 1);
  EXPECT_EQ(d.priority, "high");
  EXPECT_EQ(d.reconnect_max_ms, 800);
  EXPECT_EQ(d.max_reconnects, 3);
  EXPECT_EQ(d.read_timeout_ms, 1000);
  EXPECT_TRUE(c.streams[1].realtime);
  EXPECT_EQ(c.streams[1].queue_size, 4);  // default
  EXPECT_TRUE(ValidateServeConfig(c).ok());
  // Printed with the credentials redacted, and loads back.
  const std::string yaml = ServeConfigToYaml(c);
  EXPECT_EQ(yaml.find("secret"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("rtsp://***@10.0.0.5/live"), std::string::npos) << yaml;
  ServeConfig back;
  ASSERT_TRUE(LoadServeConfigYaml(yaml, "printed", &back).ok());
  ASSERT_EQ(back.streams.size(), 2u);
  EXPECT_EQ(back.streams[0].priority, "high");
  EXPECT_EQ(back.streams[1].drop_policy, FrameDropPolicy::kBlock);

  // Errors name file, line and key.
  ServeConfig e;
  Status st = LoadServeConfigYaml("streams:\n  - name: a\n    uri: x.mp4\n    colour: red\n",
                                  "cfg.yaml", &e);
  EXPECT_EQ(st.message(), "cfg.yaml:4: unknown key 'streams[0].colour'");
  st =
      LoadServeConfigYaml("streams:\n  - name: a\n    uri: x.mp4\n    fps: fast\n", "cfg.yaml", &e);
  EXPECT_NE(st.message().find("cfg.yaml:4: streams[0].fps: expected a number"), std::string::npos)
      << st.message();
  st = LoadServeConfigYaml("streams:\n  - uri: x.mp4\n", "cfg.yaml", &e);
  EXPECT_NE(st.message().find("needs both name and uri"), std::string::npos) << st.message();
  st = LoadServeConfigYaml("streams: cam\n", "cfg.yaml", &e);
  EXPECT_NE(st.message().find("expected a list"), std::string::npos) << st.message();

  // The one validation: ranges and unique names.
  ServeConfig v = c;
  v.streams[1].name = "door";
  EXPECT_NE(ValidateServeConfig(v).message().find("used twice"), std::string::npos);
  v = c;
  v.streams[0].target_fps = -1;
  EXPECT_NE(ValidateServeConfig(v).message().find("streams[0] (door): fps must be in 0..1000"),
            std::string::npos)
      << ValidateServeConfig(v).message();

  // The environment, as for every key.
  ServeConfig env;
  env.service.backend.model_path = "m.onnx";
  std::map<std::string, std::string> vars = {
      {"YOLOSCOPE_STREAMS", "[{name: a, uri: /data/a.mp4, fps: 2}]"}};
  ASSERT_TRUE(ApplyServeConfigEnv(
                  [&](const char* name) -> const char* {
                    auto it = vars.find(name);
                    return it == vars.end() ? nullptr : it->second.c_str();
                  },
                  &env)
                  .ok());
  ASSERT_EQ(env.streams.size(), 1u);
  EXPECT_EQ(env.streams[0].target_fps, 2);
}

}  // namespace
}  // namespace yoloscope
