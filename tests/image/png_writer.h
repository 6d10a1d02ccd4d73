// Writes PNGs of every colour type, bit depth and interlace through libpng,
// for the tests of PngDecoder (OpenCV's encoder writes neither palettes, low
// bit depths, tRNS nor interlacing). Test-only.
#pragma once

#include <png.h>

#include <csetjmp>
#include <cstdint>
#include <functional>
#include <vector>

namespace yoloscope::image_test {

struct PngSpec {
  int width = 0;
  int height = 0;
  int color_type = PNG_COLOR_TYPE_RGB;  // PNG_COLOR_TYPE_*
  int bit_depth = 8;                    // 1, 2, 4, 8, 16 as the colour type allows
  bool interlaced = false;              // Adam7
  std::vector<png_color> palette;       // PNG_COLOR_TYPE_PALETTE only
  std::vector<uint8_t> palette_alpha;   // tRNS of a palette image (may be empty)
  bool gray_or_rgb_trns = false;        // tRNS naming `trns_color` transparent
  png_color_16 trns_color{};
  // Sample of channel `c` of pixel (x, y), in [0, 2^bit_depth).
  std::function<int(int x, int y, int c)> sample;
};

inline int PngChannels(int color_type) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
    case PNG_COLOR_TYPE_PALETTE:
      return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      return 2;
    case PNG_COLOR_TYPE_RGB:
      return 3;
    default:
      return 4;
  }
}

namespace png_writer_detail {

inline void Append(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + length);
}

inline void Flush(png_structp) {}

// setjmp in a frame without objects that have destructors.
inline bool Write(png_structp png, png_infop info, const PngSpec& spec,
                  std::vector<png_bytep>* rows) {
  if (setjmp(png_jmpbuf(png)) != 0) return false;
  png_set_IHDR(png, info, spec.width, spec.height, spec.bit_depth, spec.color_type,
               spec.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!spec.palette.empty()) {
    png_set_PLTE(png, info, spec.palette.data(), static_cast<int>(spec.palette.size()));
  }
  if (!spec.palette_alpha.empty()) {
    png_set_tRNS(png, info, spec.palette_alpha.data(), static_cast<int>(spec.palette_alpha.size()),
                 nullptr);
  }
  if (spec.gray_or_rgb_trns) png_set_tRNS(png, info, nullptr, 0, &spec.trns_color);
  png_write_info(png, info);
  png_write_image(png, rows->data());
  png_write_end(png, nullptr);
  return true;
}

}  // namespace png_writer_detail

// The encoded PNG, or empty if libpng refused the spec.
inline std::vector<uint8_t> WritePng(const PngSpec& spec) {
  const int channels = PngChannels(spec.color_type);
  const size_t row_bits = static_cast<size_t>(spec.width) * channels * spec.bit_depth;
  const size_t row_bytes = (row_bits + 7) / 8;
  std::vector<uint8_t> raw(row_bytes * spec.height, 0);
  for (int y = 0; y < spec.height; ++y) {
    uint8_t* row = raw.data() + row_bytes * y;
    size_t bit = 0;
    for (int x = 0; x < spec.width; ++x) {
      for (int c = 0; c < channels; ++c, bit += spec.bit_depth) {
        const int v = spec.sample(x, y, c);
        if (spec.bit_depth == 16) {
          row[bit / 8] = static_cast<uint8_t>(v >> 8);  // big-endian
          row[bit / 8 + 1] = static_cast<uint8_t>(v & 0xFF);
        } else {
          // Samples below 8 bits are packed from the most significant bit.
          const int shift = 8 - spec.bit_depth - static_cast<int>(bit % 8);
          row[bit / 8] |= static_cast<uint8_t>(v << shift);
        }
      }
    }
  }
  std::vector<png_bytep> rows(spec.height);
  for (int y = 0; y < spec.height; ++y) rows[y] = raw.data() + row_bytes * y;
  std::vector<uint8_t> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(png, &out, png_writer_detail::Append, png_writer_detail::Flush);
  const bool ok = png_writer_detail::Write(png, info, spec, &rows);
  png_destroy_write_struct(&png, &info);
  if (!ok) out.clear();
  return out;
}

}  // namespace yoloscope::image_test
