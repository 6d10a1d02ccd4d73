#include "bench/image_set.h"

#include <turbojpeg.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "image/image_probe.h"

namespace yoloscope {
namespace {

const char* ContentTypeFor(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg:
      return "image/jpeg";
    case ImageFormat::kPng:
      return "image/png";
    case ImageFormat::kBmp:
      return "image/bmp";
    case ImageFormat::kWebp:
      return "image/webp";
    default:
      return nullptr;
  }
}

std::unique_ptr<EncodedImage> Generated(int w, int h, int quality, uint64_t seed) {
  auto jpeg = ImageSet::GenerateJpeg(w, h, quality, seed);
  if (!jpeg.ok()) return nullptr;
  auto image = std::make_unique<EncodedImage>();
  image->name =
      "generated-" + std::to_string(w) + "x" + std::to_string(h) + "-" + std::to_string(seed);
  image->content_type = "image/jpeg";
  image->bytes = std::move(jpeg).value();
  image->width = w;
  image->height = h;
  return image;
}

}  // namespace

StatusOr<std::string> ImageSet::GenerateJpeg(int width, int height, int quality, uint64_t seed) {
  if (width < 1 || height < 1 || width > 16384 || height > 16384) {
    return InvalidArgumentError("generated image size must be 1..16384 per side");
  }
  if (quality < 1 || quality > 100) return InvalidArgumentError("jpeg quality must be 1..100");
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3);
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + 1);
  std::uniform_int_distribution<int> noise(-12, 12);
  // A few coloured blocks over a two-way gradient, plus noise.
  struct Block {
    int x0, y0, x1, y1;
    uint8_t r, g, b;
  };
  std::vector<Block> blocks;
  for (int i = 0; i < 6; ++i) {
    int x0 = static_cast<int>(rng() % static_cast<uint64_t>(width));
    int y0 = static_cast<int>(rng() % static_cast<uint64_t>(height));
    int bw = 1 + static_cast<int>(rng() % static_cast<uint64_t>(std::max(1, width / 3)));
    int bh = 1 + static_cast<int>(rng() % static_cast<uint64_t>(std::max(1, height / 3)));
    blocks.push_back({x0, y0, std::min(width, x0 + bw), std::min(height, y0 + bh),
                      static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()),
                      static_cast<uint8_t>(rng())});
  }
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      int r = 255 * x / std::max(1, width - 1);
      int g = 255 * y / std::max(1, height - 1);
      int b = 128 + static_cast<int>(seed % 97);
      for (const Block& blk : blocks) {
        if (x >= blk.x0 && x < blk.x1 && y >= blk.y0 && y < blk.y1) {
          r = blk.r;
          g = blk.g;
          b = blk.b;
        }
      }
      uint8_t* px = &rgb[(static_cast<size_t>(y) * width + x) * 3];
      px[0] = static_cast<uint8_t>(std::clamp(r + noise(rng), 0, 255));
      px[1] = static_cast<uint8_t>(std::clamp(g + noise(rng), 0, 255));
      px[2] = static_cast<uint8_t>(std::clamp(b + noise(rng), 0, 255));
    }
  }
  tjhandle handle = tjInitCompress();
  if (handle == nullptr) return InternalError("tjInitCompress failed");
  unsigned char* out = nullptr;
  unsigned long out_size = 0;  // NOLINT(runtime/int): TurboJPEG's type.
  int rc = tjCompress2(handle, rgb.data(), width, 0, height, TJPF_RGB, &out, &out_size, TJSAMP_420,
                       quality, TJFLAG_FASTDCT);
  std::string result;
  if (rc == 0) result.assign(reinterpret_cast<const char*>(out), out_size);
  std::string error = rc == 0 ? "" : tjGetErrorStr2(handle);
  tjFree(out);
  tjDestroy(handle);
  if (rc != 0) return InternalError("JPEG encoding failed: " + error);
  return result;
}

StatusOr<std::unique_ptr<ImageSet>> ImageSet::Create(const ImageSetConfig& config) {
  std::unique_ptr<ImageSet> set(new ImageSet(config));
  if (config.directory.empty()) {
    if (config.generated_variants < 1) {
      return InvalidArgumentError("generated_variants must be >= 1");
    }
    for (int i = 0; i < config.generated_variants; ++i) {
      YS_ASSIGN_OR_RETURN(std::string jpeg,
                          GenerateJpeg(config.width, config.height, config.jpeg_quality,
                                       static_cast<uint64_t>(i + 1)));
      auto image = std::make_unique<EncodedImage>();
      image->name = "generated-" + std::to_string(config.width) + "x" +
                    std::to_string(config.height) + "-" + std::to_string(i + 1);
      image->content_type = "image/jpeg";
      image->bytes = std::move(jpeg);
      image->width = config.width;
      image->height = config.height;
      set->images_.push_back(std::move(image));
    }
    return set;
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(config.directory, ec)) {
    return NotFoundError("image folder not found: " + config.directory);
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(config.directory, ec)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto info = ProbeImage(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    if (!info.ok()) continue;
    const char* type = ContentTypeFor(info->format);
    if (type == nullptr) continue;
    auto image = std::make_unique<EncodedImage>();
    image->name = path.filename().string();
    image->content_type = type;
    image->bytes = std::move(bytes);
    image->width = info->UprightWidth();
    image->height = info->UprightHeight();
    set->images_.push_back(std::move(image));
  }
  if (set->images_.empty()) {
    return InvalidArgumentError("no readable image (JPEG, PNG, BMP, WebP) in " + config.directory);
  }
  return set;
}

const EncodedImage& ImageSet::Next() {
  const EncodedImage& image = *images_[next_];
  next_ = (next_ + 1) % images_.size();
  return image;
}

const EncodedImage& ImageSet::ForSize(int w, int h) {
  if (w <= 0 || h <= 0) return Next();
  for (const auto& image : images_) {
    if (image->width == w && image->height == h) return *image;
  }
  auto it = by_size_.find({w, h});
  if (it != by_size_.end()) return *it->second;
  auto image = Generated(w, h, config_.jpeg_quality, 1);
  if (image == nullptr) return Next();
  return *by_size_.emplace(std::make_pair(w, h), std::move(image)).first->second;
}

}  // namespace yoloscope
