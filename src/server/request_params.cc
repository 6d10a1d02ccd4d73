#include "server/request_params.h"

#include <charconv>

#include "server/inference_service.h"

namespace yoloscope {
namespace {

constexpr int64_t kMaxTimeoutMs = 1'000'000'000'000;  // ~31 years: no overflow in us

}  // namespace

void RequestParams::ApplyTo(InferenceRequest* request) const {
  if (conf) request->conf = conf;
  if (iou) request->iou = iou;
  if (max_det) request->max_det = max_det;
  if (timeout_us) request->timeout_us = *timeout_us;
  if (high_priority) request->high_priority = *high_priority;
}

bool IsRequestParam(std::string_view name) {
  for (std::string_view known : kRequestParamNames) {
    if (name == known) return true;
  }
  return false;
}

Status ApplyParam(std::string_view name, const std::string& where, std::string_view text,
                  RequestParams* p) {
  auto bad = [&](const char* why) {
    std::string shown(text.substr(0, 64));
    if (text.size() > 64) shown += "...";
    return InvalidArgumentError(where + " " + why + ", got '" + shown + "'");
  };
  auto parse = [&](auto* out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
    return ec == std::errc() && end == text.data() + text.size() && !text.empty();
  };
  if (name == "conf" || name == "iou") {
    float v = 0;
    if (!parse(&v) || !(v >= 0.f && v <= 1.f)) return bad("must be a number in [0, 1]");
    (name == "conf" ? p->conf : p->iou) = v;
  } else if (name == "max_det") {
    int v = 0;
    if (!parse(&v) || v < 1) return bad("must be a whole number >= 1");
    p->max_det = v;
  } else if (name == "timeout_ms") {
    int64_t v = 0;
    if (!parse(&v) || v < 0 || v > kMaxTimeoutMs) {
      return bad("must be a whole number of milliseconds >= 0 (0 = the server's default)");
    }
    p->timeout_us = v * 1000;
  } else if (name == "timeout") {
    int64_t v = 0;
    if (!parse(&v) || v < 0 || v > kMaxTimeoutMs * 1000) {
      return bad("must be a whole number of microseconds >= 0 (0 = the server's default)");
    }
    p->timeout_us = v;
  } else if (name == "priority") {
    uint64_t level = 0;
    if (text == "high") {
      p->high_priority = true;
    } else if (text == "normal") {
      p->high_priority = false;
    } else if (parse(&level)) {
      // Triton: 1 is the highest level, 0 means the model's default.
      p->high_priority = level == 1;
    } else {
      return bad("must be 'high', 'normal' or a priority level (1 = highest, 0 = default)");
    }
  }
  return Status::Ok();
}

bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace yoloscope
