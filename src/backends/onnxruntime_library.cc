#include "backends/onnxruntime_library.h"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

namespace yoloscope {
namespace {

// ---------------------------------------------------------------------------
// The slice of ONNX Runtime's C ABI used here, declared from the documented
// API rather than its header (which the npm package does not ship). Every
// object is opaque; every call returns an OrtStatus* (nullptr = success)
// unless noted. The OrtApi struct is a table of function pointers to which
// releases only ever append, so an entry's position never changes: the
// numbers below are those positions (0-based), checked against a 1.31.1
// library by the tests in tests/backends (a wrong one would crash or fail
// every ONNX test).
// ---------------------------------------------------------------------------
using OrtStatusPtr = void*;

enum ApiIndex : int {
  kGetErrorMessage = 2,
  kCreateEnv = 3,
  kCreateSession = 7,
  kRun = 9,
  kCreateSessionOptions = 10,
  kSetSessionExecutionMode = 13,
  kSetSessionGraphOptimizationLevel = 23,
  kSetIntraOpNumThreads = 24,
  kSetInterOpNumThreads = 25,
  kSessionGetInputCount = 30,
  kSessionGetOutputCount = 31,
  kSessionGetInputTypeInfo = 33,
  kSessionGetOutputTypeInfo = 34,
  kSessionGetInputName = 36,
  kSessionGetOutputName = 37,
  kCreateTensorWithDataAsOrtValue = 49,
  kGetTensorMutableData = 51,
  kCastTypeInfoToTensorInfo = 55,
  kGetTensorElementType = 60,
  kGetDimensionsCount = 61,
  kGetDimensions = 62,
  kGetTensorTypeAndShape = 65,
  kCreateCpuMemoryInfo = 69,
  kAllocatorFree = 76,
  kGetAllocatorWithDefaultOptions = 78,
  kReleaseEnv = 92,
  kReleaseStatus = 93,
  kReleaseMemoryInfo = 94,
  kReleaseSession = 95,
  kReleaseValue = 96,
  kReleaseTypeInfo = 98,
  kReleaseTensorTypeAndShapeInfo = 99,
  kReleaseSessionOptions = 100,
};

// Enum values of the C API (plain ints on the ABI).
constexpr int kLoggingLevelError = 3;        // OrtLoggingLevel
constexpr int kExecutionModeSequential = 0;  // ExecutionMode
constexpr int kGraphOptBasic = 1;            // GraphOptimizationLevel
constexpr int kGraphOptAll = 99;
constexpr int kArenaAllocator = 1;  // OrtAllocatorType
constexpr int kMemTypeDefault = 0;  // OrtMemType

struct OrtApiBaseAbi {
  const void* const* (*GetApi)(uint32_t version);
  const char* (*GetVersionString)();
};

// A typed view of table entry `I`.
template <typename Fn>
Fn Entry(const void* const* api, int index) {
  return reinterpret_cast<Fn>(const_cast<void*>(api[index]));
}

using ReleaseFn = void (*)(void*);

// IEEE half <-> float, for graphs exported with half=True.
uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffffu;
  if (((x >> 23) & 0xff) == 0xff)
    return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0));
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7c00u);
  if (exp <= 0) {
    if (exp < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    const uint32_t shift = static_cast<uint32_t>(14 - exp);
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) ++half;  // round to nearest even
  return static_cast<uint16_t>(half);
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  float f;
  if (exp == 0) {
    f = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -f : f;
  }
  uint32_t x;
  if (exp == 31) {
    x = sign | 0x7f800000u | (mant << 13);
  } else {
    x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  std::memcpy(&f, &x, 4);
  return f;
}

}  // namespace

const char* OnnxElementTypeName(OnnxElementType type) {
  switch (type) {
    case OnnxElementType::kFloat:
      return "FP32";
    case OnnxElementType::kUint8:
      return "UINT8";
    case OnnxElementType::kInt8:
      return "INT8";
    case OnnxElementType::kInt32:
      return "INT32";
    case OnnxElementType::kInt64:
      return "INT64";
    case OnnxElementType::kBool:
      return "BOOL";
    case OnnxElementType::kFloat16:
      return "FP16";
    case OnnxElementType::kDouble:
      return "FP64";
    default:
      return "UNKNOWN";
  }
}

std::string OnnxRuntimeLibrary::DefaultPath() {
#ifdef YOLOSCOPE_ONNXRUNTIME_DEFAULT_LIB
  return YOLOSCOPE_ONNXRUNTIME_DEFAULT_LIB;
#else
  return "libonnxruntime.so.1";
#endif
}

StatusOr<std::shared_ptr<const OnnxRuntimeLibrary>> OnnxRuntimeLibrary::Load(
    const std::string& path_in) {
  const std::string path = path_in.empty() ? DefaultPath() : path_in;
  std::shared_ptr<OnnxRuntimeLibrary> lib(new OnnxRuntimeLibrary());
  lib->path_ = path;
  // RTLD_LOCAL: nothing of it leaks into the global namespace (it carries
  // its own protobuf and may bring a libstdc++-ABI-sensitive symbol set).
  lib->dl_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib->dl_ == nullptr) {
    const char* err = dlerror();
    return NotFoundError(
        "cannot load ONNX Runtime (" + path + "): " + (err ? err : "unknown error") +
        ". Install it with `scripts/setup.sh deps` (npm package onnxruntime-node under "
        "deps/onnxruntime), or point --onnxruntime-lib / YOLOSCOPE_ONNXRUNTIME_LIB at a "
        "libonnxruntime.so.1, or use --backend opencv or a TorchScript export");
  }
  auto get_base = reinterpret_cast<const OrtApiBaseAbi* (*)()>(dlsym(lib->dl_, "OrtGetApiBase"));
  if (get_base == nullptr) {
    return FailedPreconditionError(path + " is not ONNX Runtime (no OrtGetApiBase symbol)");
  }
  const OrtApiBaseAbi* base = get_base();
  if (base == nullptr || base->GetApi == nullptr) {
    return FailedPreconditionError(path + ": OrtGetApiBase returned nothing");
  }
  lib->version_ = base->GetVersionString ? base->GetVersionString() : "";
  lib->api_ = base->GetApi(kMinApiVersion);
  if (lib->api_ == nullptr) {
    return FailedPreconditionError("ONNX Runtime " + lib->version_ + " at " + path +
                                   " does not offer C API version " +
                                   std::to_string(kMinApiVersion) + " (too old; need >= 1.11)");
  }
  using CreateEnvFn = OrtStatusPtr (*)(int, const char*, void**);
  YS_RETURN_IF_ERROR(lib->Check(
      Entry<CreateEnvFn>(lib->api_, kCreateEnv)(kLoggingLevelError, "yoloscope", &lib->env_),
      "CreateEnv"));
  return std::shared_ptr<const OnnxRuntimeLibrary>(std::move(lib));
}

OnnxRuntimeLibrary::~OnnxRuntimeLibrary() {
  if (api_ != nullptr && env_ != nullptr) Entry<ReleaseFn>(api_, kReleaseEnv)(env_);
  // The library stays mapped: ONNX Runtime keeps thread-local state and
  // atexit handlers that must not outlive its code (dlclose would unmap it).
}

Status OnnxRuntimeLibrary::Check(void* ort_status, const char* what) const {
  if (ort_status == nullptr) return Status::Ok();
  using GetMessageFn = const char* (*)(const void*);
  std::string msg = Entry<GetMessageFn>(api_, kGetErrorMessage)(ort_status);
  Entry<ReleaseFn>(api_, kReleaseStatus)(ort_status);
  return InvalidArgumentError(std::string("onnxruntime ") + what + ": " + msg);
}

StatusOr<std::unique_ptr<OnnxSession>> OnnxRuntimeLibrary::CreateSession(
    const std::string& model_path, const OnnxSessionOptions& options) const {
  using CreateOptionsFn = OrtStatusPtr (*)(void**);
  using SetIntFn = OrtStatusPtr (*)(void*, int);
  using CreateSessionFn = OrtStatusPtr (*)(const void*, const char*, const void*, void**);
  using CountFn = OrtStatusPtr (*)(const void*, size_t*);
  using TypeInfoFn = OrtStatusPtr (*)(const void*, size_t, void**);
  using NameFn = OrtStatusPtr (*)(const void*, size_t, void*, char**);
  using CastFn = OrtStatusPtr (*)(const void*, const void**);
  using ElemTypeFn = OrtStatusPtr (*)(const void*, int*);
  using DimCountFn = OrtStatusPtr (*)(const void*, size_t*);
  using DimsFn = OrtStatusPtr (*)(const void*, int64_t*, size_t);
  using AllocatorFn = OrtStatusPtr (*)(void**);
  using FreeFn = OrtStatusPtr (*)(void*, void*);
  using MemInfoFn = OrtStatusPtr (*)(int, int, void**);

  void* so = nullptr;
  YS_RETURN_IF_ERROR(
      Check(Entry<CreateOptionsFn>(api_, kCreateSessionOptions)(&so), "CreateSessionOptions"));
  struct OptionsGuard {
    const void* const* api;
    void* so;
    ~OptionsGuard() { Entry<ReleaseFn>(api, kReleaseSessionOptions)(so); }
  } options_guard{api_, so};
  if (options.intra_op_threads > 0) {
    YS_RETURN_IF_ERROR(
        Check(Entry<SetIntFn>(api_, kSetIntraOpNumThreads)(so, options.intra_op_threads),
              "SetIntraOpNumThreads"));
  }
  // One batch runs at a time per session; the graph is a chain, so an
  // inter-op pool would only add idle threads.
  YS_RETURN_IF_ERROR(
      Check(Entry<SetIntFn>(api_, kSetInterOpNumThreads)(so, 1), "SetInterOpNumThreads"));
  YS_RETURN_IF_ERROR(
      Check(Entry<SetIntFn>(api_, kSetSessionExecutionMode)(so, kExecutionModeSequential),
            "SetSessionExecutionMode"));
  YS_RETURN_IF_ERROR(Check(Entry<SetIntFn>(api_, kSetSessionGraphOptimizationLevel)(
                               so, options.optimize ? kGraphOptAll : kGraphOptBasic),
                           "SetSessionGraphOptimizationLevel"));

  std::unique_ptr<OnnxSession> s(new OnnxSession());
  s->lib_ = shared_from_this();
  YS_RETURN_IF_ERROR(Check(
      Entry<CreateSessionFn>(api_, kCreateSession)(env_, model_path.c_str(), so, &s->session_),
      "cannot load the model"));
  YS_RETURN_IF_ERROR(Check(Entry<MemInfoFn>(api_, kCreateCpuMemoryInfo)(
                               kArenaAllocator, kMemTypeDefault, &s->memory_info_),
                           "CreateCpuMemoryInfo"));

  void* allocator = nullptr;
  YS_RETURN_IF_ERROR(Check(Entry<AllocatorFn>(api_, kGetAllocatorWithDefaultOptions)(&allocator),
                           "GetAllocatorWithDefaultOptions"));
  for (int io = 0; io < 2; ++io) {
    const bool input = io == 0;
    size_t count = 0;
    YS_RETURN_IF_ERROR(
        Check(Entry<CountFn>(api_, input ? kSessionGetInputCount : kSessionGetOutputCount)(
                  s->session_, &count),
              "SessionGetCount"));
    auto& specs = input ? s->inputs_ : s->outputs_;
    for (size_t i = 0; i < count; ++i) {
      OnnxTensorSpec spec;
      char* name = nullptr;
      YS_RETURN_IF_ERROR(
          Check(Entry<NameFn>(api_, input ? kSessionGetInputName : kSessionGetOutputName)(
                    s->session_, i, allocator, &name),
                "SessionGetName"));
      spec.name = name ? name : "";
      if (name) {
        YS_RETURN_IF_ERROR(
            Check(Entry<FreeFn>(api_, kAllocatorFree)(allocator, name), "AllocatorFree"));
      }
      void* type_info = nullptr;
      YS_RETURN_IF_ERROR(Check(
          Entry<TypeInfoFn>(api_, input ? kSessionGetInputTypeInfo : kSessionGetOutputTypeInfo)(
              s->session_, i, &type_info),
          "SessionGetTypeInfo"));
      struct TypeInfoGuard {
        const void* const* api;
        void* p;
        ~TypeInfoGuard() { Entry<ReleaseFn>(api, kReleaseTypeInfo)(p); }
      } type_guard{api_, type_info};
      const void* tensor_info = nullptr;  // owned by type_info
      YS_RETURN_IF_ERROR(
          Check(Entry<CastFn>(api_, kCastTypeInfoToTensorInfo)(type_info, &tensor_info),
                "CastTypeInfoToTensorInfo"));
      if (tensor_info == nullptr) {
        // A sequence or map: nothing a detector outputs or takes.
        specs.push_back(std::move(spec));
        continue;
      }
      int elem = 0;
      YS_RETURN_IF_ERROR(Check(Entry<ElemTypeFn>(api_, kGetTensorElementType)(tensor_info, &elem),
                               "GetTensorElementType"));
      spec.type = static_cast<OnnxElementType>(elem);
      size_t ndims = 0;
      YS_RETURN_IF_ERROR(Check(Entry<DimCountFn>(api_, kGetDimensionsCount)(tensor_info, &ndims),
                               "GetDimensionsCount"));
      spec.dims.assign(ndims, -1);
      if (ndims > 0) {
        YS_RETURN_IF_ERROR(
            Check(Entry<DimsFn>(api_, kGetDimensions)(tensor_info, spec.dims.data(), ndims),
                  "GetDimensions"));
      }
      for (int64_t& d : spec.dims) {
        if (d <= 0) d = -1;  // symbolic ("batch", "height") or unknown
      }
      specs.push_back(std::move(spec));
    }
  }
  if (s->inputs_.empty() || s->outputs_.empty()) {
    return InvalidArgumentError("ONNX model has no inputs or no outputs: " + model_path);
  }
  return s;
}

OnnxSession::~OnnxSession() {
  if (!lib_) return;
  if (memory_info_) Entry<ReleaseFn>(lib_->api_, kReleaseMemoryInfo)(memory_info_);
  if (session_) Entry<ReleaseFn>(lib_->api_, kReleaseSession)(session_);
}

Status OnnxSession::RunFloat(const float* input, const std::vector<int64_t>& dims,
                             std::vector<int64_t>* out_dims, std::vector<float>* out_data) {
  using CreateTensorFn =
      OrtStatusPtr (*)(const void*, void*, size_t, const int64_t*, size_t, int, void**);
  using RunFn = OrtStatusPtr (*)(void*, const void*, const char* const*, const void* const*, size_t,
                                 const char* const*, size_t, void**);
  using TypeAndShapeFn = OrtStatusPtr (*)(const void*, void**);
  using ElemTypeFn = OrtStatusPtr (*)(const void*, int*);
  using DimCountFn = OrtStatusPtr (*)(const void*, size_t*);
  using DimsFn = OrtStatusPtr (*)(const void*, int64_t*, size_t);
  using DataFn = OrtStatusPtr (*)(void*, void**);
  const void* const* api = lib_->api_;

  size_t count = 1;
  for (int64_t d : dims) count *= static_cast<size_t>(d);
  const OnnxTensorSpec& in_spec = inputs_[0];
  void* data = const_cast<float*>(input);  // ORT only reads an input tensor
  size_t bytes = count * sizeof(float);
  int elem = static_cast<int>(OnnxElementType::kFloat);
  if (in_spec.type == OnnxElementType::kFloat16) {
    half_input_.resize(count);
    for (size_t i = 0; i < count; ++i) half_input_[i] = FloatToHalf(input[i]);
    data = half_input_.data();
    bytes = count * sizeof(uint16_t);
    elem = static_cast<int>(OnnxElementType::kFloat16);
  } else if (in_spec.type != OnnxElementType::kFloat) {
    return InvalidArgumentError(std::string("input '") + in_spec.name + "' has element type " +
                                OnnxElementTypeName(in_spec.type) + " (expected FP32 or FP16)");
  }

  void* in_value = nullptr;
  YS_RETURN_IF_ERROR(
      lib_->Check(Entry<CreateTensorFn>(api, kCreateTensorWithDataAsOrtValue)(
                      memory_info_, data, bytes, dims.data(), dims.size(), elem, &in_value),
                  "CreateTensorWithDataAsOrtValue"));
  struct ValueGuard {
    const void* const* api;
    void* v = nullptr;
    ~ValueGuard() {
      if (v) Entry<ReleaseFn>(api, kReleaseValue)(v);
    }
  } in_guard{api, in_value}, out_guard{api};

  const char* in_name = in_spec.name.c_str();
  const char* out_name = outputs_[0].name.c_str();
  const void* inputs[1] = {in_value};
  YS_RETURN_IF_ERROR(lib_->Check(
      Entry<RunFn>(api, kRun)(session_, nullptr, &in_name, inputs, 1, &out_name, 1, &out_guard.v),
      "Run"));
  void* shape_info = nullptr;
  YS_RETURN_IF_ERROR(
      lib_->Check(Entry<TypeAndShapeFn>(api, kGetTensorTypeAndShape)(out_guard.v, &shape_info),
                  "GetTensorTypeAndShape"));
  struct ShapeGuard {
    const void* const* api;
    void* p;
    ~ShapeGuard() { Entry<ReleaseFn>(api, kReleaseTensorTypeAndShapeInfo)(p); }
  } shape_guard{api, shape_info};
  int out_elem = 0;
  YS_RETURN_IF_ERROR(
      lib_->Check(Entry<ElemTypeFn>(api, kGetTensorElementType)(shape_info, &out_elem),
                  "GetTensorElementType"));
  size_t ndims = 0;
  YS_RETURN_IF_ERROR(lib_->Check(Entry<DimCountFn>(api, kGetDimensionsCount)(shape_info, &ndims),
                                 "GetDimensionsCount"));
  out_dims->resize(ndims);
  YS_RETURN_IF_ERROR(lib_->Check(
      Entry<DimsFn>(api, kGetDimensions)(shape_info, out_dims->data(), ndims), "GetDimensions"));
  size_t n = 1;
  for (int64_t d : *out_dims) n *= static_cast<size_t>(std::max<int64_t>(d, 0));
  void* out_ptr = nullptr;
  YS_RETURN_IF_ERROR(lib_->Check(Entry<DataFn>(api, kGetTensorMutableData)(out_guard.v, &out_ptr),
                                 "GetTensorMutableData"));
  out_data->resize(n);
  if (out_elem == static_cast<int>(OnnxElementType::kFloat)) {
    std::memcpy(out_data->data(), out_ptr, n * sizeof(float));
  } else if (out_elem == static_cast<int>(OnnxElementType::kFloat16)) {
    const auto* h = static_cast<const uint16_t*>(out_ptr);
    for (size_t i = 0; i < n; ++i) (*out_data)[i] = HalfToFloat(h[i]);
  } else {
    return InvalidArgumentError(std::string("output '") + out_name + "' has element type " +
                                OnnxElementTypeName(static_cast<OnnxElementType>(out_elem)) +
                                " (expected FP32 or FP16)");
  }
  return Status::Ok();
}

}  // namespace yoloscope
