#include "stream/stream_config.h"

#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "common/http_url.h"

namespace yoloscope {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

StreamSourceKind ClassifyStreamUri(std::string_view uri) {
  const std::string lower = Lower(uri);
  if (StartsWith(lower, "/dev/video") || StartsWith(lower, "v4l2://")) {
    return StreamSourceKind::kDevice;
  }
  const size_t scheme_end = lower.find("://");
  if (scheme_end == std::string::npos) return StreamSourceKind::kFile;
  const std::string scheme = lower.substr(0, scheme_end);
  if (scheme == "file") return StreamSourceKind::kFile;
  return StreamSourceKind::kNetwork;
}

std::string_view StreamSourceKindName(StreamSourceKind kind) {
  switch (kind) {
    case StreamSourceKind::kFile:
      return "file";
    case StreamSourceKind::kNetwork:
      return "network";
    case StreamSourceKind::kDevice:
      return "device";
  }
  return "file";
}

FrameDropPolicy EffectiveDropPolicy(const StreamConfig& config) {
  if (config.drop_policy != FrameDropPolicy::kAuto) return config.drop_policy;
  return ClassifyStreamUri(config.uri) == StreamSourceKind::kFile ? FrameDropPolicy::kBlock
                                                                  : FrameDropPolicy::kDropOldest;
}

std::string_view FrameDropPolicyName(FrameDropPolicy policy) {
  switch (policy) {
    case FrameDropPolicy::kAuto:
      return "auto";
    case FrameDropPolicy::kDropOldest:
      return "drop_oldest";
    case FrameDropPolicy::kBlock:
      return "block";
  }
  return "auto";
}

StatusOr<FrameDropPolicy> ParseFrameDropPolicy(std::string_view text) {
  if (text == "auto") return FrameDropPolicy::kAuto;
  if (text == "drop_oldest") return FrameDropPolicy::kDropOldest;
  if (text == "block") return FrameDropPolicy::kBlock;
  return InvalidArgumentError("drop policy must be auto, drop_oldest or block, got '" +
                              std::string(text) + "'");
}

std::string RedactStreamUri(std::string_view uri) {
  const size_t scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos) return std::string(uri);
  const size_t host_start = scheme_end + 3;
  const size_t path_start = uri.find('/', host_start);
  const std::string_view authority =
      uri.substr(host_start, path_start == std::string_view::npos ? std::string_view::npos
                                                                  : path_start - host_start);
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(uri);
  std::string out(uri.substr(0, host_start));
  out += "***@";
  out += uri.substr(host_start + at + 1);
  return out;
}

StatusOr<StreamConfig> ParseStreamFlag(std::string_view text) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == text.size()) {
    return InvalidArgumentError(
        "--stream expects NAME=URI (e.g. cam1=rtsp://10.0.0.5/live), got '" +
        RedactStreamUri(text) + "'");
  }
  StreamConfig c;
  c.name = std::string(text.substr(0, eq));
  c.uri = std::string(text.substr(eq + 1));
  return c;
}

Status ValidateStreamConfig(const StreamConfig& c, const std::string& key) {
  auto bad = [&](const std::string& why) { return InvalidArgumentError(key + ": " + why); };
  if (!ValidName(c.name)) {
    return bad("name must be 1-64 characters of A-Z a-z 0-9 _ - ., got '" + c.name + "'");
  }
  if (c.uri.empty()) return bad("uri must not be empty");
  if (!std::isfinite(c.target_fps) || c.target_fps < 0 || c.target_fps > 1000) {
    std::ostringstream got;
    got << c.target_fps;
    return bad("fps must be in 0..1000 (0 = every frame), got " + got.str());
  }
  if (c.queue_size < 1 || c.queue_size > 1024) {
    return bad("queue_size must be in 1..1024, got " + std::to_string(c.queue_size));
  }
  if (c.max_in_flight < 1 || c.max_in_flight > 1024) {
    return bad("max_in_flight must be in 1..1024, got " + std::to_string(c.max_in_flight));
  }
  if (c.priority != "normal" && c.priority != "high") {
    return bad("priority must be normal or high, got '" + c.priority + "'");
  }
  if (c.reconnect_min_ms < 1 || c.reconnect_min_ms > 3'600'000) {
    return bad("reconnect_min_ms must be in 1..3600000, got " + std::to_string(c.reconnect_min_ms));
  }
  if (c.reconnect_max_ms < c.reconnect_min_ms || c.reconnect_max_ms > 3'600'000) {
    return bad("reconnect_max_ms must be in reconnect_min_ms.." + std::string("3600000") +
               ", got " + std::to_string(c.reconnect_max_ms));
  }
  if (c.max_reconnects < -1) {
    return bad("max_reconnects must be >= -1 (-1 = forever), got " +
               std::to_string(c.max_reconnects));
  }
  if (c.open_timeout_ms < 1 || c.open_timeout_ms > 600'000) {
    return bad("open_timeout_ms must be in 1..600000, got " + std::to_string(c.open_timeout_ms));
  }
  if (c.read_timeout_ms < 1 || c.read_timeout_ms > 600'000) {
    return bad("read_timeout_ms must be in 1..600000, got " + std::to_string(c.read_timeout_ms));
  }
  if (c.realtime && ClassifyStreamUri(c.uri) != StreamSourceKind::kFile) {
    return bad("realtime applies to files only (a live source delivers at its own rate)");
  }
  return ValidateStreamResultsConfig(c.results, key + ": results");
}

Status ValidateStreamResultsConfig(const StreamResultsConfig& r, const std::string& key) {
  auto range = [&](const char* field, int64_t v, int64_t lo, int64_t hi) -> Status {
    if (v >= lo && v <= hi) return Status::Ok();
    return InvalidArgumentError(key + "." + field + " must be in " + std::to_string(lo) + ".." +
                                std::to_string(hi) + ", got " + std::to_string(v));
  };
  YS_RETURN_IF_ERROR(range("jsonl_max_file_bytes", r.jsonl_max_file_bytes, 0,
                           std::numeric_limits<int64_t>::max()));
  YS_RETURN_IF_ERROR(range("jsonl_max_files", r.jsonl_max_files, 0, 1000));
  YS_RETURN_IF_ERROR(range("jsonl_queue_capacity", r.jsonl_queue_capacity, 1, 1 << 24));
  const StreamResultsWebhookConfig& w = r.webhook;
  if (!w.url.empty()) {
    auto url = HttpUrl::Parse(w.url);
    if (!url.ok()) return InvalidArgumentError(key + ".webhook.url: " + url.status().message());
  }
  YS_RETURN_IF_ERROR(range("webhook.timeout_ms", w.timeout_ms, 1, 600'000));
  YS_RETURN_IF_ERROR(range("webhook.max_attempts", w.max_attempts, 1, 100));
  YS_RETURN_IF_ERROR(range("webhook.initial_backoff_ms", w.initial_backoff_ms, 0, 3'600'000));
  YS_RETURN_IF_ERROR(
      range("webhook.max_backoff_ms", w.max_backoff_ms, w.initial_backoff_ms, 3'600'000));
  YS_RETURN_IF_ERROR(range("webhook.queue_capacity", w.queue_capacity, 1, 1 << 20));
  YS_RETURN_IF_ERROR(range("webhook.max_frames_per_post", w.max_frames_per_post, 1, 10'000));
  YS_RETURN_IF_ERROR(range("webhook.close_timeout_ms", w.close_timeout_ms, 0, 600'000));
  return Status::Ok();
}

Status ValidateStreamConfigs(const std::vector<StreamConfig>& streams) {
  std::set<std::string> names;
  for (size_t i = 0; i < streams.size(); ++i) {
    const std::string key = "streams[" + std::to_string(i) + "] (" + streams[i].name + ")";
    YS_RETURN_IF_ERROR(ValidateStreamConfig(streams[i], key));
    if (!names.insert(streams[i].name).second) {
      return InvalidArgumentError(key + ": stream name '" + streams[i].name +
                                  "' is used twice (--stream NAME=URI names must be unique)");
    }
  }
  return Status::Ok();
}

}  // namespace yoloscope
