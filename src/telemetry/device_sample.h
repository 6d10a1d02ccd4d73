// DeviceSample: one telemetry reading of one device (a GPU, a simulated GPU,
// or the host CPU/process when there is no GPU), as produced by a
// TelemetrySource.
//
// Every measured quantity is a std::optional: empty means "not known here"
// (the source cannot read it, the driver refused, the value is not defined on
// this kind of host). Never store a made-up zero for something that was not
// measured; a real measured zero is a value.
//
// Units: percent 0..100, memory in MB where 1 MB = 2^20 bytes (MiB, the
// request-log convention), clocks in MHz, temperature in degrees Celsius,
// power in watts, PCIe throughput in MB/s (2^20 bytes per second), `ts_us`
// in Unix microseconds (UTC).
//
// Plain value type; not synchronized.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace yoloscope {

struct DeviceSample {
  // When the sample was taken (Clock::WallNowUs of the sampler); 0 until the
  // TelemetrySampler stamps it.
  int64_t ts_us = 0;
  // Where the numbers come from: "cuda:0", "sim:0", "cpu".
  std::string device;
  // NVML device index (or the simulated GPU's index); empty on CPU hosts.
  std::optional<int64_t> gpu_id;

  // GPU state.
  std::optional<double> gpu_util;                // percent of time a kernel ran, 0..100.
  std::optional<double> mem_used_mb;             // device memory in use by everybody.
  std::optional<double> mem_total_mb;            // device memory capacity.
  std::optional<double> mem_this_process_mb;     // this process's share of mem_used_mb.
  std::optional<double> mem_other_processes_mb;  // other processes' compute contexts.
  std::optional<double> sm_clock_mhz;            // current SM clock.
  std::optional<double> temp_c;                  // GPU core temperature.
  std::optional<double> power_w;                 // board power draw.
  std::optional<double> pcie_tx_mbs;             // device -> host.
  std::optional<double> pcie_rx_mbs;             // host -> device.
  // Active clock-throttle ("clock event") reasons, comma-separated snake_case
  // names such as "sw_power_cap,hw_slowdown"; "" when none is active; empty
  // optional when unknown.
  std::optional<std::string> throttle_reasons;

  // Host/process state (CPU hosts; a GPU source may leave these empty).
  std::optional<double> process_cpu_util;  // percent of ALL online cores (0..100).
  std::optional<double> process_rss_mb;    // resident set size of this process.
  std::optional<double> host_mem_used_mb;  // MemTotal - MemAvailable.
  std::optional<double> host_mem_total_mb;
};

}  // namespace yoloscope
