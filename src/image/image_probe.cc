#include "image/image_probe.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

namespace yoloscope {
namespace {

// Every reader below is handed an offset that the caller has bounds-checked.
uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}
uint16_t Le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint32_t Le24(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16;
}
uint32_t Le32(const uint8_t* p) { return Le24(p) | static_cast<uint32_t>(p[3]) << 24; }

bool StartsWith(const uint8_t* data, size_t size, const char* magic, size_t magic_size) {
  return size >= magic_size && std::memcmp(data, magic, magic_size) == 0;
}

std::string Hex(uint32_t value, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%0*" PRIX32, digits, value);
  return buf;
}

// "ff d8 00 12": shown in "unrecognized format" errors so that a caller who
// uploaded HTML or JSON by mistake can see it.
std::string FirstBytes(const uint8_t* data, size_t size) {
  std::string out;
  for (size_t i = 0; i < size && i < 8; ++i) {
    char buf[4];
    std::snprintf(buf, sizeof(buf), "%s%02x", i ? " " : "", data[i]);
    out += buf;
  }
  return out;
}

Status Truncated(const char* format, const std::string& what) {
  return DataLossError(std::string("truncated ") + format + ": " + what);
}
Status Corrupt(const char* format, const std::string& what) {
  return DataLossError(std::string("corrupt ") + format + ": " + what);
}

// SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range.
bool IsSofMarker(uint8_t marker) {
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

// Walks the marker segments up to the first SOFn. EXIF (APP1) precedes the
// frame header in every file that follows the EXIF spec, so stopping at SOF
// never misses it, and the entropy-coded data is never touched.
StatusOr<ImageInfo> ProbeJpeg(const uint8_t* data, size_t size) {
  ImageInfo info;
  info.format = ImageFormat::kJpeg;
  bool have_exif = false;
  size_t pos = 2;  // After SOI.
  while (true) {
    if (pos >= size) {
      return Truncated(
          "JPEG", "data ends at byte " + std::to_string(size) + " before the frame header (SOF)");
    }
    if (data[pos] != 0xFF) {
      return Corrupt("JPEG", "expected a marker at byte " + std::to_string(pos) + ", found " +
                                 Hex(data[pos], 2));
    }
    while (pos < size && data[pos] == 0xFF) ++pos;  // Fill bytes.
    if (pos >= size) {
      return Truncated("JPEG", "data ends inside a marker before the frame header (SOF)");
    }
    const uint8_t marker = data[pos++];
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // No length.
    if (marker == 0xD9) return Corrupt("JPEG", "end of image (EOI) before the frame header");
    if (marker == 0xDA) return Corrupt("JPEG", "scan data (SOS) before the frame header");
    if (size - pos < 2) {
      return Truncated("JPEG", "marker " + Hex(0xFF00 | marker, 4) + " at byte " +
                                   std::to_string(pos - 2) + " is cut short");
    }
    const size_t length = Be16(data + pos);
    if (length < 2) {
      return Corrupt("JPEG",
                     "marker " + Hex(0xFF00 | marker, 4) + " has length " + std::to_string(length));
    }
    if (size - pos < length) {
      return Truncated("JPEG", "marker segment " + Hex(0xFF00 | marker, 4) + " at byte " +
                                   std::to_string(pos - 2) + " needs " + std::to_string(length) +
                                   " bytes, " + std::to_string(size - pos) + " left");
    }
    const uint8_t* segment = data + pos + 2;
    const size_t segment_size = length - 2;
    if (marker == 0xE1 && !have_exif && StartsWith(segment, segment_size, "Exif\0\0", 6)) {
      have_exif = true;  // Only the first EXIF block counts (a later one may be XMP-like junk).
      info.orientation = ParseExifOrientation(segment, segment_size);
    }
    if (IsSofMarker(marker)) {
      if (segment_size < 6) return Corrupt("JPEG", "frame header (SOF) shorter than 6 bytes");
      const int precision = segment[0];
      info.height = Be16(segment + 1);
      info.width = Be16(segment + 3);
      const int components = segment[5];
      // libjpeg-turbo 2.1 decodes baseline/extended/progressive (Huffman or
      // arithmetic) 8-bit frames only.
      if (marker == 0xC3 || marker == 0xC7 || marker == 0xCB || marker == 0xCF) {
        return UnimplementedError("unsupported image format (lossless JPEG)");
      }
      if (marker == 0xC5 || marker == 0xC6 || marker == 0xCD || marker == 0xCE) {
        return UnimplementedError("unsupported image format (hierarchical JPEG)");
      }
      if (precision != 8) {
        return UnimplementedError("unsupported image format (" + std::to_string(precision) +
                                    "-bit JPEG)");
      }
      if (components != 1 && components != 3 && components != 4) {
        return Corrupt("JPEG",
                       "frame header declares " + std::to_string(components) + " components");
      }
      if (info.height == 0) {
        return UnimplementedError(
            "unsupported image format (JPEG with the height in a DNL marker)");
      }
      if (info.width == 0) return Corrupt("JPEG", "frame header declares width 0");
      return info;
    }
    pos += length;
  }
}

StatusOr<ImageInfo> ProbePng(const uint8_t* data, size_t size) {
  static constexpr char kSignature[] = "\x89PNG\r\n\x1a\n";
  if (size < 8) return Truncated("PNG", std::to_string(size) + " bytes, signature incomplete");
  if (std::memcmp(data, kSignature, 8) != 0) return Corrupt("PNG", "bad signature");
  if (size < 8 + 8 + 13) return Truncated("PNG", std::to_string(size) + " bytes, no IHDR chunk");
  if (Be32(data + 8) != 13 || std::memcmp(data + 12, "IHDR", 4) != 0) {
    return Corrupt("PNG", "first chunk is not a 13-byte IHDR");
  }
  const uint32_t width = Be32(data + 16);
  const uint32_t height = Be32(data + 20);
  constexpr uint32_t kPngMax = std::numeric_limits<int32_t>::max();  // PNG spec: < 2^31.
  if (width == 0 || height == 0 || width > kPngMax || height > kPngMax) {
    return Corrupt("PNG", "IHDR declares " + std::to_string(width) + "x" + std::to_string(height));
  }
  ImageInfo info;
  info.format = ImageFormat::kPng;
  info.width = static_cast<int>(width);
  info.height = static_cast<int>(height);
  return info;
}

StatusOr<ImageInfo> ProbeBmp(const uint8_t* data, size_t size) {
  if (size < 18) return Truncated("BMP", std::to_string(size) + " bytes, no DIB header");
  const uint32_t dib_size = Le32(data + 14);
  int64_t width = 0;
  int64_t height = 0;
  if (dib_size == 12) {  // BITMAPCOREHEADER (OS/2): unsigned 16-bit sizes.
    if (size < 14 + 12) return Truncated("BMP", "DIB header cut short");
    width = Le16(data + 18);
    height = Le16(data + 20);
  } else if (dib_size >= 16 && dib_size <= 124) {  // BITMAPINFOHEADER and its successors.
    if (size < 26) return Truncated("BMP", "DIB header cut short");
    width = static_cast<int32_t>(Le32(data + 18));
    height = static_cast<int32_t>(Le32(data + 22));
    if (height < 0) height = -height;  // Negative height = top-down rows (int64: no overflow).
  } else {
    return Corrupt("BMP", "unknown DIB header size " + std::to_string(dib_size));
  }
  if (width <= 0 || height <= 0 || height > std::numeric_limits<int32_t>::max()) {
    return Corrupt("BMP",
                   "header declares " + std::to_string(width) + "x" + std::to_string(height));
  }
  ImageInfo info;
  info.format = ImageFormat::kBmp;
  info.width = static_cast<int>(width);
  info.height = static_cast<int>(height);
  return info;
}

// RIFF "WEBP" followed by one of the three first-chunk layouts of the WebP
// container spec: simple lossy (VP8), simple lossless (VP8L), extended (VP8X).
StatusOr<ImageInfo> ProbeWebp(const uint8_t* data, size_t size) {
  if (size < 20) return Truncated("WebP", std::to_string(size) + " bytes, no first chunk");
  ImageInfo info;
  info.format = ImageFormat::kWebp;
  const uint8_t* chunk = data + 12;
  if (std::memcmp(chunk, "VP8 ", 4) == 0) {
    if (size < 30) return Truncated("WebP", "VP8 frame header cut short");
    if (data[23] != 0x9D || data[24] != 0x01 || data[25] != 0x2A) {
      return Corrupt("WebP", "VP8 start code missing");
    }
    info.width = Le16(data + 26) & 0x3FFF;  // Top two bits are an upscaling hint.
    info.height = Le16(data + 28) & 0x3FFF;
  } else if (std::memcmp(chunk, "VP8L", 4) == 0) {
    if (size < 25) return Truncated("WebP", "VP8L header cut short");
    if (data[20] != 0x2F) return Corrupt("WebP", "VP8L signature missing");
    const uint32_t bits = Le32(data + 21);
    info.width = static_cast<int>(bits & 0x3FFF) + 1;
    info.height = static_cast<int>((bits >> 14) & 0x3FFF) + 1;
  } else if (std::memcmp(chunk, "VP8X", 4) == 0) {
    if (size < 30) return Truncated("WebP", "VP8X header cut short");
    if (data[20] & 0x02) return UnimplementedError("unsupported image format (animated WebP)");
    info.width = static_cast<int>(Le24(data + 24)) + 1;
    info.height = static_cast<int>(Le24(data + 27)) + 1;
  } else {
    return Corrupt("WebP", "unknown first chunk '" + std::string(chunk, chunk + 4) + "'");
  }
  if (info.width == 0 || info.height == 0) {
    return Corrupt("WebP", "header declares " + std::to_string(info.width) + "x" +
                               std::to_string(info.height));
  }
  return info;
}

Status Unsupported(const char* name) {
  return UnimplementedError(std::string("unsupported image format (") + name + ")");
}

}  // namespace

StatusOr<ImageInfo> ProbeImage(const uint8_t* data, size_t size) {
  if (data == nullptr || size == 0) return InvalidArgumentError("empty input (0 bytes)");
  if (StartsWith(data, size, "\xFF\xD8", 2)) return ProbeJpeg(data, size);
  if (StartsWith(data, size, "\x89PNG", 4)) return ProbePng(data, size);
  if (StartsWith(data, size, "RIFF", 4) && size >= 12 && std::memcmp(data + 8, "WEBP", 4) == 0) {
    return ProbeWebp(data, size);
  }
  if (StartsWith(data, size, "GIF87a", 6) || StartsWith(data, size, "GIF89a", 6)) {
    return Unsupported("GIF");
  }
  if (StartsWith(data, size, "II*\0", 4) || StartsWith(data, size, "MM\0*", 4)) {
    return Unsupported("TIFF");
  }
  if (size >= 12 && std::memcmp(data + 4, "ftyp", 4) == 0) return Unsupported("HEIF/AVIF");
  // "BM" is a weak magic (plain text can start with it), so it is tried last;
  // ProbeBmp still validates the DIB header size before trusting anything.
  if (StartsWith(data, size, "BM", 2)) return ProbeBmp(data, size);
  return InvalidArgumentError("unrecognized image format (" + std::to_string(size) +
                              " bytes starting " + FirstBytes(data, size) +
                              "); expected JPEG, PNG, BMP or WebP");
}

int ParseExifOrientation(const uint8_t* app1_payload, size_t size) {
  constexpr int kNone = 1;
  if (size < 6 + 8 || std::memcmp(app1_payload, "Exif\0\0", 6) != 0) return kNone;
  const uint8_t* tiff = app1_payload + 6;
  const size_t tiff_size = size - 6;
  bool little_endian;
  if (tiff[0] == 'I' && tiff[1] == 'I') {
    little_endian = true;
  } else if (tiff[0] == 'M' && tiff[1] == 'M') {
    little_endian = false;
  } else {
    return kNone;
  }
  auto u16 = [&](size_t off) { return little_endian ? Le16(tiff + off) : Be16(tiff + off); };
  auto u32 = [&](size_t off) { return little_endian ? Le32(tiff + off) : Be32(tiff + off); };
  if (u16(2) != 42) return kNone;
  const size_t ifd0 = u32(4);
  if (ifd0 < 8 || ifd0 > tiff_size - 2) return kNone;
  const size_t entries = u16(ifd0);
  for (size_t i = 0; i < entries; ++i) {
    const size_t entry = ifd0 + 2 + 12 * i;
    // IFD runs off the segment: keep what was read. (Not `entry > tiff_size - 12`:
    // that wraps around for a segment shorter than one entry.)
    if (entry + 12 > tiff_size) break;
    if (u16(entry) != 0x0112) continue;
    const uint16_t type = u16(entry + 2);
    uint32_t value = 0;
    if (type == 3) {  // SHORT, the type the spec mandates: first 2 bytes of the value field.
      value = u16(entry + 8);
    } else if (type == 4) {  // LONG: seen from a few buggy writers.
      value = u32(entry + 8);
    } else {
      return kNone;
    }
    return value >= 1 && value <= 8 ? static_cast<int>(value) : kNone;
  }
  return kNone;
}

}  // namespace yoloscope
