#include "image/png_decoder.h"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace yoloscope {
namespace {

// libpng reports errors by calling a handler that must not return; ours
// records the message and longjmps back to ReadRgb. State lives here, in
// plain data, so nothing with a destructor is skipped by the jump.
struct ReadState {
  const uint8_t* data = nullptr;
  size_t size = 0;
  size_t pos = 0;
  char error[200] = {};
};

void OnError(png_structp png, png_const_charp message) {
  auto* state = static_cast<ReadState*>(png_get_error_ptr(png));
  std::snprintf(state->error, sizeof(state->error), "%s", message);
  png_longjmp(png, 1);
}

void OnWarning(png_structp, png_const_charp) {}

void ReadFromMemory(png_structp png, png_bytep out, png_size_t length) {
  auto* state = static_cast<ReadState*>(png_get_io_ptr(png));
  if (length > state->size - state->pos) {
    png_error(png, "unexpected end of data");  // does not return
  }
  std::memcpy(out, state->data + state->pos, length);
  state->pos += length;
}

enum class ReadResult { kOk, kLibpngError, kTooManyPixels, kUnexpectedLayout };

// The part of the decode that libpng may longjmp out of: only plain locals,
// none read after the jump; what it fills (`out`, `rows`) is the caller's.
ReadResult ReadRgb(png_structp png, png_infop info, int64_t max_pixels, Image* out,
                   std::vector<png_bytep>* rows, png_uint_32* width, png_uint_32* height) {
  if (setjmp(png_jmpbuf(png)) != 0) return ReadResult::kLibpngError;
  png_read_info(png, info);
  int bit_depth = 0, color_type = 0;
  png_get_IHDR(png, info, width, height, &bit_depth, &color_type, nullptr, nullptr, nullptr);
  if (static_cast<int64_t>(*width) * *height > max_pixels) return ReadResult::kTooManyPixels;
  // What cv::imdecode(IMREAD_COLOR) asks libpng for: 8-bit RGB, alpha
  // stripped rather than composited.
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if ((color_type & PNG_COLOR_MASK_COLOR) == 0 && bit_depth < 8) {
    png_set_expand_gray_1_2_4_to_8(png);
  }
  if (bit_depth == 16) png_set_strip_16(png);
  png_set_strip_alpha(png);
  if ((color_type & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_channels(png, info) != 3 || png_get_bit_depth(png, info) != 8 ||
      png_get_rowbytes(png, info) != static_cast<size_t>(*width) * 3) {
    return ReadResult::kUnexpectedLayout;
  }
  out->Resize(static_cast<int>(*width), static_cast<int>(*height), 3);
  rows->resize(*height);
  for (png_uint_32 y = 0; y < *height; ++y) (*rows)[y] = out->row(static_cast<int>(y));
  png_read_image(png, rows->data());
  // The end too (IEND, CRCs after the image), as OpenCV reads it: a file
  // cut after its pixel data is refused by both.
  png_read_end(png, nullptr);
  return ReadResult::kOk;
}

}  // namespace

Status PngDecoder::Decode(const uint8_t* data, size_t size, int64_t max_pixels, Image* out) {
  if (out == nullptr) return InvalidArgumentError("PngDecoder::Decode needs an output image");
  if (data == nullptr || size < 8 || png_sig_cmp(data, 0, 8) != 0) {
    return DataLossError("corrupt PNG: no PNG signature");
  }
  ReadState state;
  state.data = data;
  state.size = size;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, OnError, OnWarning);
  if (png == nullptr) return InternalError("png_create_read_struct failed");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return InternalError("png_create_info_struct failed");
  }
  png_set_read_fn(png, &state, ReadFromMemory);
  std::vector<png_bytep> rows;
  png_uint_32 width = 0, height = 0;
  const ReadResult result = ReadRgb(png, info, max_pixels, out, &rows, &width, &height);
  png_destroy_read_struct(&png, &info, nullptr);
  switch (result) {
    case ReadResult::kOk:
      return Status::Ok();
    case ReadResult::kLibpngError:
      return DataLossError(std::string("corrupt PNG: libpng: ") + state.error + " (" +
                           std::to_string(size) + " bytes)");
    case ReadResult::kTooManyPixels:
      return OutOfRangeError("PNG image is " + std::to_string(width) + "x" +
                             std::to_string(height) + ", over the limit of " +
                             std::to_string(max_pixels) + " pixels");
    case ReadResult::kUnexpectedLayout:
      break;
  }
  return InternalError("libpng did not convert the PNG to 8-bit RGB");
}

}  // namespace yoloscope
