#include "backends/model_file.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <vector>

namespace yoloscope {
namespace {

// A zip's central directory (every entry name) sits at its end; torch's
// archives keep it well inside this tail even for large models.
constexpr int64_t kTailBytes = 4 << 20;
// data.pkl is the first entry of a torch.save archive; its class paths
// (e.g. "ultralytics.nn.tasks") appear in the first MiB.
constexpr int64_t kHeadBytes = 1 << 20;

std::string ReadRange(std::ifstream& in, int64_t offset, int64_t count) {
  std::string buf(static_cast<size_t>(std::max<int64_t>(count, 0)), '\0');
  in.clear();
  in.seekg(offset);
  in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
  buf.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return buf;
}

bool HasExtension(const std::string& path, std::initializer_list<std::string_view> exts) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(exts.begin(), exts.end(), ext) != exts.end();
}

}  // namespace

const char* ModelFileFormatName(ModelFileFormat format) {
  switch (format) {
    case ModelFileFormat::kOnnx:
      return "onnx";
    case ModelFileFormat::kTorchScript:
      return "torchscript";
    case ModelFileFormat::kPyTorchCheckpoint:
      return "pytorch-checkpoint";
    case ModelFileFormat::kSimConfig:
      return "sim";
    default:
      return "unknown";
  }
}

StatusOr<ModelFile> ModelFile::Sniff(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFoundError("model file not found: " + path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open model file " + path);
  ModelFile mf;
  mf.size_bytes = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  const std::string head = ReadRange(in, 0, std::min<int64_t>(kHeadBytes, mf.size_bytes));
  if (head.size() >= 4 && head.compare(0, 4, "PK\x03\x04") == 0) {
    const int64_t tail_at = std::max<int64_t>(0, mf.size_bytes - kTailBytes);
    const std::string tail = ReadRange(in, tail_at, mf.size_bytes - tail_at);
    const bool code =
        tail.find("/code/") != std::string::npos || tail.find("constants.pkl") != std::string::npos;
    const bool data = tail.find("data.pkl") != std::string::npos;
    if (code) {
      mf.format = ModelFileFormat::kTorchScript;
    } else if (data) {
      mf.format = ModelFileFormat::kPyTorchCheckpoint;
      mf.ultralytics_checkpoint = head.find("ultralytics") != std::string::npos;
    }
    return mf;
  }
  if (HasExtension(path, {".yaml", ".yml", ".sim"})) {
    mf.format = ModelFileFormat::kSimConfig;
    return mf;
  }
  // ModelProto field 1 (ir_version, varint) is what every exporter writes
  // first; the metadata reader validates the rest.
  if (!head.empty() && static_cast<unsigned char>(head[0]) == 0x08) {
    mf.format = ModelFileFormat::kOnnx;
    return mf;
  }
  // A legacy (pre-1.6, non-zip) torch.save pickle starts with the pickle
  // protocol opcode 0x80.
  if (!head.empty() && static_cast<unsigned char>(head[0]) == 0x80) {
    mf.format = ModelFileFormat::kPyTorchCheckpoint;
    mf.ultralytics_checkpoint = head.find("ultralytics") != std::string::npos;
  }
  return mf;
}

std::string ModelFile::CheckpointAdvice(const std::string& path, bool ultralytics,
                                        bool python_has_ultralytics) {
  std::string msg = path + " is a " +
                    std::string(ultralytics ? "Ultralytics training checkpoint"
                                            : "PyTorch checkpoint (torch.save)") +
                    ": a pickle of Python objects, which no C++ runtime can load. Export it "
                    "first, then serve the exported file:\n"
                    "  yolo export model=" +
                    path +
                    " format=onnx          # -> .onnx (default engine: onnxruntime)\n"
                    "  yolo export model=" +
                    path + " format=torchscript   # -> .torchscript (engine: torch)";
  if (python_has_ultralytics) {
    msg += "\nor let yoloscope run that for you: yoloscope model convert " + path;
  }
  return msg;
}

}  // namespace yoloscope
