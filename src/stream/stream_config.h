// StreamConfig: one video stream's settings (`serve --stream NAME=URI`, a
// YAML `streams:` entry, `detect --stream URI`), as a plain struct with the
// defaults in its member initializers, and the one validation every source
// of a config goes through (ValidateStreamConfig; serve's
// ValidateServeConfig calls it for each stream).
//
// Units: milliseconds for times, frames per second for rates.
// Plain value types and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace yoloscope {

// What kind of source a URI names (ClassifyStreamUri).
enum class StreamSourceKind {
  kFile,     // a path or file://: ends at EOF, never reconnected
  kNetwork,  // rtsp, rtp, udp, tcp, http(s), srt, rtmp: live, reconnected
  kDevice,   // /dev/videoN or v4l2://...: a V4L2 camera, live, reconnected
};

// When the frame queue is full: drop the oldest queued frame (live
// sources: keep the newest, count the drop), or make the reader wait
// (files: every frame is processed, nothing is dropped).
enum class FrameDropPolicy { kAuto, kDropOldest, kBlock };

// A stream's result webhook (serve only): frames' results POSTed as JSON,
// {"stream": NAME, "frames": [<one JSONL line's object>, ...]}, from a sender
// thread with a bounded queue (alerts/webhook_sender.h). Frames queued while
// a POST is under way go together in the next, up to max_frames_per_post.
struct StreamResultsWebhookConfig {
  std::string url;                   // "" = off; http://host[:port][/path]
  std::string bearer_token;          // "Authorization: Bearer ..." when set
  int64_t timeout_ms = 2000;         // per attempt (connect + send + answer), 1..600000
  int max_attempts = 3;              // including the first, 1..100
  int64_t initial_backoff_ms = 200;  // before the second attempt, doubling
  int64_t max_backoff_ms = 5000;     // cap of the doubling waits
  int queue_capacity = 256;          // frames waiting; full: the oldest is dropped (counted)
  int max_frames_per_post = 16;      // 1..10000
  int64_t close_timeout_ms = 2000;   // at shutdown: time to deliver what is queued
};

// Where a stream's per-frame results go besides the request log (serve
// only; docs/streams.md, "Results out"). Every sink is fed without waiting:
// what it cannot take is dropped and counted.
struct StreamResultsConfig {
  // A JSONL file, appended: one line per processed (or failed) frame.
  // "" = off. Written by its own writer thread (logging/async_log_writer.h):
  // flushed at least every 50 ms, rotated above jsonl_max_file_bytes.
  std::string jsonl;
  int64_t jsonl_max_file_bytes = 256ll << 20;  // 0 = never rotate
  int jsonl_max_files = 5;                     // rotated files kept, 0..1000
  int jsonl_queue_capacity = 4096;             // lines waiting for the writer
  StreamResultsWebhookConfig webhook;
};

struct StreamConfig {
  std::string name;  // [A-Za-z0-9_.-]{1,64}; the `stream` of records and metric labels
  std::string uri;   // a file path, file://, rtsp://, udp://, rtp://, http://, /dev/videoN, ...
  // Frames per second handed to inference, sampled by presentation time;
  // 0 = every frame the source delivers.
  double target_fps = 0;
  // Decoded frames waiting for inference (per stream). Bounded: what does
  // not fit is dropped (oldest first) or waited for, per `drop_policy`.
  int queue_size = 4;
  // kAuto = kBlock for files, kDropOldest for live sources.
  FrameDropPolicy drop_policy = FrameDropPolicy::kAuto;
  // Frames of this stream in the inference pipeline at once (submitted, not
  // yet answered). More frames queue (and are dropped) in the stream's queue.
  int max_in_flight = 2;
  // "normal" or "high": high-priority streams go ahead of normal requests in
  // the dynamic batcher.
  std::string priority = "normal";
  // Live sources: reconnect after a failure, waiting reconnect_min_ms, then
  // twice as long each time up to reconnect_max_ms (reset once frames flow).
  int64_t reconnect_min_ms = 500;
  int64_t reconnect_max_ms = 10'000;
  // Reconnect attempts before giving up; -1 = never give up.
  int max_reconnects = -1;
  // Opening and reading give up after these (FFmpeg's interrupt callback):
  // an unreachable or silent source is noticed in this time.
  int64_t open_timeout_ms = 10'000;
  int64_t read_timeout_ms = 5'000;
  // Files only: read at the file's own frame rate (as a camera would
  // deliver it) instead of as fast as inference takes frames.
  bool realtime = false;
  // Per-frame results out (JSONL file, webhook); serve only.
  StreamResultsConfig results;
};

// Which kind of source `uri` is: by its scheme, "/dev/video" prefix or
// "v4l2://"; anything else (a path, file://) is a file.
StreamSourceKind ClassifyStreamUri(std::string_view uri);
std::string_view StreamSourceKindName(StreamSourceKind kind);  // "file", "network", "device"

// The policy in effect: kAuto resolved by the source kind.
FrameDropPolicy EffectiveDropPolicy(const StreamConfig& config);
std::string_view FrameDropPolicyName(FrameDropPolicy policy);  // "auto", "drop_oldest", "block"
StatusOr<FrameDropPolicy> ParseFrameDropPolicy(std::string_view text);

// `uri` with any user:password@ part replaced by "***@" (for logs, metrics
// and error messages; camera URIs often carry credentials).
std::string RedactStreamUri(std::string_view uri);

// "NAME=URI" (the --stream flag). InvalidArgument naming the flag when
// there is no '=' or a side is empty. Other fields keep their defaults.
StatusOr<StreamConfig> ParseStreamFlag(std::string_view text);

// Every range and rule of one stream. `key` names it in messages, e.g.
// "streams[1] (cam2)". InvalidArgument.
Status ValidateStreamConfig(const StreamConfig& config, const std::string& key);

// The `results:` of a stream; `key` names it, e.g. "streams[0] (door): results".
Status ValidateStreamResultsConfig(const StreamResultsConfig& results, const std::string& key);

// All streams: each valid, names unique.
Status ValidateStreamConfigs(const std::vector<StreamConfig>& streams);

}  // namespace yoloscope
