// A stand-in for libnvidia-ml.so.1 used by nvml_telemetry_test: exports the
// NVML entry points NvmlTelemetry resolves, with the documented C layouts,
// and answers fixed values for two GPUs. Test-only; never installed.
#include <unistd.h>

#include <cstring>

extern "C" {

struct FakeUtilization {
  unsigned int gpu, memory;
};
struct FakeMemory {
  unsigned long long total, free, used;
};
struct FakeProcessInfo {  // nvmlProcessInfo_v2_t / _t of the _v3 entry point.
  unsigned int pid;
  unsigned long long used_gpu_memory;
  unsigned int gpu_instance_id, compute_instance_id;
};

static int g_initialized = 0;
static int g_devices[2] = {0, 1};
constexpr unsigned long long kMiB = 1024ULL * 1024ULL;

int nvmlInit_v2() {
  g_initialized = 1;
  return 0;
}
int nvmlShutdown() {
  g_initialized = 0;
  return 0;
}
const char* nvmlErrorString(int r) { return r == 0 ? "Success" : "Fake error"; }
int nvmlDeviceGetCount_v2(unsigned int* n) {
  *n = 2;
  return g_initialized ? 0 : 1;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void** h) {
  if (i >= 2) return 2;
  *h = &g_devices[i];
  return 0;
}
static int Index(void* h) { return *static_cast<int*>(h); }
int nvmlDeviceGetName(void* h, char* name, unsigned int len) {
  std::strncpy(name, Index(h) == 0 ? "Fake GPU A" : "Fake GPU B", len);
  return 0;
}
int nvmlSystemGetDriverVersion(char* v, unsigned int len) {
  std::strncpy(v, "999.1", len);
  return 0;
}
int nvmlDeviceGetUtilizationRates(void* h, FakeUtilization* u) {
  u->gpu = Index(h) == 0 ? 87 : 0;
  u->memory = 10;
  return 0;
}
int nvmlDeviceGetMemoryInfo(void* h, FakeMemory* m) {
  m->total = 81920 * kMiB;
  m->used = (Index(h) == 0 ? 4596 : 0) * kMiB;
  m->free = m->total - m->used;
  return 0;
}
// GPU 0: this process (1000 MiB) and pid 1 (3000 MiB); GPU 1: nobody. The
// first call answers INSUFFICIENT_SIZE when given room for fewer than 2.
int nvmlDeviceGetComputeRunningProcesses_v3(void* h, unsigned int* count, FakeProcessInfo* p) {
  if (Index(h) == 1) {
    *count = 0;
    return 0;
  }
  if (*count < 2) {
    *count = 2;
    return 7;
  }
  *count = 2;
  p[0] = {static_cast<unsigned int>(getpid()), 1000 * kMiB, 0xFFFFFFFF, 0xFFFFFFFF};
  p[1] = {1, 3000 * kMiB, 0xFFFFFFFF, 0xFFFFFFFF};
  return 0;
}
int nvmlDeviceGetClockInfo(void* h, unsigned int type, unsigned int* mhz) {
  if (type != 1) return 2;  // only NVML_CLOCK_SM is asked for.
  *mhz = Index(h) == 0 ? 1410 : 210;
  return 0;
}
int nvmlDeviceGetTemperature(void*, unsigned int sensor, unsigned int* t) {
  if (sensor != 0) return 2;
  *t = 61;
  return 0;
}
int nvmlDeviceGetPowerUsage(void* h, unsigned int* mw) {
  if (Index(h) == 1) return 3;  // NOT_SUPPORTED: the field must stay empty.
  *mw = 312500;
  return 0;
}
int nvmlDeviceGetPcieThroughput(void*, unsigned int counter, unsigned int* kbs) {
  *kbs = counter == 0 ? 2048 : 10240;  // TX 2 MiB/s, RX 10 MiB/s.
  return 0;
}
int nvmlDeviceGetCurrentClocksThrottleReasons(void* h, unsigned long long* mask) {
  *mask = Index(h) == 0 ? (0x1ULL | 0x4ULL | 0x8ULL) : 0x1ULL;
  return 0;
}

}  // extern "C"
