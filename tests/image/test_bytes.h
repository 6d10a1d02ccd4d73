// Helpers shared by the image tests that need no OpenCV: sample photos,
// EXIF splicing and crafted headers (test_images.h adds OpenCV encoding and
// comparison on top). Test-only; not thread-safe (nothing here needs to be).
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace yoloscope::image_test {

// Debian's darknet package ships real photos here (dog.jpg 768x576,
// kite.jpg 1352x900, ...). Tests that need them skip when it is absent.
inline constexpr char kDarknetDataDir[] = YOLOSCOPE_PHOTOS_DIR;

using Bytes = std::vector<uint8_t>;

inline std::string PhotoPath(const std::string& name) {
  return std::string(kDarknetDataDir) + "/" + name;
}

inline bool HavePhoto(const std::string& name) { return std::filesystem::exists(PhotoPath(name)); }

inline Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// An APP1 "Exif" segment whose IFD0 holds one Orientation (0x0112) entry,
// in little-endian ("II") or big-endian ("MM") TIFF byte order.
inline Bytes ExifApp1(int orientation, bool little_endian = true) {
  Bytes tiff;
  auto put16 = [&](uint16_t v) {
    if (little_endian) {
      tiff.push_back(v & 0xFF), tiff.push_back(v >> 8);
    } else {
      tiff.push_back(v >> 8), tiff.push_back(v & 0xFF);
    }
  };
  auto put32 = [&](uint32_t v) {
    if (little_endian) {
      put16(v & 0xFFFF), put16(v >> 16);
    } else {
      put16(v >> 16), put16(v & 0xFFFF);
    }
  };
  tiff.push_back(little_endian ? 'I' : 'M');
  tiff.push_back(little_endian ? 'I' : 'M');
  put16(42);
  put32(8);  // IFD0 right after the header.
  put16(1);  // One entry.
  put16(0x0112);
  put16(3);  // SHORT.
  put32(1);
  put16(static_cast<uint16_t>(orientation));
  put16(0);  // Value field padding.
  put32(0);  // No next IFD.
  const size_t length = 2 + 6 + tiff.size();
  const uint8_t head[] = {0xFF,
                          0xE1,
                          static_cast<uint8_t>(length >> 8),
                          static_cast<uint8_t>(length & 0xFF),
                          'E',
                          'x',
                          'i',
                          'f',
                          0,
                          0};
  Bytes segment(head, head + sizeof(head));
  for (uint8_t b : tiff) segment.push_back(b);
  return segment;
}

// `jpeg` with an EXIF APP1 segment spliced in right after SOI.
inline Bytes WithExifOrientation(const Bytes& jpeg, int orientation, bool little_endian = true) {
  Bytes out = ExifApp1(orientation, little_endian);
  out.insert(out.begin(), jpeg.begin(), jpeg.begin() + 2);  // SOI first.
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

// SOI + SOF0 declaring width x height (3 components) and nothing else: a
// decoder that tried to decode it would fail with a data error.
inline Bytes JpegHeaderOnly(int width, int height) {
  return {0xFF,
          0xD8,
          0xFF,
          0xC0,
          0x00,
          0x11,
          0x08,
          static_cast<uint8_t>(height >> 8),
          static_cast<uint8_t>(height & 0xFF),
          static_cast<uint8_t>(width >> 8),
          static_cast<uint8_t>(width & 0xFF),
          0x03,
          0x01,
          0x22,
          0x00,
          0x02,
          0x11,
          0x01,
          0x03,
          0x11,
          0x01};
}

// PNG signature + IHDR declaring width x height, 8-bit RGB; no pixel data.
inline Bytes PngHeaderOnly(uint32_t width, uint32_t height) {
  Bytes out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  for (uint32_t v : {width, height}) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back((v >> shift) & 0xFF);
  }
  const uint8_t rest[] = {8, 2, 0, 0, 0, 0, 0, 0, 0};  // depth, RGB, methods, (bogus) CRC.
  out.insert(out.end(), rest, rest + sizeof(rest));
  return out;
}

}  // namespace yoloscope::image_test
