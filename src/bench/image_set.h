// ImageSet: the encoded images a load generator sends, prepared once before
// the load starts (no encoding on the hot path).
//
// Two sources:
// - a folder of image files (JPEG, PNG, BMP, WebP; others are skipped),
//   cycled in file-name order;
// - generated JPEGs of a given size (a deterministic pattern of gradients,
//   blocks and noise, so they compress like photos rather than like a flat
//   colour), `generated_variants` distinct ones cycled.
// ForSize(w, h) gives an image of exactly that (upright) size, for replaying
// a log's image sizes: a folder image of that size when there is one,
// otherwise a JPEG generated on first use and cached.
//
// Ownership: the set owns its images; references stay valid for the set's
// lifetime. Thread-safety: thread-compatible (the load generator uses it
// from its one I/O thread).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace yoloscope {

struct EncodedImage {
  std::string name;          // file name, or "generated-WxH-N"
  std::string content_type;  // image/jpeg, image/png, ...
  std::string bytes;
  int width = 0, height = 0;  // upright pixel size
};

struct ImageSetConfig {
  // Folder of images to cycle; "" = generated images.
  std::string directory;
  // Size of generated images (used when `directory` is empty).
  int width = 640;
  int height = 480;
  int generated_variants = 4;  // distinct generated images, >= 1
  int jpeg_quality = 90;       // 1..100
};

class ImageSet {
 public:
  // NotFound for a missing folder; InvalidArgument for a folder without a
  // readable image or a bad size/quality.
  static StatusOr<std::unique_ptr<ImageSet>> Create(const ImageSetConfig& config);

  // The next image of the cycle.
  const EncodedImage& Next();
  // An image whose upright size is exactly w x h (see the header comment).
  // Falls back to Next() when the JPEG cannot be generated (w or h <= 0).
  const EncodedImage& ForSize(int w, int h);

  size_t size() const { return images_.size(); }
  const EncodedImage& at(size_t i) const { return *images_[i]; }

  // A deterministic synthetic JPEG of w x h pixels (`seed` varies the
  // pattern). InvalidArgument for a bad size or quality.
  static StatusOr<std::string> GenerateJpeg(int width, int height, int quality, uint64_t seed);

 private:
  explicit ImageSet(const ImageSetConfig& config) : config_(config) {}

  ImageSetConfig config_;
  std::vector<std::unique_ptr<EncodedImage>> images_;
  size_t next_ = 0;
  std::map<std::pair<int, int>, std::unique_ptr<EncodedImage>> by_size_;  // generated on demand
};

}  // namespace yoloscope
