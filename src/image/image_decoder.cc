#include "image/image_decoder.h"

#include <turbojpeg.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "image/exif_orientation.h"
#include "image/image_probe.h"
#include "image/plain_image_ops.h"
#include "image/png_decoder.h"

#if YOLOSCOPE_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>  // the IMREAD_* flags
#include <opencv2/imgproc.hpp>

#include "image/lazy_imgcodecs.h"
#endif

namespace yoloscope {
namespace {

// libjpeg's JWRN_JPEG_EOF: the memory source ran out of data and inserted a
// fake EOI, i.e. the upload was cut short. TurboJPEG reports it only as text.
constexpr std::string_view kJpegEofWarning = "Premature end of JPEG file";

// Python's round() (half to even), which Ultralytics uses for the letterbox
// size; nearbyint does the same under the default rounding mode.
int RoundHalfEven(double v) { return static_cast<int>(std::nearbyint(v)); }

// True when the data ends with EOI (FF D9), ignoring zero padding that some
// writers append.
bool EndsWithEoi(const uint8_t* data, size_t size) {
  while (size > 2 && data[size - 1] == 0x00) --size;
  return size >= 2 && data[size - 2] == 0xFF && data[size - 1] == 0xD9;
}

std::string PixelLimitMessage(const ImageInfo& info, int64_t limit) {
  const int64_t pixels = static_cast<int64_t>(info.width) * info.height;
  return std::string(ImageFormatName(info.format)) + " image is " + std::to_string(info.width) +
         "x" + std::to_string(info.height) + " (" + std::to_string(pixels) +
         " pixels), over the limit of " + std::to_string(limit) + " pixels";
}

}  // namespace

ImageDecoder::~ImageDecoder() {
  if (tj_handle_ != nullptr) tjDestroy(static_cast<tjhandle>(tj_handle_));
}

ImageDecoder::ImageDecoder(ImageDecoder&& other) noexcept
    : tj_handle_(std::exchange(other.tj_handle_, nullptr)),
      rotate_scratch_(std::move(other.rotate_scratch_)),
      cmyk_scratch_(std::move(other.cmyk_scratch_)) {}

ImageDecoder& ImageDecoder::operator=(ImageDecoder&& other) noexcept {
  if (this != &other) {
    if (tj_handle_ != nullptr) tjDestroy(static_cast<tjhandle>(tj_handle_));
    tj_handle_ = std::exchange(other.tj_handle_, nullptr);
    rotate_scratch_ = std::move(other.rotate_scratch_);
    cmyk_scratch_ = std::move(other.cmyk_scratch_);
  }
  return *this;
}

StatusOr<ImageInfo> ImageDecoder::Probe(const uint8_t* data, size_t size) {
  return ProbeImage(data, size);
}

void ImageDecoder::ChooseJpegScale(int orig_w, int orig_h, const DecodeOptions& options, int* num,
                                   int* denom) {
  *num = 1;
  *denom = 1;
  if (options.target_w <= 0 || options.target_h <= 0 || orig_w <= 0 || orig_h <= 0) return;
  const double r = std::min(static_cast<double>(options.target_h) / orig_h,
                            static_cast<double>(options.target_w) / orig_w);
  if (r >= 1.0) return;  // The letterbox keeps or enlarges the picture: decode it all.
  // The letterbox resize target, computed as Letterbox does (>= 1 pixel).
  const int need_w = std::max(1, RoundHalfEven(orig_w * r));
  const int need_h = std::max(1, RoundHalfEven(orig_h * r));
  int count = 0;
  const tjscalingfactor* factors = tjGetScalingFactors(&count);
  if (factors == nullptr) return;
  // The factor is the same on both axes, so testing upright sizes is the
  // same as testing the stored ones with the axes swapped.
  tjscalingfactor best = {1, 1};
  for (int i = 0; i < count; ++i) {
    const tjscalingfactor f = factors[i];
    if (f.num > f.denom) continue;  // Upscaling factors never help.
    const bool power_of_two = f.num == 1 && (f.denom & (f.denom - 1)) == 0;
    if (options.power_of_two_scales_only && !power_of_two) continue;
    if (TJSCALED(orig_w, f) < need_w || TJSCALED(orig_h, f) < need_h) continue;
    if (static_cast<int64_t>(f.num) * best.denom < static_cast<int64_t>(best.num) * f.denom) {
      best = f;
    }
  }
  // tjDecompress2 is given the scaled size and itself uses the largest
  // factor producing no more than that; on tiny images two factors can round
  // to the same size, so report the one TurboJPEG will really use.
  const int scaled_w = TJSCALED(orig_w, best);
  const int scaled_h = TJSCALED(orig_h, best);
  for (int i = 0; i < count; ++i) {
    const tjscalingfactor f = factors[i];
    if (TJSCALED(orig_w, f) <= scaled_w && TJSCALED(orig_h, f) <= scaled_h) {
      best = f;
      break;
    }
  }
  *num = best.num;
  *denom = best.denom;
}

Status ImageDecoder::EnsureJpegHandle() {
  if (tj_handle_ != nullptr) return Status::Ok();
  tj_handle_ = tjInitDecompress();
  if (tj_handle_ == nullptr) {
    return InternalError(std::string("tjInitDecompress failed: ") + tjGetErrorStr2(nullptr));
  }
  return Status::Ok();
}

StatusOr<DecodeResult> ImageDecoder::Decode(const uint8_t* data, size_t size,
                                            const DecodeOptions& options, Image* out) {
  if (out == nullptr) return InvalidArgumentError("ImageDecoder::Decode needs an output image");
  YS_ASSIGN_OR_RETURN(const ImageInfo info, ProbeImage(data, size));
  if (size > static_cast<size_t>(std::numeric_limits<int>::max())) {
    // cv::Mat and TurboJPEG's unsigned long are fine, but nothing sane is
    // this large and OpenCV's 1-row wrapper needs an int length.
    return OutOfRangeError("encoded image is " + std::to_string(size) + " bytes, over 2 GiB");
  }
  // Checked on the header so that a 100-byte "decompression bomb" never
  // gets a buffer allocated for it.
  if (static_cast<int64_t>(info.width) * info.height > options.max_pixels) {
    return OutOfRangeError(PixelLimitMessage(info, options.max_pixels));
  }
  if (info.format == ImageFormat::kJpeg) return DecodeJpeg(data, size, info, options, out);
  return DecodeOther(data, size, info, options, out);
}

StatusOr<DecodeResult> ImageDecoder::DecodeJpeg(const uint8_t* data, size_t size,
                                                const ImageInfo& info, const DecodeOptions& options,
                                                Image* out) {
  YS_RETURN_IF_ERROR(EnsureJpegHandle());
  tjhandle handle = static_cast<tjhandle>(tj_handle_);
  const unsigned long jpeg_size = static_cast<unsigned long>(size);
  int width = 0, height = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(handle, data, jpeg_size, &width, &height, &subsamp, &colorspace) != 0) {
    // A warning while reading the header (stray bytes before a marker)
    // still fills in the header; only a fatal error or strict mode stops.
    const std::string message = tjGetErrorStr2(handle);
    if (tjGetErrorCode(handle) == TJERR_FATAL || options.strict_jpeg || width <= 0 || height <= 0) {
      return DataLossError("corrupt JPEG: " + message);
    }
  }
  // TurboJPEG cannot convert CMYK to RGB. OpenCV's libjpeg path can; without
  // OpenCV it is decoded as CMYK and converted here.
  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
#if YOLOSCOPE_HAVE_OPENCV
  if (cmyk) return DecodeOther(data, size, info, options, out);
#endif
  if (width != info.width || height != info.height) {
    return DataLossError("corrupt JPEG: header says " + std::to_string(info.width) + "x" +
                         std::to_string(info.height) + ", decoder says " + std::to_string(width) +
                         "x" + std::to_string(height));
  }

  DecodeResult result;
  result.format = ImageFormat::kJpeg;
  result.orientation = info.orientation;
  const int orientation = options.apply_exif_orientation ? info.orientation : 1;
  result.orientation_applied = orientation != 1;
  const bool swap = result.orientation_applied && info.SwapsAxes();
  result.orig_width = swap ? height : width;
  result.orig_height = swap ? width : height;
  ChooseJpegScale(result.orig_width, result.orig_height, options, &result.scale_num,
                  &result.scale_denom);
  const tjscalingfactor factor = {result.scale_num, result.scale_denom};
  const int scaled_w = TJSCALED(width, factor);
  const int scaled_h = TJSCALED(height, factor);

  Image* target = result.orientation_applied ? &rotate_scratch_ : out;
  Image* decoded = cmyk ? &cmyk_scratch_ : target;
  const int channels = cmyk ? 4 : 3;
  const int pixel_format = cmyk ? TJPF_CMYK : TJPF_RGB;
  decoded->Resize(scaled_w, scaled_h, channels);
  // LIMITSCANS refuses progressive files with > 500 scans, a cheap CPU
  // exhaustion attack on servers that decode untrusted uploads.
  const int base_flags =
      (options.fast_dct ? TJFLAG_FASTDCT : TJFLAG_ACCURATEDCT) | TJFLAG_LIMITSCANS;
  // First attempt stops at the first warning: a truncated upload (the common
  // bad case) then costs a partial decode instead of a full one spent
  // filling grey.
  int rc =
      tjDecompress2(handle, data, jpeg_size, decoded->data.data(), scaled_w, scaled_w * channels,
                    scaled_h, pixel_format, base_flags | TJFLAG_STOPONWARNING);
  if (rc != 0) {
    const std::string message = tjGetErrorStr2(handle);
    if (message.find(kJpegEofWarning) != std::string::npos) {
      return DataLossError("truncated JPEG: " + message + " (" + std::to_string(size) + " bytes)");
    }
    if (tjGetErrorCode(handle) == TJERR_FATAL || options.strict_jpeg) {
      return DataLossError("corrupt JPEG: " + message);
    }
    // A benign warning (e.g. stray bytes between markers): decode again,
    // this time to the end.
    result.warning = message;
    rc = tjDecompress2(handle, data, jpeg_size, decoded->data.data(), scaled_w, scaled_w * channels,
                       scaled_h, pixel_format, base_flags);
    if (rc != 0 && tjGetErrorCode(handle) == TJERR_FATAL) {
      return DataLossError(std::string("corrupt JPEG: ") + tjGetErrorStr2(handle));
    }
    // libjpeg reports only its first warning, so an end-of-file warning
    // after the benign one would go unseen: look for the EOI marker.
    if (!EndsWithEoi(data, size)) {
      return DataLossError("truncated JPEG: no end-of-image marker (after \"" + message + "\", " +
                           std::to_string(size) + " bytes)");
    }
  }
  if (cmyk) {
    target->Resize(scaled_w, scaled_h, 3);
    PlainImageOps::CmykToRgb(cmyk_scratch_.data.data(), static_cast<size_t>(scaled_w) * scaled_h,
                             target->data.data());
  }
  if (result.orientation_applied) {
    YS_RETURN_IF_ERROR(ApplyExifOrientation(rotate_scratch_, orientation, out));
  }
  result.decoded_width = out->width;
  result.decoded_height = out->height;
  return result;
}

StatusOr<DecodeResult> ImageDecoder::DecodeOther(const uint8_t* data, size_t size,
                                                 const ImageInfo& info,
                                                 const DecodeOptions& options, Image* out) {
  DecodeResult result;
  result.format = info.format;
  result.orientation = info.orientation;
  // Only JPEG orientation is honoured (the CMYK fallback lands here);
  // OpenCV is told to ignore it so it is applied exactly once, by us.
  const int orientation = options.apply_exif_orientation ? info.orientation : 1;
  result.orientation_applied = orientation != 1;
  Image* target = result.orientation_applied ? &rotate_scratch_ : out;
  const std::string format_name(ImageFormatName(info.format));
#if !YOLOSCOPE_HAVE_OPENCV
  if (info.format != ImageFormat::kPng) {
    return UnimplementedError(format_name +
                              " images are not supported: this build has no OpenCV "
                              "(YOLOSCOPE_USE_OPENCV=OFF) and decodes only JPEG and PNG");
  }
  YS_RETURN_IF_ERROR(PngDecoder::Decode(data, size, options.max_pixels, target));
#else
  try {
    // imdecode gets no destination of ours: given one, it leaves it
    // untouched when the header is rejected, and that is indistinguishable
    // from success. The BGR->RGB swap below copies into our buffer anyway.
    const cv::Mat encoded(1, static_cast<int>(size), CV_8U, const_cast<uint8_t*>(data));
    auto decoded =
        lazy_imgcodecs::Imdecode(encoded, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    if (!decoded.ok()) return decoded.status();
    const cv::Mat bgr = std::move(decoded).value();
    if (bgr.empty()) {
      return DataLossError("corrupt " + format_name + ": the decoder rejected the data (" +
                           std::to_string(size) + " bytes)");
    }
    if (bgr.type() != CV_8UC3) {
      return InternalError("OpenCV decoded " + format_name + " to an unexpected pixel type");
    }
    if (static_cast<int64_t>(bgr.cols) * bgr.rows > options.max_pixels) {
      // The header and the decoder disagree on the size (a quirky BMP, say).
      return OutOfRangeError(format_name + " decoded to " + std::to_string(bgr.cols) + "x" +
                             std::to_string(bgr.rows) + ", over the limit of " +
                             std::to_string(options.max_pixels) + " pixels");
    }
    target->Resize(bgr.cols, bgr.rows, 3);
    cv::Mat rgb(bgr.rows, bgr.cols, CV_8UC3, target->data.data());
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);  // create() keeps our matching buffer.
    if (rgb.data != target->data.data()) {
      return InternalError("OpenCV reallocated the decode output");
    }
  } catch (const cv::Exception& e) {
    return DataLossError("corrupt " + format_name + ": OpenCV: " + e.what());
  }
#endif
  if (result.orientation_applied) {
    YS_RETURN_IF_ERROR(ApplyExifOrientation(rotate_scratch_, orientation, out));
  }
  result.orig_width = out->width;
  result.orig_height = out->height;
  result.decoded_width = out->width;
  result.decoded_height = out->height;
  return result;
}

}  // namespace yoloscope
