// `yoloscope model inspect FILE` and `yoloscope model convert FILE.pt`:
// flags -> BackendConfig / ConvertOptions -> ModelInspector / ModelConverter.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "pipeline/model_converter.h"
#include "pipeline/model_inspector.h"

namespace yoloscope {

int ModelMain(int argc, char** argv) {
  CLI::App app{
      "Inspect a model file (format, engine, layout, classes, input size, batch, "
      "metadata, preprocessing, why it would not load) or convert an Ultralytics "
      "checkpoint.",
      "yoloscope model"};
  app.require_subcommand(1);
  BackendConfig bc;
  bool json = false;
  int imgsz = 0;
  CLI::App* inspect = app.add_subcommand("inspect", "describe a model file");
  inspect->add_option("file", bc.model_path, "model file (.onnx, .torchscript, .pt)")->required();
  inspect->add_option("--backend,-b", bc.kind, "onnxruntime | torch | opencv | auto")
      ->default_val("auto");
  inspect->add_option("--imgsz", imgsz, "input size override (square)");
  inspect->add_option("--onnxruntime-lib", bc.onnxruntime_library, "libonnxruntime.so.1 to load");
  inspect->add_option("--names", bc.names_path, "class names file");
  inspect->add_flag("--json", json, "one JSON object instead of text");

  ConvertOptions co;
  CLI::App* convert =
      app.add_subcommand("convert", "export an Ultralytics .pt with Ultralytics' own exporter");
  convert->add_option("file", co.checkpoint, "the .pt checkpoint")->required();
  convert->add_option("--format", co.format, "onnx | torchscript")->default_val("onnx");
  convert->add_option("--imgsz", co.imgsz, "export size")->default_val(640);
  convert->add_flag("--dynamic", co.dynamic, "ONNX: dynamic batch/height/width");
  convert->add_option("--opset", co.opset, "ONNX opset (0 = exporter's default)");
  convert->add_option("--python", co.python, "Python with ultralytics")->default_val("python3");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (inspect->parsed()) {
    if (imgsz > 0) bc.input_w = bc.input_h = imgsz;
    auto report = ModelInspector::Inspect(bc);
    if (!report.ok()) {
      std::fprintf(stderr, "yoloscope model inspect: %s\n", report.status().ToString().c_str());
      return 2;
    }
    if (report->format == "pytorch-checkpoint" && ModelConverter::PythonHasUltralytics("python3")) {
      report->error +=
          "\nor let yoloscope run that for you: yoloscope model convert " + report->path;
    }
    std::fputs(json ? (report->ToJson() + "\n").c_str() : report->ToText().c_str(), stdout);
    return report->loads ? 0 : 1;
  }
  auto out = ModelConverter::Convert(co);
  if (!out.ok()) {
    std::fprintf(stderr, "yoloscope model convert: %s\n", out.status().message().c_str());
    return out.status().code() == StatusCode::kFailedPrecondition ? 1 : 2;
  }
  std::printf("%s\n", out->c_str());
  return 0;
}

}  // namespace yoloscope
