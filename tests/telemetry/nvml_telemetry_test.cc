#include "telemetry/nvml_telemetry.h"

#include <gtest/gtest.h>

namespace yoloscope {
namespace {

TEST(ThrottleReasonNamesTest, NamesBitsInOrder) {
  EXPECT_EQ(ThrottleReasonNames(0), "");
  EXPECT_EQ(ThrottleReasonNames(0x4 | 0x8), "sw_power_cap,hw_slowdown");
  EXPECT_EQ(ThrottleReasonNames(0x1), "gpu_idle");
  EXPECT_EQ(ThrottleReasonNames(0x20 | 0x40 | 0x80 | 0x100),
            "sw_thermal_slowdown,hw_thermal_slowdown,hw_power_brake_slowdown,"
            "display_clock_setting");
  EXPECT_EQ(ThrottleReasonNames(1ULL << 20), "bit20");
}

TEST(NvmlTelemetryTest, MissingLibraryIsUnavailable) {
  NvmlTelemetryConfig config;
  config.library = "libnvidia-ml-does-not-exist.so.1";
  auto t = NvmlTelemetry::Create(config);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(t.status().message().find("no NVIDIA driver"), std::string::npos)
      << t.status().message();
}

TEST(NvmlTelemetryTest, DefaultLibraryIsUnavailableOrWorks) {
  auto t = NvmlTelemetry::Create(NvmlTelemetryConfig{});
  if (!t.ok()) {  // a CPU host: a clean Unavailable, no crash.
    EXPECT_EQ(t.status().code(), StatusCode::kUnavailable) << t.status().ToString();
    return;
  }
  // A GPU host: every device answers with a plausible total.
  auto samples = (*t)->Sample();
  ASSERT_TRUE(samples.ok()) << samples.status().ToString();
  ASSERT_FALSE(samples->empty());
  for (const DeviceSample& s : *samples) {
    ASSERT_TRUE(s.mem_total_mb.has_value());
    EXPECT_GT(*s.mem_total_mb, 0);
  }
}

TEST(NvmlTelemetryTest, ReadsEveryFieldThroughTheNvmlAbi) {
  NvmlTelemetryConfig config;
  config.library = YOLOSCOPE_FAKE_NVML;
  auto t = NvmlTelemetry::Create(config);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->device_count(), 2);
  EXPECT_EQ((*t)->kind(), "nvml");
  EXPECT_NE((*t)->description().find("Fake GPU A"), std::string::npos) << (*t)->description();
  EXPECT_NE((*t)->description().find("999.1"), std::string::npos);

  auto samples = (*t)->Sample();
  ASSERT_TRUE(samples.ok()) << samples.status().ToString();
  ASSERT_EQ(samples->size(), 2u);
  const DeviceSample& a = (*samples)[0];
  EXPECT_EQ(a.device, "cuda:0");
  EXPECT_EQ(a.gpu_id, 0);
  EXPECT_EQ(a.gpu_util, 87.0);
  EXPECT_EQ(a.mem_total_mb, 81920.0);
  EXPECT_EQ(a.mem_used_mb, 4596.0);
  EXPECT_EQ(a.mem_this_process_mb, 1000.0);
  EXPECT_EQ(a.mem_other_processes_mb, 3000.0);
  EXPECT_EQ(a.sm_clock_mhz, 1410.0);
  EXPECT_EQ(a.temp_c, 61.0);
  EXPECT_EQ(a.power_w, 312.5);
  EXPECT_EQ(a.pcie_tx_mbs, 2.0);
  EXPECT_EQ(a.pcie_rx_mbs, 10.0);
  EXPECT_EQ(a.throttle_reasons, "sw_power_cap,hw_slowdown");  // gpu_idle left out.
  EXPECT_FALSE(a.process_cpu_util.has_value());

  const DeviceSample& b = (*samples)[1];
  EXPECT_EQ(b.gpu_id, 1);
  EXPECT_EQ(b.gpu_util, 0.0);  // a measured zero stays a zero.
  EXPECT_EQ(b.mem_this_process_mb, 0.0);
  EXPECT_EQ(b.mem_other_processes_mb, 0.0);
  EXPECT_FALSE(b.power_w.has_value());  // NOT_SUPPORTED -> unknown, not 0.
  EXPECT_EQ(b.throttle_reasons, "");
}

TEST(NvmlTelemetryTest, UnknownOwnPidLeavesProcessSplitEmpty) {
  NvmlTelemetryConfig config;
  config.library = YOLOSCOPE_FAKE_NVML;
  config.pid = 999'999'999;  // not in the fake's process list.
  config.device_indices = {0};
  auto t = NvmlTelemetry::Create(config);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto samples = (*t)->Sample();
  ASSERT_TRUE(samples.ok());
  ASSERT_EQ(samples->size(), 1u);
  EXPECT_FALSE((*samples)[0].mem_this_process_mb.has_value());
  EXPECT_FALSE((*samples)[0].mem_other_processes_mb.has_value());
  EXPECT_EQ((*samples)[0].mem_used_mb, 4596.0);
}

TEST(NvmlTelemetryTest, BadDeviceIndexIsInvalidArgument) {
  NvmlTelemetryConfig config;
  config.library = YOLOSCOPE_FAKE_NVML;
  config.device_indices = {5};
  auto t = NvmlTelemetry::Create(config);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace yoloscope
