// image_bench: decode + letterbox of a 1920x1080 JPEG to a 640x640 float
// tensor on one core, ImageDecoder (TurboJPEG with DCT scaling) + Letterbox
// (fused pad/normalise/CHW) against the plain OpenCV way (cv::imdecode,
// cv::resize, cv::copyMakeBorder, then blobFromImage's steps: BGR->RGB,
// /255, split into planes), in the same run. Also decode alone with and
// without DCT scaling, and letterbox alone.
//
// The test JPEG is made at startup: kite.jpg from Debian's darknet package
// resized to 1920x1080 and encoded at quality 90 (a synthetic picture if the
// photo is absent). OpenCV is limited to one thread.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "image/image_decoder.h"
#include "image/letterbox.h"

namespace yoloscope {
namespace {

constexpr char kPhoto[] = "/usr/share/darknet/data/kite.jpg";
constexpr int kNetSize = 640;

using Bytes = std::vector<uint8_t>;

Bytes MakeJpeg1080p() {
  cv::Mat bgr = cv::imread(kPhoto, cv::IMREAD_COLOR);
  if (bgr.empty()) {
    std::fprintf(stderr, "%s absent: using a synthetic picture\n", kPhoto);
    bgr.create(1080, 1920, CV_8UC3);
    cv::randu(bgr, 0, 255);
    cv::GaussianBlur(bgr, bgr, {0, 0}, 3);
  }
  cv::resize(bgr, bgr, {1920, 1080}, 0, 0, cv::INTER_CUBIC);
  Bytes jpeg;
  cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
  return jpeg;
}

// How the decoder may shrink the JPEG: not at all, by 1/2^k (the default
// policy: 1/2 for 1080p -> 640), or by any TurboJPEG factor (3/8 here).
enum class Scaling { kFull, kPowerOfTwo, kAnyFactor };

DecodeOptions NetOptions(Scaling scaling) {
  DecodeOptions options;
  if (scaling != Scaling::kFull) {
    options.target_w = kNetSize;
    options.target_h = kNetSize;
  }
  options.power_of_two_scales_only = scaling == Scaling::kPowerOfTwo;
  return options;
}

// ImageDecoder + Letterbox::ToTensor; objects and the tensor are reused
// across iterations as a worker thread would.
void BM_Ours_DecodeLetterbox(benchmark::State& state, const Bytes* jpeg, Scaling scaling) {
  ImageDecoder decoder;
  Letterbox letterbox;
  Image image;
  std::vector<float> tensor(3 * kNetSize * kNetSize);
  const DecodeOptions options = NetOptions(scaling);
  for (auto _ : state) {
    auto decoded = decoder.Decode(jpeg->data(), jpeg->size(), options, &image);
    if (!decoded.ok()) {
      state.SkipWithError(decoded.status().ToString().c_str());
      break;
    }
    auto transform = letterbox.ToTensor(image, *decoded, tensor.data(), tensor.size());
    if (!transform.ok()) {
      state.SkipWithError(transform.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(tensor.data());
    benchmark::ClobberMemory();
  }
}

// The plain OpenCV way, as most YOLO C++ samples do it: fresh Mats per call
// except the output blob, which is reused.
void BM_OpenCv_DecodeLetterbox(benchmark::State& state, const Bytes* jpeg) {
  std::vector<float> tensor(3 * kNetSize * kNetSize);
  const cv::Mat encoded(1, static_cast<int>(jpeg->size()), CV_8U,
                        const_cast<uint8_t*>(jpeg->data()));
  for (auto _ : state) {
    const cv::Mat bgr = cv::imdecode(encoded, cv::IMREAD_COLOR);
    const double r = std::min(static_cast<double>(kNetSize) / bgr.rows,
                              static_cast<double>(kNetSize) / bgr.cols);
    const int w = static_cast<int>(std::lround(bgr.cols * r));
    const int h = static_cast<int>(std::lround(bgr.rows * r));
    cv::Mat resized;
    cv::resize(bgr, resized, {w, h}, 0, 0, cv::INTER_LINEAR);
    const double dw = (kNetSize - w) / 2.0, dh = (kNetSize - h) / 2.0;
    cv::Mat padded;
    cv::copyMakeBorder(
        resized, padded, static_cast<int>(std::lround(dh - 0.1)),
        static_cast<int>(std::lround(dh + 0.1)), static_cast<int>(std::lround(dw - 0.1)),
        static_cast<int>(std::lround(dw + 0.1)), cv::BORDER_CONSTANT, cv::Scalar(114, 114, 114));
    // blobFromImage(padded, 1/255., {}, {}, swapRB=true): swap, scale, split.
    cv::Mat rgb, scaled;
    cv::cvtColor(padded, rgb, cv::COLOR_BGR2RGB);
    rgb.convertTo(scaled, CV_32F, 1.0 / 255.0);
    std::vector<cv::Mat> planes;
    for (int c = 0; c < 3; ++c) {
      planes.emplace_back(kNetSize, kNetSize, CV_32F, tensor.data() + c * kNetSize * kNetSize);
    }
    cv::split(scaled, planes);
    benchmark::DoNotOptimize(tensor.data());
    benchmark::ClobberMemory();
  }
}

void BM_Ours_DecodeOnly(benchmark::State& state, const Bytes* jpeg, Scaling scaling) {
  ImageDecoder decoder;
  Image image;
  const DecodeOptions options = NetOptions(scaling);
  for (auto _ : state) {
    auto decoded = decoder.Decode(jpeg->data(), jpeg->size(), options, &image);
    if (!decoded.ok()) {
      state.SkipWithError(decoded.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(image.data.data());
  }
  state.counters["decoded_w"] = image.width;
}

void BM_OpenCv_DecodeOnly(benchmark::State& state, const Bytes* jpeg) {
  const cv::Mat encoded(1, static_cast<int>(jpeg->size()), CV_8U,
                        const_cast<uint8_t*>(jpeg->data()));
  for (auto _ : state) {
    cv::Mat bgr = cv::imdecode(encoded, cv::IMREAD_COLOR);
    benchmark::DoNotOptimize(bgr.data);
  }
}

// Letterbox alone, from the image a decode with `scaling` produced.
void BM_Ours_LetterboxOnly(benchmark::State& state, const Bytes* jpeg, Scaling scaling) {
  ImageDecoder decoder;
  Image image;
  auto decoded = decoder.Decode(jpeg->data(), jpeg->size(), NetOptions(scaling), &image);
  if (!decoded.ok()) {
    state.SkipWithError(decoded.status().ToString().c_str());
    return;
  }
  Letterbox letterbox;
  std::vector<float> tensor(3 * kNetSize * kNetSize);
  for (auto _ : state) {
    auto transform = letterbox.ToTensor(image, *decoded, tensor.data(), tensor.size());
    benchmark::DoNotOptimize(transform);
    benchmark::ClobberMemory();
  }
  state.counters["src_w"] = image.width;
}

}  // namespace
}  // namespace yoloscope

int main(int argc, char** argv) {
  using namespace yoloscope;
  cv::setNumThreads(1);  // One core: no OpenCV worker threads for resize/convert.
  const Bytes jpeg = MakeJpeg1080p();
  std::fprintf(stderr, "test JPEG: 1920x1080, %zu bytes\n", jpeg.size());
  const auto ms = benchmark::kMillisecond;
  struct Variant {
    const char* name;
    Scaling scaling;
  };
  const Variant variants[] = {{"dct_1_2", Scaling::kPowerOfTwo},
                              {"dct_3_8", Scaling::kAnyFactor},
                              {"full", Scaling::kFull}};
  for (const Variant& v : variants) {
    benchmark::RegisterBenchmark((std::string("decode_letterbox/ours_") + v.name).c_str(),
                                 BM_Ours_DecodeLetterbox, &jpeg, v.scaling)
        ->Unit(ms);
  }
  benchmark::RegisterBenchmark("decode_letterbox/opencv", BM_OpenCv_DecodeLetterbox, &jpeg)
      ->Unit(ms);
  for (const Variant& v : variants) {
    benchmark::RegisterBenchmark((std::string("decode/ours_") + v.name).c_str(), BM_Ours_DecodeOnly,
                                 &jpeg, v.scaling)
        ->Unit(ms);
  }
  benchmark::RegisterBenchmark("decode/opencv_imdecode", BM_OpenCv_DecodeOnly, &jpeg)->Unit(ms);
  for (const Variant& v : variants) {
    benchmark::RegisterBenchmark((std::string("letterbox/ours_from_") + v.name).c_str(),
                                 BM_Ours_LetterboxOnly, &jpeg, v.scaling)
        ->Unit(ms);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
