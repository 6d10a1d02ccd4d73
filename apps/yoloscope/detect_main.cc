// `yoloscope detect`: flags -> DetectorConfig -> Detector, one JSON line per
// image, or per frame of a video stream (--stream URI).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/clock.h"
#include "pipeline/annotator.h"
#include "pipeline/detector.h"
#include "stream/stream_source.h"

namespace yoloscope {
namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

double Round3(double v) { return std::round(v * 1000.0) / 1000.0; }

nlohmann::json DetectionsJson(const Detections& detections, const ModelInfo& info) {
  nlohmann::json dets = nlohmann::json::array();
  for (const Detection& d : detections) {
    dets.push_back({{"class_id", d.class_id},
                    {"label", info.Label(d.class_id)},
                    {"score", Round3(d.score)},
                    {"box", {Round3(d.x1), Round3(d.y1), Round3(d.x2), Round3(d.y2)}}});
  }
  return dets;
}

nlohmann::json ToJson(const std::string& file, const ImageResult& r, const ModelInfo& info) {
  const nlohmann::json dets = DetectionsJson(r.detections, info);
  return {{"file", file},
          {"width", r.width},
          {"height", r.height},
          {"detections", dets},
          {"speed_ms",
           {{"decode", Round3(r.times.decode_ms)},
            {"preprocess", Round3(r.times.preprocess_ms)},
            {"inference", Round3(r.times.inference_ms)},
            {"postprocess", Round3(r.times.postprocess_ms)}}}};
}

// Expands directories into the image files they hold (sorted).
std::vector<std::string> ExpandInputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (std::filesystem::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (const auto& e : std::filesystem::directory_iterator(in, ec)) {
        if (e.is_regular_file()) found.push_back(e.path().string());
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(in);
    }
  }
  return files;
}

// Every frame (or every due frame at `fps`) of `uri` through `detector`:
// one JSON line per frame. Exit 0 when the stream was read to its end, 1
// when it failed (the reason on stderr).
int DetectStream(Detector* detector, const std::string& uri, double fps, int64_t max_frames) {
  StreamConfig sc;
  sc.name = "detect";
  sc.uri = uri;
  sc.target_fps = fps;
  sc.drop_policy = FrameDropPolicy::kBlock;  // offline: every frame, nothing dropped
  sc.max_reconnects = 0;                     // a live source that stops ends the run
  RealClock clock;
  auto source = StreamSource::Create(sc, &clock, [](const StreamEvent& e) {
    std::fprintf(stderr, "yoloscope detect: %s\n", e.message.c_str());
  });
  if (!source.ok()) {
    std::fprintf(stderr, "yoloscope detect: %s\n", source.status().message().c_str());
    return 2;
  }
  (*source)->Start();
  int64_t processed = 0, failed = 0;
  const std::string shown = RedactStreamUri(uri);
  while (!(*source)->finished() && (max_frames <= 0 || processed + failed < max_frames)) {
    auto frame = (*source)->Next(std::chrono::milliseconds(200));
    if (!frame) continue;
    auto r = detector->DetectPixels(frame->rgb);
    if (!r.ok()) {
      std::fprintf(stderr, "yoloscope detect: %s frame %lld: %s\n", shown.c_str(),
                   static_cast<long long>(frame->index), r.status().ToString().c_str());
      ++failed;
      continue;
    }
    nlohmann::json line = {{"stream", shown},
                           {"frame_index", frame->index},
                           {"width", r->width},
                           {"height", r->height},
                           {"detections", DetectionsJson(r->detections, detector->model())},
                           {"speed_ms",
                            {{"decode", Round3(frame->decode_ms)},
                             {"preprocess", Round3(r->times.preprocess_ms)},
                             {"inference", Round3(r->times.inference_ms)},
                             {"postprocess", Round3(r->times.postprocess_ms)}}}};
    if (frame->pts_ms) line["pts_ms"] = Round3(*frame->pts_ms);
    std::printf("%s\n", line.dump().c_str());
    ++processed;
  }
  std::fflush(stdout);
  (*source)->Stop();
  const StreamSourceStats st = (*source)->Stats();
  std::fprintf(stderr,
               "yoloscope detect: %s: %lld frames read, %lld processed, %lld failed, %lld skipped "
               "(fps), %lld not processed (--max-frames)\n",
               shown.c_str(), static_cast<long long>(st.frames_read),
               static_cast<long long>(processed), static_cast<long long>(failed),
               static_cast<long long>(st.frames_skipped),
               static_cast<long long>(st.frames_dropped));
  if (st.state == StreamState::kFailed) {
    std::fprintf(stderr, "yoloscope detect: %s\n", st.error.c_str());
    return 1;
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace

int DetectMain(int argc, char** argv) {
  CLI::App app{"Run the detection pipeline on image files; prints one JSON object per image.",
               "yoloscope detect"};
  DetectorConfig cfg;
  std::vector<std::string> inputs;
  std::string draw_dir;
  int imgsz = 0;
  app.add_option("--model,-m", cfg.backend.model_path, "model file (.onnx, .torchscript)")
      ->required();
  app.add_flag("--fast-decode", cfg.dct_downscale,
               "decode large JPEGs at 1/2-1/8 scale (faster; input differs from Ultralytics')");
  app.add_option("--onnxruntime-lib", cfg.backend.onnxruntime_library,
                 "libonnxruntime.so.1 to load for .onnx models");
  app.add_option("--backend,-b", cfg.backend.kind,
                 "onnxruntime | torch | opencv | auto (by file content)")
      ->default_val("auto");
  app.add_option("--device", cfg.backend.device, "cpu or cuda:N")->default_val("cpu");
  app.add_option("--precision", cfg.backend.precision, "fp32 | fp16 (CUDA only)")
      ->default_val("fp32");
  app.add_option("--gpu-memory-fraction", cfg.backend.gpu_memory_fraction,
                 "CUDA: cap on this process's GPU memory, in (0, 1]")
      ->default_val(0.8)
      ->check(CLI::Range(0.0, 1.0))
      ->check(CLI::Validator(
          [](std::string& v) { return std::stod(v) > 0 ? std::string() : "must be > 0"; }, ""));
  app.add_flag("--cuda-graphs", cfg.backend.cuda_graphs,
               "CUDA: capture a CUDA graph per batch size");
  app.add_option("--names", cfg.backend.names_path, "class names file (one per line)");
  app.add_option("--threads", cfg.backend.num_threads, "intra-op threads (0 = all cores)");
  app.add_option("--conf", cfg.postprocess.conf, "confidence threshold")->default_val(0.25);
  app.add_option("--iou", cfg.postprocess.iou, "NMS IoU threshold")->default_val(0.7);
  app.add_option("--max-det", cfg.postprocess.max_det, "maximum detections per image")
      ->default_val(300);
  app.add_flag("--agnostic-nms", cfg.postprocess.agnostic, "class-agnostic NMS");
  app.add_option("--imgsz", imgsz, "network input size (square); 0 = the model's");
  app.add_option("--batch", cfg.backend.max_batch, "images per batch")->default_val(1);
  app.add_option("--max-pixels", cfg.max_pixels, "reject images with more pixels")
      ->default_val(40'000'000);
  app.add_option("--draw", draw_dir, "write annotated copies into this folder");
  std::string stream_uri;
  double stream_fps = 0;
  int64_t max_frames = 0;
  app.add_option("--stream", stream_uri,
                 "a video instead of images: a file, rtsp://, udp://, http://, /dev/videoN; one "
                 "JSON line per frame (docs/streams.md)");
  app.add_option("--fps", stream_fps,
                 "--stream: frames per second, sampled by presentation "
                 "time (default 0 = every frame)")
      ->check(CLI::Range(0.0, 1000.0));
  app.add_option("--max-frames", max_frames, "--stream: stop after this many frames (0 = all)");
  app.add_option("images", inputs, "image files or folders");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (inputs.empty() == stream_uri.empty()) {
    std::fprintf(stderr, "yoloscope detect: give image files or folders, or --stream URI%s\n",
                 inputs.empty() ? "" : " (not both)");
    return 2;
  }
  if (imgsz > 0) cfg.backend.input_w = cfg.backend.input_h = imgsz;
  if (cfg.backend.max_batch < 1) cfg.backend.max_batch = 1;

  auto detector = Detector::Create(cfg);
  if (!detector.ok()) {
    std::fprintf(stderr, "yoloscope detect: %s\n", detector.status().ToString().c_str());
    return 2;
  }
  for (const std::string& note : (*detector)->model().notes) {
    std::fprintf(stderr, "yoloscope detect: note: %s\n", note.c_str());
  }
  if (!stream_uri.empty()) {
    if (!draw_dir.empty()) {
      std::fprintf(stderr, "yoloscope detect: --draw is for images, not --stream\n");
      return 2;
    }
    return DetectStream(detector->get(), stream_uri, stream_fps, max_frames);
  }
  std::unique_ptr<Annotator> annotator;
  if (!draw_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(draw_dir, ec);
    if (ec) {
      std::fprintf(stderr, "yoloscope detect: cannot create %s: %s\n", draw_dir.c_str(),
                   ec.message().c_str());
      return 2;
    }
    annotator = std::make_unique<Annotator>();
  }

  const std::vector<std::string> files = ExpandInputs(inputs);
  const size_t batch = static_cast<size_t>(cfg.backend.max_batch);
  int failures = 0;
  for (size_t start = 0; start < files.size(); start += batch) {
    size_t end = std::min(files.size(), start + batch);
    std::vector<std::string> bytes(end - start);
    std::vector<std::string_view> views;
    std::vector<size_t> index;  // which files were readable
    for (size_t i = start; i < end; ++i) {
      if (!ReadFile(files[i], &bytes[i - start])) {
        std::fprintf(stderr, "yoloscope detect: %s: cannot read file\n", files[i].c_str());
        ++failures;
        continue;
      }
      views.push_back(bytes[i - start]);
      index.push_back(i);
    }
    auto results = (*detector)->DetectBatch(views);
    for (size_t k = 0; k < results.size(); ++k) {
      const std::string& file = files[index[k]];
      if (!results[k].ok()) {
        std::fprintf(stderr, "yoloscope detect: %s: %s\n", file.c_str(),
                     results[k].status().ToString().c_str());
        ++failures;
        continue;
      }
      std::printf("%s\n", ToJson(file, *results[k], (*detector)->model()).dump().c_str());
      if (annotator) {
        std::string out =
            (std::filesystem::path(draw_dir) / std::filesystem::path(file).filename()).string();
        Status s = annotator->Write(views[k], results[k]->detections, (*detector)->model(), out);
        if (!s.ok()) {
          std::fprintf(stderr, "yoloscope detect: %s: %s\n", file.c_str(), s.ToString().c_str());
          ++failures;
        }
      }
    }
    std::fflush(stdout);
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace yoloscope
