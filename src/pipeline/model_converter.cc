#include "pipeline/model_converter.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "backends/model_file.h"

namespace yoloscope {
namespace {

// Runs argv (no shell: paths are passed as they are) and returns its exit
// status; -1 when it could not be started.
int RunProcess(const std::vector<std::string>& args, bool quiet) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (quiet) {
      freopen("/dev/null", "w", stdout);
      freopen("/dev/null", "w", stderr);
    }
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A Python string literal for `s` (repr-style, single quotes).
std::string PyQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

}  // namespace

bool ModelConverter::PythonHasUltralytics(const std::string& python) {
  return RunProcess({python, "-c", "import ultralytics"}, /*quiet=*/true) == 0;
}

StatusOr<std::string> ModelConverter::Convert(const ConvertOptions& o) {
  if (o.format != "onnx" && o.format != "torchscript") {
    return InvalidArgumentError("--format must be onnx or torchscript, got '" + o.format + "'");
  }
  if (o.imgsz <= 0 || o.imgsz % 32 != 0) {
    return InvalidArgumentError("--imgsz must be a positive multiple of 32, got " +
                                std::to_string(o.imgsz));
  }
  auto sniffed = ModelFile::Sniff(o.checkpoint);
  if (!sniffed.ok()) return sniffed.status();
  if (sniffed->format != ModelFileFormat::kPyTorchCheckpoint) {
    return InvalidArgumentError(o.checkpoint + " is " + ModelFileFormatName(sniffed->format) +
                                ", not a PyTorch checkpoint: nothing to convert");
  }
  std::string cmd = "yolo export model=" + o.checkpoint + " format=" + o.format +
                    " imgsz=" + std::to_string(o.imgsz) + (o.dynamic ? " dynamic=True" : "");
  if (!PythonHasUltralytics(o.python)) {
    return FailedPreconditionError("'" + o.python +
                                   "' cannot import ultralytics, so the checkpoint cannot be "
                                   "exported here. Run this where Ultralytics is installed:\n  " +
                                   cmd);
  }
  std::string kwargs = "format=" + PyQuote(o.format) + ", imgsz=" + std::to_string(o.imgsz);
  if (o.dynamic) kwargs += ", dynamic=True";
  if (o.opset > 0) kwargs += ", opset=" + std::to_string(o.opset);
  const std::string script =
      "import sys\nfrom ultralytics import YOLO\n"
      "out = YOLO(" +
      PyQuote(o.checkpoint) + ").export(" + kwargs + ")\nprint(out)\n";
  const int rc = RunProcess({o.python, "-c", script}, /*quiet=*/false);
  if (rc != 0) {
    return InternalError("Ultralytics' exporter failed (exit " + std::to_string(rc) +
                         "); the command was equivalent to: " + cmd);
  }
  std::filesystem::path out(o.checkpoint);
  out.replace_extension(o.format == "onnx" ? ".onnx" : ".torchscript");
  if (!std::filesystem::exists(out)) {
    return InternalError("the exporter finished but " + out.string() + " is missing");
  }
  return out.string();
}

}  // namespace yoloscope
