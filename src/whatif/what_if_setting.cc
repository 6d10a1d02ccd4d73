#include "whatif/what_if_setting.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace yoloscope {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

StatusOr<int64_t> ParseInt(std::string_view key, std::string_view v) {
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) {
    return InvalidArgumentError(fmt::format("{}: expected an integer, got '{}'", key, v));
  }
  return out;
}

StatusOr<double> ParseNumber(std::string_view key, std::string_view v) {
  double out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || !std::isfinite(out)) {
    return InvalidArgumentError(fmt::format("{}: expected a number, got '{}'", key, v));
  }
  return out;
}

}  // namespace

Status ValidateWhatIfSetting(const WhatIfSetting& s) {
  YS_RETURN_IF_ERROR(ValidateBatcherConfig(ToBatcherConfig(s)));
  if (s.instances < 1 || s.instances > 1024) {
    return InvalidArgumentError(fmt::format("instances must be in [1, 1024], got {}", s.instances));
  }
  if (s.devices < 0 || s.devices > 1024) {
    return InvalidArgumentError(fmt::format("devices must be in [1, 1024], got {}", s.devices));
  }
  if (s.preprocess_workers < 1 || s.postprocess_workers < 1 || s.preprocess_workers > 4096 ||
      s.postprocess_workers > 4096) {
    return InvalidArgumentError("preprocess_workers and postprocess_workers must be in [1, 4096]");
  }
  if (!(s.rate_scale > 0 && s.rate_scale <= 1000)) {
    return InvalidArgumentError(fmt::format("rate scale must be in (0, 1000], got {}", s.rate_scale));
  }
  if (!(s.rate_per_s >= 0 && std::isfinite(s.rate_per_s))) {
    return InvalidArgumentError("rate (requests per second) must be > 0");
  }
  return Status::Ok();
}

StatusOr<WhatIfSetting> ApplyWhatIf(std::string_view spec, const WhatIfSetting& base) {
  WhatIfSetting s = base;
  s.label = std::string(Trim(spec));
  std::string_view rest = spec;
  bool any = false, set_instances = false, set_devices = false;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgumentError(fmt::format("what-if '{}': '{}' is not key=value", spec, item));
    }
    const std::string_view key = Trim(item.substr(0, eq));
    const std::string_view value = Trim(item.substr(eq + 1));
    any = true;
    auto bad = [&](const Status& st) { return st.WithContext(fmt::format("what-if '{}'", spec)); };
    if (key == "max_batch" || key == "max_batch_size") {
      auto v = ParseInt(key, value);
      if (!v.ok()) return bad(v.status());
      if (*v < 1 || *v > (1 << 16)) return bad(InvalidArgumentError("max_batch must be in [1, 65536]"));
      s.max_batch_size = static_cast<int>(*v);
    } else if (key == "max_queue_delay_us" || key == "window_us") {
      auto v = ParseInt(key, value);
      if (!v.ok()) return bad(v.status());
      s.max_queue_delay_us = *v;
    } else if (key == "max_queue_delay_ms" || key == "window_ms") {
      auto v = ParseNumber(key, value);
      if (!v.ok()) return bad(v.status());
      if (*v < 0 || *v > 60'000) return bad(InvalidArgumentError("window must be in [0, 60000] ms"));
      s.max_queue_delay_us = std::llround(*v * 1000);
    } else if (key == "instances") {
      auto v = ParseInt(key, value);
      if (!v.ok()) return bad(v.status());
      if (*v < 1 || *v > 1024) return bad(InvalidArgumentError("instances must be in [1, 1024]"));
      s.instances = static_cast<int>(*v);
      set_instances = true;
    } else if (key == "devices" || key == "gpus") {
      auto v = ParseInt(key, value);
      if (!v.ok()) return bad(v.status());
      if (*v < 1 || *v > 1024) return bad(InvalidArgumentError("devices must be in [1, 1024]"));
      s.devices = static_cast<int>(*v);
      set_devices = true;
    } else if (key == "queue_size" || key == "max_queue_size") {
      auto v = ParseInt(key, value);
      if (!v.ok()) return bad(v.status());
      if (*v < 1 || *v > (1 << 30)) return bad(InvalidArgumentError("queue_size must be >= 1"));
      s.max_queue_size = static_cast<int>(*v);
    } else if (key == "preprocess_workers" || key == "postprocess_workers") {
      auto v = ParseInt(key, value);
      if (!v.ok()) return bad(v.status());
      if (*v < 1 || *v > 4096) return bad(InvalidArgumentError(fmt::format("{} must be in [1, 4096]", key)));
      (key == "preprocess_workers" ? s.preprocess_workers : s.postprocess_workers) =
          static_cast<int>(*v);
    } else if (key == "policy") {
      auto p = ParseBatchPolicy(value);
      if (!p.ok()) return bad(p.status());
      s.policy = *p;
    } else if (key == "rate") {
      if (!value.empty() && (value.front() == 'x' || value.front() == 'X')) {
        auto v = ParseNumber(key, value.substr(1));
        if (!v.ok()) return bad(v.status());
        if (!(*v > 0)) return bad(InvalidArgumentError("rate xF needs F > 0"));
        s.rate_scale = *v;
        s.rate_per_s = 0;
      } else {
        std::string_view num = value;
        if (num.ends_with("/s")) num.remove_suffix(2);
        auto v = ParseNumber(key, num);
        if (!v.ok()) {
          return bad(InvalidArgumentError(
              fmt::format("rate: expected xF (scale, e.g. x1.5) or requests/s, got '{}'", value)));
        }
        if (!(*v > 0)) return bad(InvalidArgumentError("rate needs > 0 requests/s"));
        s.rate_per_s = *v;
        s.rate_scale = 1;
      }
    } else {
      return bad(InvalidArgumentError(fmt::format(
          "unknown key '{}' (expected max_batch, max_queue_delay_us, max_queue_delay_ms, "
          "instances, devices, queue_size, preprocess_workers, postprocess_workers, policy, "
          "rate)",
          key)));
    }
  }
  if (!any) return InvalidArgumentError(fmt::format("what-if '{}' sets nothing", spec));
  // "devices=2" alone: an instance on each device.
  if (set_devices && !set_instances) s.instances = std::max(s.instances, s.devices);
  Status valid = ValidateWhatIfSetting(s);
  if (!valid.ok()) return valid.WithContext(fmt::format("what-if '{}'", spec));
  return s;
}

std::string DescribeWhatIf(const WhatIfSetting& s) {
  std::string out = fmt::format(
      "max_batch={},max_queue_delay_us={},instances={},queue_size={},preprocess_workers={},"
      "postprocess_workers={},policy={}",
      s.max_batch_size, s.max_queue_delay_us, s.instances, s.max_queue_size, s.preprocess_workers,
      s.postprocess_workers, BatchPolicyName(s.policy));
  if (s.devices > 0) out += fmt::format(",devices={}", s.devices);
  if (s.rate_per_s > 0) {
    out += fmt::format(",rate={:g}", s.rate_per_s);
  } else if (s.rate_scale != 1) {
    out += fmt::format(",rate=x{:g}", s.rate_scale);
  }
  return out;
}

BatcherConfig ToBatcherConfig(const WhatIfSetting& s) {
  BatcherConfig c;
  c.max_batch_size = s.max_batch_size;
  c.max_queue_delay_us = s.max_queue_delay_us;
  c.max_queue_size = s.max_queue_size;
  c.policy = s.policy;
  return c;
}

}  // namespace yoloscope
