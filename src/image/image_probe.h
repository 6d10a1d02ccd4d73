// Header probing: format, pixel size and EXIF orientation read straight from
// the container headers (JPEG SOFn/APP1, PNG IHDR, BMP DIB header, WebP
// VP8/VP8L/VP8X), so that oversized or malformed uploads are refused before a
// decoder allocates anything. Pure functions; thread-safe; no allocation
// beyond the returned error messages.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/status.h"
#include "image/image_info.h"

namespace yoloscope {

// Reads the header of an encoded image held in `data[0, size)` (borrowed,
// not retained). Errors:
//   kInvalidArgument  empty input; unknown format; a header field out of
//                     range (zero width, ...).
//   kUnimplemented    a format it recognises but does not decode ("unsupported
//                     image format (GIF)": GIF, TIFF, HEIF, animated WebP,
//                     12-bit/lossless/hierarchical JPEG).
//   kDataLoss         the header is truncated or corrupt ("truncated JPEG: ...").
// Does not check any pixel limit (see DecodeOptions::max_pixels).
StatusOr<ImageInfo> ProbeImage(const uint8_t* data, size_t size);

// Parses the orientation tag (0x0112) from the payload of a JPEG APP1 "Exif"
// segment, starting at the "Exif\0\0" identifier. Returns 1-8, or 1 when the
// payload is malformed or carries no (valid) orientation: a broken EXIF block
// must never make an otherwise good image fail.
int ParseExifOrientation(const uint8_t* app1_payload, size_t size);

}  // namespace yoloscope
