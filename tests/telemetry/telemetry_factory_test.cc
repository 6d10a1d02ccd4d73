#include "telemetry/telemetry_factory.h"

#include <gtest/gtest.h>

#include "telemetry/fake_telemetry_source.h"

namespace yoloscope {
namespace {

using ::yoloscope::testing::FakeTelemetrySource;

TEST(TelemetryFactoryTest, ProcessKind) {
  RealClock clock;
  TelemetryConfig config;
  config.kind = "process";
  auto s = CreateTelemetrySource(config, &clock);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->kind(), "process");
}

TEST(TelemetryFactoryTest, AutoPicksNvmlOrFallsBackToProcess) {
  RealClock clock;
  auto s = CreateTelemetrySource(TelemetryConfig{}, &clock);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  if ((*s)->kind() == "process") {
    // Says why NVML was not used.
    EXPECT_NE((*s)->description().find("NVIDIA"), std::string::npos) << (*s)->description();
  } else {
    EXPECT_EQ((*s)->kind(), "nvml");
  }
}

TEST(TelemetryFactoryTest, AutoUsesTheSimulatedGpuWhenGiven) {
  RealClock clock;
  auto s =
      CreateTelemetrySource(TelemetryConfig{}, &clock, std::make_unique<FakeTelemetrySource>());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->kind(), "fake");
}

TEST(TelemetryFactoryTest, SimKindNeedsASimSource) {
  RealClock clock;
  TelemetryConfig config;
  config.kind = "sim";
  auto missing = CreateTelemetrySource(config, &clock);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kFailedPrecondition);
  auto given = CreateTelemetrySource(config, &clock, std::make_unique<FakeTelemetrySource>());
  ASSERT_TRUE(given.ok());
  EXPECT_EQ((*given)->kind(), "fake");
}

TEST(TelemetryFactoryTest, NvmlKindWithoutDriverIsUnavailable) {
  RealClock clock;
  TelemetryConfig config;
  config.kind = "nvml";
  config.nvml.library = "libnvidia-ml-does-not-exist.so.1";
  auto s = CreateTelemetrySource(config, &clock);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
}

TEST(TelemetryFactoryTest, UnknownKind) {
  RealClock clock;
  TelemetryConfig config;
  config.kind = "bogus";
  auto s = CreateTelemetrySource(config, &clock);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace yoloscope
