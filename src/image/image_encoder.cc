#include "image/image_encoder.h"

#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cctype>
#include <csetjmp>
#include <cstdio>
#include <new>
#include <string>

namespace yoloscope {
namespace {

Status CheckRgb(const Image& rgb) {
  if (rgb.empty() || rgb.channels != 3 ||
      rgb.data.size() < static_cast<size_t>(rgb.width) * rgb.height * 3) {
    return InvalidArgumentError("image encoding needs a non-empty 3-channel image, got " +
                                std::to_string(rgb.width) + "x" + std::to_string(rgb.height) + "x" +
                                std::to_string(rgb.channels));
  }
  return Status::Ok();
}

// libpng's error handler must not return: record the message, jump back to
// WritePng (see png_decoder.cc for the same pattern on the read side).
struct WriteState {
  std::vector<uint8_t>* out = nullptr;
  char error[200] = {};
};

void OnError(png_structp png, png_const_charp message) {
  auto* state = static_cast<WriteState*>(png_get_error_ptr(png));
  std::snprintf(state->error, sizeof(state->error), "%s", message);
  png_longjmp(png, 1);
}

void OnWarning(png_structp, png_const_charp) {}

void WriteToVector(png_structp png, png_bytep data, png_size_t length) {
  auto* state = static_cast<WriteState*>(png_get_io_ptr(png));
  // A bad_alloc must not unwind through libpng's C frames: report it as a
  // libpng error instead.
  try {
    state->out->insert(state->out->end(), data, data + length);
  } catch (const std::bad_alloc&) {
    png_error(png, "out of memory");
  }
}

void FlushNothing(png_structp) {}

// Only plain locals; false after a libpng error (message in the state).
bool WritePng(png_structp png, png_infop info, const Image& rgb) {
  if (setjmp(png_jmpbuf(png)) != 0) return false;
  png_set_IHDR(png, info, static_cast<png_uint_32>(rgb.width), static_cast<png_uint_32>(rgb.height),
               8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < rgb.height; ++y) png_write_row(png, rgb.row(y));
  png_write_end(png, nullptr);
  return true;
}

}  // namespace

StatusOr<std::vector<uint8_t>> ImageEncoder::EncodeJpeg(const Image& rgb, int quality) {
  YS_RETURN_IF_ERROR(CheckRgb(rgb));
  if (quality < 1 || quality > 100) {
    return InvalidArgumentError("JPEG quality " + std::to_string(quality) + " is not in 1-100");
  }
  tjhandle handle = tjInitCompress();
  if (handle == nullptr) {
    return InternalError(std::string("tjInitCompress failed: ") + tjGetErrorStr2(nullptr));
  }
  unsigned char* jpeg = nullptr;
  unsigned long jpeg_size = 0;
  const int rc = tjCompress2(handle, rgb.data.data(), rgb.width, rgb.width * 3, rgb.height,
                             TJPF_RGB, &jpeg, &jpeg_size, TJSAMP_420, quality, TJFLAG_ACCURATEDCT);
  std::string error = rc != 0 ? tjGetErrorStr2(handle) : "";
  std::vector<uint8_t> out;
  if (rc == 0) out.assign(jpeg, jpeg + jpeg_size);
  tjFree(jpeg);
  tjDestroy(handle);
  if (rc != 0) return InternalError("JPEG encoding failed: " + error);
  return out;
}

StatusOr<std::vector<uint8_t>> ImageEncoder::EncodePng(const Image& rgb) {
  YS_RETURN_IF_ERROR(CheckRgb(rgb));
  std::vector<uint8_t> out;
  WriteState state;
  state.out = &out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, OnError, OnWarning);
  if (png == nullptr) return InternalError("png_create_write_struct failed");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    return InternalError("png_create_info_struct failed");
  }
  png_set_write_fn(png, &state, WriteToVector, FlushNothing);
  const bool ok = WritePng(png, info, rgb);
  png_destroy_write_struct(&png, &info);
  if (!ok) return InternalError(std::string("PNG encoding failed: libpng: ") + state.error);
  return out;
}

StatusOr<std::vector<uint8_t>> ImageEncoder::EncodeForPath(const Image& rgb,
                                                           std::string_view path) {
  const size_t dot = path.rfind('.');
  const size_t slash = path.rfind('/');
  std::string ext;
  if (dot != std::string_view::npos && (slash == std::string_view::npos || dot > slash)) {
    ext = std::string(path.substr(dot));
  }
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".jpg" || ext == ".jpeg") return EncodeJpeg(rgb, 95);
  if (ext == ".png") return EncodePng(rgb);
  return InvalidArgumentError("cannot encode '" + std::string(path) +
                              "': this build writes only .jpg/.jpeg and .png files");
}

}  // namespace yoloscope
