// OnnxRuntimeLibrary: ONNX Runtime's shared library (libonnxruntime.so.1)
// loaded at run time with dlopen, and the few C API calls yoloscope makes.
//
// Why dlopen: Debian 12 has no ONNX Runtime package. The npm package
// onnxruntime-node ships the prebuilt CPU library but no C headers, and a
// normal install (release archive, find_package(onnxruntime)) ships both.
// The C API is a versioned, append-only table of function pointers reached
// through the one exported symbol OrtGetApiBase(); this class declares the
// entries it calls by their documented position in that table (see
// onnxruntime_library.cc), so the same binary works with any library at
// least as new as kMinApiVersion, wherever it was installed.
//
// Ownership: Load() returns a shared handle; the library stays loaded while
// any handle (and so any session built through it) lives. The OrtEnv is
// created once per handle and released with it.
// Thread-safety: the loaded table is immutable; ONNX Runtime's own
// thread-safety rules apply to the sessions (one Run at a time per backend
// here, see Backend).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace yoloscope {

// Element types of ONNX tensors (the values of onnx.TensorProto.DataType).
enum class OnnxElementType : int {
  kUndefined = 0,
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
};
const char* OnnxElementTypeName(OnnxElementType type);

// One input or output of a session, as the graph declares it. Dimensions
// are -1 where the graph leaves them symbolic (e.g. "batch").
struct OnnxTensorSpec {
  std::string name;
  OnnxElementType type = OnnxElementType::kUndefined;
  std::vector<int64_t> dims;
};

struct OnnxSessionOptions {
  int intra_op_threads = 0;  // 0 = ONNX Runtime's default (one per core)
  bool optimize = true;      // ORT_ENABLE_ALL graph optimizations (else basic only)
};

class OnnxRuntimeLibrary;

// One loaded model (an OrtSession). Not copyable; Run is for one thread at a
// time (the backend's contract).
class OnnxSession {
 public:
  ~OnnxSession();
  OnnxSession(const OnnxSession&) = delete;
  OnnxSession& operator=(const OnnxSession&) = delete;

  const std::vector<OnnxTensorSpec>& inputs() const { return inputs_; }
  const std::vector<OnnxTensorSpec>& outputs() const { return outputs_; }

  // Runs the graph on one float32 input (the first graph input) of shape
  // `dims`, borrowed for the call, and copies the first output (float32,
  // or float16 converted) into *out_data with its shape in *out_dims
  // (both reused across calls). Other outputs are not computed.
  Status RunFloat(const float* input, const std::vector<int64_t>& dims,
                  std::vector<int64_t>* out_dims, std::vector<float>* out_data);

 private:
  friend class OnnxRuntimeLibrary;
  OnnxSession() = default;

  std::shared_ptr<const OnnxRuntimeLibrary> lib_;
  void* session_ = nullptr;      // OrtSession*
  void* memory_info_ = nullptr;  // OrtMemoryInfo* (CPU)
  std::vector<OnnxTensorSpec> inputs_, outputs_;
  std::vector<uint16_t> half_input_;  // reused when the graph takes float16
};

class OnnxRuntimeLibrary : public std::enable_shared_from_this<OnnxRuntimeLibrary> {
 public:
  // The oldest C API version whose table holds every entry used here.
  static constexpr uint32_t kMinApiVersion = 11;

  // dlopen()s `path` ("" = DefaultPath()) and creates the OrtEnv. NotFound
  // when the library cannot be opened (the message says how to install it),
  // FailedPrecondition when it is too old or not ONNX Runtime.
  static StatusOr<std::shared_ptr<const OnnxRuntimeLibrary>> Load(const std::string& path = "");

  // Where Load("") looks: the library found when the build was configured
  // (YOLOSCOPE_ONNXRUNTIME_DEFAULT_LIB: the npm package under
  // deps/onnxruntime, or find_package(onnxruntime)), else
  // "libonnxruntime.so.1" on the loader's search path.
  static std::string DefaultPath();

  ~OnnxRuntimeLibrary();

  const std::string& path() const { return path_; }
  const std::string& version() const { return version_; }  // e.g. "1.31.1"

  // Builds a session for the ONNX file at `model_path`. InvalidArgument
  // with ONNX Runtime's own message when the graph does not load.
  StatusOr<std::unique_ptr<OnnxSession>> CreateSession(const std::string& model_path,
                                                       const OnnxSessionOptions& options) const;

 private:
  friend class OnnxSession;
  OnnxRuntimeLibrary() = default;

  // Turns an OrtStatus* into a Status (and releases it); Ok for nullptr.
  Status Check(void* ort_status, const char* what) const;

  void* dl_ = nullptr;                // dlopen handle
  const void* const* api_ = nullptr;  // the OrtApi function table
  void* env_ = nullptr;               // OrtEnv*
  std::string path_, version_;
};

}  // namespace yoloscope
