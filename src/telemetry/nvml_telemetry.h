// NvmlTelemetry: reads NVIDIA GPUs through NVML. The library
// (libnvidia-ml.so.1, shipped with the driver) is loaded at run time with
// dlopen, so the build has no NVML dependency and a CPU host simply gets
// Unavailable from Create().
//
// Per GPU it reads: utilisation (nvmlDeviceGetUtilizationRates), memory
// used/total (nvmlDeviceGetMemoryInfo), this process's vs other processes'
// memory (nvmlDeviceGetComputeRunningProcesses_v3/_v2/v1), SM clock, GPU
// temperature, power (mW -> W), PCIe TX/RX throughput (KB/s -> MB/s, see
// below) and the clock-event (throttle) reasons bitmask as names (without
// gpu_idle: an idle GPU lowering its clocks is not a slowdown). A call the
// device does not support leaves its field empty; it never fails the sample.
//
// Process memory: the process whose pid equals `config.pid` is "this
// process"; every other listed compute process is "other". When our pid is
// not in a non-empty list (a PID namespace, or no CUDA context yet) both
// fields stay empty rather than blaming our own memory on a co-tenant. An
// empty list is a measured zero for both.
//
// Units as in DeviceSample. PCIe: NVML reports KiB/s; we divide by 1024.
// nvmlDeviceGetPcieThroughput samples for ~20 ms per counter, so each
// Sample() blocks ~40 ms per GPU when `read_pcie` is on.
//
// Thread-safety: Sample() from one thread at a time (NVML itself is
// thread-safe); kind()/description() from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "telemetry/telemetry_source.h"

namespace yoloscope {

struct NvmlTelemetryConfig {
  // dlopen name or path of the NVML library.
  std::string library = "libnvidia-ml.so.1";
  // NVML device indices to watch; empty = every GPU NVML reports.
  std::vector<int> device_indices;
  // Read per-process memory (this process vs others).
  bool read_processes = true;
  // Read PCIe throughput (blocks ~20 ms per counter per GPU inside NVML).
  bool read_pcie = true;
  // The pid that counts as "this process"; 0 = getpid().
  int pid = 0;
};

class NvmlTelemetry final : public TelemetrySource {
 public:
  // Loads NVML, initialises it and resolves the devices. Unavailable
  // "no NVIDIA driver (libnvidia-ml.so.1 not found)" when the library cannot
  // be loaded, Unavailable when nvmlInit fails or no GPU is present,
  // InvalidArgument for a device index that does not exist.
  static StatusOr<std::unique_ptr<NvmlTelemetry>> Create(const NvmlTelemetryConfig& config);
  ~NvmlTelemetry() override;  // nvmlShutdown + dlclose.

  NvmlTelemetry(const NvmlTelemetry&) = delete;
  NvmlTelemetry& operator=(const NvmlTelemetry&) = delete;

  StatusOr<std::vector<DeviceSample>> Sample() override;
  std::string kind() const override { return "nvml"; }
  std::string description() const override { return description_; }

  int device_count() const { return static_cast<int>(devices_.size()); }

 private:
  struct Api;  // resolved NVML entry points (nvml_telemetry.cc).
  struct Device {
    int index = 0;
    void* handle = nullptr;  // nvmlDevice_t
    std::string name;
  };

  explicit NvmlTelemetry(const NvmlTelemetryConfig& config);

  // Fills the per-process memory fields of `s` for device `d`.
  void ReadProcessMemory(const Device& d, DeviceSample* s);

  NvmlTelemetryConfig config_;
  void* library_ = nullptr;  // dlopen handle, owned.
  std::unique_ptr<Api> api_;
  bool initialized_ = false;  // nvmlInit succeeded; Shutdown in the destructor.
  std::vector<Device> devices_;
  std::string description_;
};

// Names of the set bits of an NVML clock-event (throttle) reason mask, in bit
// order, comma-separated: 0x4 | 0x8 -> "sw_power_cap,hw_slowdown"; 0 -> "".
// Names: gpu_idle, applications_clocks_setting, sw_power_cap, hw_slowdown,
// sync_boost, sw_thermal_slowdown, hw_thermal_slowdown,
// hw_power_brake_slowdown, display_clock_setting; unknown bits "bit<N>".
std::string ThrottleReasonNames(unsigned long long mask);

}  // namespace yoloscope
