#include "backends/onnx_metadata.h"

#include <cstdint>
#include <fstream>
#include <sstream>

namespace yoloscope {
namespace {

// Minimal protobuf wire-format cursor: enough to walk ModelProto's top-level
// fields and the StringStringEntryProto messages inside field 14.
class WireReader {
 public:
  WireReader(const char* p, size_t n) : p_(p), end_(p + n) {}
  bool done() const { return p_ >= end_; }

  bool ReadVarint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) return false;
      uint8_t b = static_cast<uint8_t>(*p_++);
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        *v = result;
        return true;
      }
    }
    return false;
  }

  // Reads a tag and, for length-delimited fields, the payload view.
  bool Next(uint32_t* field, uint32_t* wire_type, const char** payload, size_t* len) {
    uint64_t tag;
    if (!ReadVarint(&tag)) return false;
    *field = static_cast<uint32_t>(tag >> 3);
    *wire_type = static_cast<uint32_t>(tag & 7);
    *payload = nullptr;
    *len = 0;
    switch (*wire_type) {
      case 0: {
        uint64_t ignored;
        return ReadVarint(&ignored);
      }
      case 1:
        return Skip(8);
      case 5:
        return Skip(4);
      case 2: {
        uint64_t n;
        if (!ReadVarint(&n) || n > static_cast<uint64_t>(end_ - p_)) return false;
        *payload = p_;
        *len = static_cast<size_t>(n);
        p_ += n;
        return true;
      }
      default:
        return false;  // groups (3/4) are not used by ONNX.
    }
  }

 private:
  bool Skip(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    p_ += n;
    return true;
  }
  const char* p_;
  const char* end_;
};

constexpr uint32_t kModelMetadataPropsField = 14;
constexpr uint32_t kModelGraphField = 7;

}  // namespace

StatusOr<std::map<std::string, std::string>> ParseOnnxMetadata(const std::string& bytes) {
  std::map<std::string, std::string> kv;
  WireReader reader(bytes.data(), bytes.size());
  bool saw_graph = false;
  while (!reader.done()) {
    uint32_t field, wt;
    const char* payload;
    size_t len;
    if (!reader.Next(&field, &wt, &payload, &len)) {
      return InvalidArgumentError("not an ONNX model (malformed protobuf)");
    }
    if (field == kModelGraphField && wt == 2) saw_graph = true;
    if (field != kModelMetadataPropsField || wt != 2) continue;
    WireReader entry(payload, len);
    std::string key, value;
    while (!entry.done()) {
      uint32_t f, w;
      const char* pl;
      size_t l;
      if (!entry.Next(&f, &w, &pl, &l)) {
        return InvalidArgumentError("not an ONNX model (malformed metadata entry)");
      }
      if (w != 2) continue;
      if (f == 1) key.assign(pl, l);
      if (f == 2) value.assign(pl, l);
    }
    if (!key.empty()) kv[key] = value;
  }
  if (!saw_graph) return InvalidArgumentError("not an ONNX model (no graph)");
  return kv;
}

StatusOr<std::map<std::string, std::string>> ReadOnnxMetadata(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  auto kv = ParseOnnxMetadata(ss.str());
  if (!kv.ok()) return kv.status().WithContext(path);
  return kv;
}

}  // namespace yoloscope
