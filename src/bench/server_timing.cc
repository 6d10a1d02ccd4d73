#include "bench/server_timing.h"

#include <charconv>
#include <cstdlib>
#include <string>

namespace yoloscope {
namespace {

constexpr std::string_view kStageNames[kNumStages] = {"queue",     "decode",      "preprocess",
                                                      "inference", "postprocess", "total"};
constexpr std::string_view kStageKeys[kNumStages] = {
    "\"queue_ms\":",     "\"decode_ms\":",      "\"preprocess_ms\":",
    "\"inference_ms\":", "\"postprocess_ms\":", "\"total_ms\":"};

// The number after `key` in `text`, skipping spaces; nullopt when absent.
std::optional<double> NumberAfter(std::string_view text, std::string_view key) {
  size_t at = text.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  size_t i = at + key.size();
  while (i < text.size() && text[i] == ' ') ++i;
  double v = 0;
  auto [p, ec] = std::from_chars(text.data() + i, text.data() + text.size(), v);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

}  // namespace

std::string_view StageName(Stage stage) { return kStageNames[static_cast<int>(stage)]; }

std::optional<ServerTiming> ParseServerTiming(std::string_view body) {
  size_t at = body.find("\"timing\":");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view timing = body.substr(at);
  size_t end = timing.find('}');
  if (end != std::string_view::npos) timing = timing.substr(0, end);
  ServerTiming t;
  for (int s = 0; s < kNumStages; ++s) {
    if (auto v = NumberAfter(timing, kStageKeys[s])) t.ms[s] = *v;
  }
  if (auto b = NumberAfter(body.substr(0, at), "\"batch_size\":")) {
    t.batch_size = static_cast<int>(*b);
  } else if (auto b2 = NumberAfter(body, "\"batch_size\":")) {
    t.batch_size = static_cast<int>(*b2);
  }
  return t;
}

}  // namespace yoloscope
