// Helpers shared by the fuzz targets: splitting one fuzz input into the
// pieces a parser takes, and failing loudly (abort, which libFuzzer reports
// as a crash) when a property every input must have does not hold.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace yoloscope::fuzz {

// A cursor over the input bytes.
class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}

  // The first byte (0 if none), consumed.
  uint8_t TakeByte() {
    if (rest_.empty()) return 0;
    uint8_t byte = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return byte;
  }
  // Up to the first '\n' (excluded, consumed), or everything left.
  std::string_view TakeLine() {
    size_t newline = rest_.find('\n');
    std::string_view line = rest_.substr(0, newline);
    rest_.remove_prefix(newline == std::string_view::npos ? rest_.size() : newline + 1);
    return line;
  }
  std::string_view rest() const { return rest_; }
  bool empty() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

// Aborts with `what` unless `condition` holds.
inline void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz check failed: %s\n", what);
    std::abort();
  }
}

}  // namespace yoloscope::fuzz
