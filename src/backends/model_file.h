// ModelFile: what kind of model file a path holds, told from its bytes
// rather than its name, so a user's file gets the right engine or a message
// that says what to do with it.
//
// - ONNX: a protobuf ModelProto (opens with field 1, ir_version).
// - TorchScript: a zip archive with `constants.pkl` / `code/` entries
//   (torch.jit.save; Ultralytics' `format=torchscript`).
// - PyTorch checkpoint: a zip archive with `data.pkl` and no code
//   (torch.save; Ultralytics' training output `best.pt`/`last.pt`), which
//   libtorch cannot run: it needs the Python classes that pickled it. Marked
//   `ultralytics` when the pickle names Ultralytics' modules.
// - sim: a .yaml/.yml/.sim configuration of the simulated GPU.
//
// Reads at most a few MiB (the archive's head and its central directory).
// Stateless; thread-safe.
#pragma once

#include <string>

#include "common/status.h"

namespace yoloscope {

enum class ModelFileFormat {
  kUnknown = 0,
  kOnnx,
  kTorchScript,
  kPyTorchCheckpoint,
  kSimConfig,
};

const char* ModelFileFormatName(ModelFileFormat format);  // "onnx", "torchscript", ...

struct ModelFile {
  ModelFileFormat format = ModelFileFormat::kUnknown;
  bool ultralytics_checkpoint = false;  // kPyTorchCheckpoint written by Ultralytics
  int64_t size_bytes = 0;

  // NotFound when the file cannot be opened; kUnknown format otherwise.
  static StatusOr<ModelFile> Sniff(const std::string& path);

  // The message for a checkpoint: what it is and the export command that
  // turns it into a file yoloscope runs (mentions `yoloscope model convert`
  // when `python_has_ultralytics`).
  static std::string CheckpointAdvice(const std::string& path, bool ultralytics,
                                      bool python_has_ultralytics);
};

}  // namespace yoloscope
