#include "telemetry/nvml_telemetry.h"

#include <dlfcn.h>
#include <unistd.h>

#include <array>
#include <initializer_list>
#include <utility>

namespace yoloscope {
namespace {

// The few NVML declarations we use (nvml.h is not available at build time).
// Layouts and values follow nvml.h of the R450..R570 drivers.
using NvmlReturn = int;    // nvmlReturn_t
using NvmlDevice = void*;  // nvmlDevice_t (struct nvmlDevice_st*)

constexpr NvmlReturn kNvmlSuccess = 0;
constexpr NvmlReturn kNvmlErrorInsufficientSize = 7;
constexpr unsigned int kNvmlClockSm = 1;          // NVML_CLOCK_SM
constexpr unsigned int kNvmlTemperatureGpu = 0;   // NVML_TEMPERATURE_GPU
constexpr unsigned int kNvmlPcieUtilTxBytes = 0;  // NVML_PCIE_UTIL_TX_BYTES
constexpr unsigned int kNvmlPcieUtilRxBytes = 1;  // NVML_PCIE_UTIL_RX_BYTES
constexpr unsigned long long kNvmlClocksEventReasonGpuIdle = 0x1;
constexpr unsigned long long kNvmlValueNotAvailable = ~0ULL;  // NVML_VALUE_NOT_AVAILABLE

struct NvmlUtilization {  // nvmlUtilization_t
  unsigned int gpu;
  unsigned int memory;
};
struct NvmlMemory {  // nvmlMemory_t (v1): bytes.
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
// nvmlProcessInfo_v1_t: taken by nvmlDeviceGetComputeRunningProcesses (v1).
struct NvmlProcessInfoV1 {
  unsigned int pid;
  unsigned long long used_gpu_memory;
};
// nvmlProcessInfo_v2_t == nvmlProcessInfo_t of the _v2 and _v3 entry points.
struct NvmlProcessInfoV2 {
  unsigned int pid;
  unsigned long long used_gpu_memory;
  unsigned int gpu_instance_id;
  unsigned int compute_instance_id;
};
static_assert(sizeof(NvmlProcessInfoV1) == 16, "nvmlProcessInfo_v1_t is 16 bytes");
static_assert(sizeof(NvmlProcessInfoV2) == 24, "nvmlProcessInfo_v2_t is 24 bytes");

constexpr double kBytesPerMb = 1024.0 * 1024.0;

}  // namespace

struct NvmlTelemetry::Api {
  NvmlReturn (*init)() = nullptr;
  NvmlReturn (*shutdown)() = nullptr;
  const char* (*error_string)(NvmlReturn) = nullptr;
  NvmlReturn (*get_count)(unsigned int*) = nullptr;
  NvmlReturn (*get_handle)(unsigned int, NvmlDevice*) = nullptr;
  NvmlReturn (*get_name)(NvmlDevice, char*, unsigned int) = nullptr;
  NvmlReturn (*driver_version)(char*, unsigned int) = nullptr;
  NvmlReturn (*utilization)(NvmlDevice, NvmlUtilization*) = nullptr;
  NvmlReturn (*memory)(NvmlDevice, NvmlMemory*) = nullptr;
  // Exactly one of the process readers is used: v3 or v2 (24-byte entries)
  // when present, else v1 (16-byte entries).
  NvmlReturn (*processes_v2)(NvmlDevice, unsigned int*, NvmlProcessInfoV2*) = nullptr;
  NvmlReturn (*processes_v1)(NvmlDevice, unsigned int*, NvmlProcessInfoV1*) = nullptr;
  NvmlReturn (*clock)(NvmlDevice, unsigned int, unsigned int*) = nullptr;
  NvmlReturn (*temperature)(NvmlDevice, unsigned int, unsigned int*) = nullptr;
  NvmlReturn (*power)(NvmlDevice, unsigned int*) = nullptr;
  NvmlReturn (*pcie)(NvmlDevice, unsigned int, unsigned int*) = nullptr;
  NvmlReturn (*throttle)(NvmlDevice, unsigned long long*) = nullptr;

  std::string Error(NvmlReturn r) const {
    const char* s = error_string != nullptr ? error_string(r) : nullptr;
    return s != nullptr ? std::string(s) : "NVML error " + std::to_string(r);
  }
};

namespace {

// Resolves the first of `names` the library exports into `*fn`.
template <typename Fn>
void Resolve(void* lib, std::initializer_list<const char*> names, Fn* fn) {
  for (const char* n : names) {
    if (void* p = dlsym(lib, n)) {
      *fn = reinterpret_cast<Fn>(p);
      return;
    }
  }
  *fn = nullptr;
}

}  // namespace

std::string ThrottleReasonNames(unsigned long long mask) {
  static constexpr std::array<const char*, 9> kNames = {"gpu_idle",
                                                        "applications_clocks_setting",
                                                        "sw_power_cap",
                                                        "hw_slowdown",
                                                        "sync_boost",
                                                        "sw_thermal_slowdown",
                                                        "hw_thermal_slowdown",
                                                        "hw_power_brake_slowdown",
                                                        "display_clock_setting"};
  std::string out;
  for (int bit = 0; bit < 64; ++bit) {
    if ((mask & (1ULL << bit)) == 0) continue;
    if (!out.empty()) out += ',';
    if (bit < static_cast<int>(kNames.size())) {
      out += kNames[bit];
    } else {
      out += "bit" + std::to_string(bit);
    }
  }
  return out;
}

NvmlTelemetry::NvmlTelemetry(const NvmlTelemetryConfig& config)
    : config_(config), api_(std::make_unique<Api>()) {
  if (config_.pid == 0) config_.pid = static_cast<int>(getpid());
}

NvmlTelemetry::~NvmlTelemetry() {
  if (initialized_ && api_->shutdown != nullptr) api_->shutdown();
  if (library_ != nullptr) dlclose(library_);
}

StatusOr<std::unique_ptr<NvmlTelemetry>> NvmlTelemetry::Create(const NvmlTelemetryConfig& config) {
  std::unique_ptr<NvmlTelemetry> t(new NvmlTelemetry(config));
  t->library_ = dlopen(config.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (t->library_ == nullptr) {
    const char* err = dlerror();
    return UnavailableError("no NVIDIA driver (" + config.library + " not found" +
                            (err != nullptr ? std::string(": ") + err : std::string()) + ")");
  }
  Api& a = *t->api_;
  void* lib = t->library_;
  Resolve(lib, {"nvmlInit_v2", "nvmlInit"}, &a.init);
  Resolve(lib, {"nvmlShutdown"}, &a.shutdown);
  Resolve(lib, {"nvmlErrorString"}, &a.error_string);
  Resolve(lib, {"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"}, &a.get_count);
  Resolve(lib, {"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"}, &a.get_handle);
  if (a.init == nullptr || a.shutdown == nullptr || a.get_count == nullptr ||
      a.get_handle == nullptr) {
    return UnavailableError("no usable NVML in " + config.library +
                            " (nvmlInit/nvmlDeviceGetCount/nvmlDeviceGetHandleByIndex missing)");
  }
  Resolve(lib, {"nvmlDeviceGetName"}, &a.get_name);
  Resolve(lib, {"nvmlSystemGetDriverVersion"}, &a.driver_version);
  Resolve(lib, {"nvmlDeviceGetUtilizationRates"}, &a.utilization);
  Resolve(lib, {"nvmlDeviceGetMemoryInfo"}, &a.memory);
  Resolve(lib,
          {"nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2"},
          &a.processes_v2);
  if (a.processes_v2 == nullptr) {
    Resolve(lib, {"nvmlDeviceGetComputeRunningProcesses"}, &a.processes_v1);
  }
  Resolve(lib, {"nvmlDeviceGetClockInfo"}, &a.clock);
  Resolve(lib, {"nvmlDeviceGetTemperature"}, &a.temperature);
  Resolve(lib, {"nvmlDeviceGetPowerUsage"}, &a.power);
  Resolve(lib, {"nvmlDeviceGetPcieThroughput"}, &a.pcie);
  Resolve(lib,
          {"nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"},
          &a.throttle);

  NvmlReturn r = a.init();
  if (r != kNvmlSuccess) {
    return UnavailableError("NVML could not start (nvmlInit: " + a.Error(r) +
                            "); no usable NVIDIA driver");
  }
  t->initialized_ = true;

  unsigned int count = 0;
  r = a.get_count(&count);
  if (r != kNvmlSuccess) {
    return UnavailableError("nvmlDeviceGetCount: " + a.Error(r));
  }
  if (count == 0) return UnavailableError("NVML reports no NVIDIA GPU");
  std::vector<int> indices = config.device_indices;
  if (indices.empty()) {
    for (unsigned int i = 0; i < count; ++i) indices.push_back(static_cast<int>(i));
  }
  for (int index : indices) {
    if (index < 0 || index >= static_cast<int>(count)) {
      return InvalidArgumentError("GPU index " + std::to_string(index) +
                                  " does not exist (NVML sees " + std::to_string(count) + " GPUs)");
    }
    Device d;
    d.index = index;
    r = a.get_handle(static_cast<unsigned int>(index), &d.handle);
    if (r != kNvmlSuccess) {
      return UnavailableError("nvmlDeviceGetHandleByIndex(" + std::to_string(index) +
                              "): " + a.Error(r));
    }
    if (a.get_name != nullptr) {
      char name[96] = {0};
      if (a.get_name(d.handle, name, sizeof(name)) == kNvmlSuccess) d.name = name;
    }
    t->devices_.push_back(std::move(d));
  }

  std::string desc = "NVML";
  if (a.driver_version != nullptr) {
    char version[96] = {0};
    if (a.driver_version(version, sizeof(version)) == kNvmlSuccess) {
      desc += std::string(" (driver ") + version + ")";
    }
  }
  desc += ", " + std::to_string(t->devices_.size()) + " GPU" + (t->devices_.size() == 1 ? "" : "s");
  for (const Device& d : t->devices_) {
    desc += "; cuda:" + std::to_string(d.index) + (d.name.empty() ? "" : " " + d.name);
  }
  t->description_ = std::move(desc);
  return t;
}

void NvmlTelemetry::ReadProcessMemory(const Device& d, DeviceSample* s) {
  const Api& a = *api_;
  // (pid, bytes or kNvmlValueNotAvailable) of every compute process.
  std::vector<std::pair<unsigned int, unsigned long long>> procs;
  unsigned int capacity = 64;
  for (int attempt = 0; attempt < 3; ++attempt) {
    unsigned int n = capacity;
    NvmlReturn r;
    procs.clear();
    if (a.processes_v2 != nullptr) {
      std::vector<NvmlProcessInfoV2> buf(capacity);
      r = a.processes_v2(d.handle, &n, buf.data());
      if (r == kNvmlSuccess) {
        for (unsigned int i = 0; i < n && i < capacity; ++i) {
          procs.emplace_back(buf[i].pid, buf[i].used_gpu_memory);
        }
      }
    } else if (a.processes_v1 != nullptr) {
      std::vector<NvmlProcessInfoV1> buf(capacity);
      r = a.processes_v1(d.handle, &n, buf.data());
      if (r == kNvmlSuccess) {
        for (unsigned int i = 0; i < n && i < capacity; ++i) {
          procs.emplace_back(buf[i].pid, buf[i].used_gpu_memory);
        }
      }
    } else {
      return;  // no process reader: unknown.
    }
    if (r == kNvmlSuccess) break;
    if (r != kNvmlErrorInsufficientSize) return;  // unknown.
    capacity = n + 16;  // processes appeared in between: grow and ask again.
    if (attempt == 2) return;
  }
  bool found_self = false;
  double self_mb = 0, other_mb = 0;
  for (const auto& [pid, bytes] : procs) {
    if (bytes == kNvmlValueNotAvailable) return;  // no permission to see usage: unknown.
    double mb = static_cast<double>(bytes) / kBytesPerMb;
    if (static_cast<int>(pid) == config_.pid) {
      found_self = true;
      self_mb += mb;
    } else {
      other_mb += mb;
    }
  }
  if (!procs.empty() && !found_self) return;  // cannot tell ours from theirs.
  s->mem_this_process_mb = self_mb;
  s->mem_other_processes_mb = other_mb;
}

StatusOr<std::vector<DeviceSample>> NvmlTelemetry::Sample() {
  const Api& a = *api_;
  std::vector<DeviceSample> out;
  out.reserve(devices_.size());
  for (const Device& d : devices_) {
    DeviceSample s;
    s.device = "cuda:" + std::to_string(d.index);
    s.gpu_id = d.index;
    if (a.utilization != nullptr) {
      NvmlUtilization u{};
      if (a.utilization(d.handle, &u) == kNvmlSuccess) s.gpu_util = u.gpu;
    }
    if (a.memory != nullptr) {
      NvmlMemory m{};
      if (a.memory(d.handle, &m) == kNvmlSuccess) {
        s.mem_total_mb = static_cast<double>(m.total) / kBytesPerMb;
        s.mem_used_mb = static_cast<double>(m.used) / kBytesPerMb;
      }
    }
    if (config_.read_processes) ReadProcessMemory(d, &s);
    unsigned int v = 0;
    if (a.clock != nullptr && a.clock(d.handle, kNvmlClockSm, &v) == kNvmlSuccess) {
      s.sm_clock_mhz = v;
    }
    if (a.temperature != nullptr &&
        a.temperature(d.handle, kNvmlTemperatureGpu, &v) == kNvmlSuccess) {
      s.temp_c = v;
    }
    if (a.power != nullptr && a.power(d.handle, &v) == kNvmlSuccess) s.power_w = v / 1000.0;
    if (config_.read_pcie && a.pcie != nullptr) {
      if (a.pcie(d.handle, kNvmlPcieUtilTxBytes, &v) == kNvmlSuccess) s.pcie_tx_mbs = v / 1024.0;
      if (a.pcie(d.handle, kNvmlPcieUtilRxBytes, &v) == kNvmlSuccess) s.pcie_rx_mbs = v / 1024.0;
    }
    if (a.throttle != nullptr) {
      unsigned long long mask = 0;
      if (a.throttle(d.handle, &mask) == kNvmlSuccess) {
        s.throttle_reasons = ThrottleReasonNames(mask & ~kNvmlClocksEventReasonGpuIdle);
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace yoloscope
