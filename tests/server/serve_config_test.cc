#include "server/serve_config.h"

#include <gtest/gtest.h>

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
  EXPECT_EQ(c.http.host, "127.0.0.1");           // untouched default
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

}  // namespace
}  // namespace yoloscope
