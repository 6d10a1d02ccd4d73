#include "analyzer/rules/stream_falling_behind.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "analyzer/rules/rule_helpers.h"

namespace yoloscope {
namespace {

constexpr std::string_view kKind = "stream_falling_behind";

int64_t FloorDiv(int64_t v, int64_t d) { return v >= 0 ? v / d : -((-v + d - 1) / d); }

std::string DeviceName(int64_t gpu) {
  if (gpu >= 0) return fmt::format("cuda:{}", gpu);
  if (gpu == -1) return "cpu";
  return "the device";
}

// Time the instances of device `gpu` spent running batches over the time
// buckets that [from_us, to_us] touches: batch records' inference_ms, else
// the request records' inference_ms / batch_size (each batch of b is logged
// by b requests). `batch_gpu` is the id the batch records use for it (the
// same, unless only one device is in the log and they name none).
struct DeviceTime {
  double busy_ms = 0;
  double span_ms = 0;
  bool from_batches = false;
};
std::optional<DeviceTime> DeviceBusyTime(const AnalysisContext& ctx, int64_t gpu, int64_t batch_gpu,
                                         int64_t from_us, int64_t to_us) {
  const TimeBucketStore& store = ctx.agg.time_buckets();
  const int64_t res = store.resolution_us();
  if (res <= 0 || to_us < from_us) return std::nullopt;
  const int64_t k0 = FloorDiv(from_us, res), k1 = FloorDiv(to_us, res);
  double batch_ms = 0, request_ms = 0;
  bool any_batch = false, any_request = false;
  const auto& buckets = store.buckets();
  for (auto it = buckets.lower_bound(k0); it != buckets.end() && it->first <= k1; ++it) {
    for (const WorkCell& c : it->second.work) {
      if (c.inference_n == 0) continue;
      if (c.key.from_batch_record && c.key.gpu_id == batch_gpu) {
        any_batch = true;
        batch_ms += c.inference_sum;
      } else if (!c.key.from_batch_record && c.key.gpu_id == gpu) {
        any_request = true;
        request_ms += c.inference_sum / std::max<int32_t>(1, c.key.batch_size);
      }
    }
  }
  if (!any_batch && !any_request) return std::nullopt;
  DeviceTime t;
  t.from_batches = any_batch;
  t.busy_ms = any_batch ? batch_ms : request_ms;
  t.span_ms = static_cast<double>((k1 - k0 + 1) * res) / 1e3;
  return t;
}

// The id batch records use for device `gpu`: itself, or the only id batch
// records carry when the log's requests name one device and its batch
// records another (e.g. none).
int64_t BatchGpu(const AnalysisContext& ctx, int64_t gpu) {
  std::set<int64_t> batch_ids, request_ids;
  for (const auto& [key, w] : ctx.agg.work()) {
    (key.from_batch_record ? batch_ids : request_ids).insert(key.gpu_id);
  }
  if (batch_ids.count(gpu) || batch_ids.size() != 1 || request_ids.size() != 1) return gpu;
  return *batch_ids.begin();
}

enum class Cause { kDecode, kDevice, kBatchWindow, kInFlight, kUnknown };

const char* CauseLabel(Cause c) {
  switch (c) {
    case Cause::kDecode:
      return "decode-bound";
    case Cause::kDevice:
      return "device-bound";
    case Cause::kBatchWindow:
    case Cause::kInFlight:
      return "batcher-starved";
    case Cause::kUnknown:
      break;
  }
  return "cause not determined";
}

std::string Fps(double v) { return FormatNumber(v) + " fps"; }

}  // namespace

void StreamFallingBehindRule::Run(AnalysisContext& ctx) const {
  const auto& streams = ctx.agg.by_stream();
  if (streams.empty()) return;  // no video frames in the log: nothing to judge
  std::vector<std::string> not_judged;
  size_t judged = 0;
  const int64_t largest_batch = ctx.report->summary.max_batch_size.value_or(0);
  for (const StreamSummary& s : ctx.report->summary.by_stream) {
    const auto found = streams.find(s.name);
    if (found == streams.end() || s.name == "(other)") continue;
    const StreamStats& st = found->second;
    const int64_t served = s.frames - s.errors;
    if (served < t_.min_frames || !s.fps) {
      not_judged.push_back(
          fmt::format("{}: {} served frames (needs {})", s.name, served, t_.min_frames));
      continue;
    }
    if (!s.frames_read) {
      not_judged.push_back(fmt::format(
          "{}: no `stream` record (frames read and dropped, source fps unknown)", s.name));
      continue;
    }
    ++judged;

    // Is it falling behind? (a) frames lost after the reader, after the
    // opening burst of a live source.
    int64_t read = *s.frames_read;
    int64_t skipped = s.frames_skipped.value_or(0);
    int64_t dropped = s.frames_dropped.value_or(0);
    std::string counted = "over the whole stream";
    const int64_t first_due =
        st.first_frames_read.value_or(0) - st.first_frames_skipped.value_or(0);
    if (st.first_counters_ts_us < st.counters_ts_us && st.first_frames_read &&
        (read - skipped) - first_due >= std::max<int64_t>(t_.min_frames, t_.min_lost_frames)) {
      read -= *st.first_frames_read;
      skipped -= st.first_frames_skipped.value_or(0);
      dropped -= st.first_frames_dropped.value_or(0);
      counted = fmt::format("after the opening (since the `stream` record of {})",
                            ctx.Time(st.first_counters_ts_us));
    } else if (s.source_fps && *s.source_fps > 0) {
      const auto allowance =
          static_cast<int64_t>(std::llround(*s.source_fps * t_.opening_allowance_s));
      dropped = std::max<int64_t>(0, dropped - allowance);
      counted = fmt::format("over the whole stream, less {} for the opening burst",
                            Plural(allowance, "frame", "frames"));
    }
    const int64_t due = std::max<int64_t>(0, read - skipped);
    const int64_t lost = dropped + s.errors;
    const double lost_share = due > 0 ? std::min(1.0, Frac(lost, due)) : 0.0;
    const bool by_drops = lost >= t_.min_lost_frames && lost_share >= t_.lost_fraction;
    // (b) frames lost before the reader.
    const std::optional<double> interval_ms = s.source_fps && *s.source_fps > 0
                                                  ? std::optional<double>(1000.0 / *s.source_fps)
                                                  : std::nullopt;
    const std::optional<double> pts_step_ms =
        st.step_pairs >= t_.min_step_pairs && st.index_steps > 0
            ? std::optional<double>(st.pts_steps_ms / static_cast<double>(st.index_steps))
            : std::nullopt;
    const bool by_source =
        interval_ms && pts_step_ms && *pts_step_ms >= t_.source_loss_ratio * *interval_ms;
    // (c) a source on the wall clock read slower than real time.
    const std::optional<double> pace =
        st.Paced() && st.step_pairs >= t_.min_step_pairs && st.ts_steps_ms > 0
            ? std::optional<double>(st.pts_steps_ms / st.ts_steps_ms)
            : std::nullopt;
    const bool by_pace = pace && *pace < t_.min_pace;
    if (!by_drops && !by_source && !by_pace) continue;
    const double interval = interval_ms.value_or(0), pts_step = pts_step_ms.value_or(0);
    const double source_loss = by_source ? 1.0 - interval / pts_step : 0.0;

    // Rates over the time frames flowed: stalls (the source silent for a
    // second or more, e.g. the read timeout before a live stream ends) left
    // out.
    const double span_ms = (st.ts_us.max - st.ts_us.min) / 1e3;
    const double active_ms = span_ms - st.stall_ms;
    const double achieved = active_ms > 0 && s.frames - 1 - st.stalls > 0
                                ? static_cast<double>(s.frames - 1 - st.stalls) * 1e3 / active_ms
                                : *s.fps;
    std::optional<double> expected;
    if (s.target_fps && *s.target_fps > 0) {
      expected = s.source_fps && *s.source_fps > 0 ? std::min(*s.target_fps, *s.source_fps)
                                                   : *s.target_fps;
    } else if (s.source_fps && *s.source_fps > 0) {
      expected = *s.source_fps;
    }
    std::optional<double> decode = s.decode_mean_ms;
    if (decode && st.stalls > 0 && st.decode_ms.n > st.stalls) {
      decode =
          (st.decode_ms.sum - st.stall_decode_ms) / static_cast<double>(st.decode_ms.n - st.stalls);
    }
    const double pre = st.preprocess_ms.empty() ? 0.0 : st.preprocess_ms.mean();
    const double post = st.postprocess_ms.empty() ? 0.0 : st.postprocess_ms.mean();
    const std::optional<double> work_ms =
        s.inference_mean_ms ? std::optional<double>(pre + *s.inference_mean_ms + post)
                            : std::nullopt;
    const double work = work_ms.value_or(0);
    const double working = achieved * work / 1e3;

    // The devices that ran its frames, busy over the stream's span (frame-
    // weighted over its devices).
    const auto from_us = static_cast<int64_t>(st.ts_us.min);
    const auto to_us = static_cast<int64_t>(st.ts_us.max);
    std::optional<double> busy;
    std::vector<std::string> device_parts;
    {
      double weighted = 0;
      int64_t weight = 0;
      for (const auto& [gpu, n] : st.gpus) {
        const int64_t bgpu = BatchGpu(ctx, gpu);
        const auto t = DeviceBusyTime(ctx, gpu, bgpu, from_us, to_us);
        if (!t || t->span_ms <= 0) continue;
        const auto inst = ctx.agg.batch_instances().find(bgpu);
        const size_t instances = inst != ctx.agg.batch_instances().end() && !inst->second.empty()
                                     ? inst->second.size()
                                     : 1;
        const double active = std::max(t->span_ms - st.stall_ms, 1.0);
        const double b = t->busy_ms / (active * static_cast<double>(instances));
        weighted += b * static_cast<double>(n);
        weight += n;
        device_parts.push_back(fmt::format(
            "{} busy {} of the stream's {} ({} of {}, {})", DeviceName(gpu),
            FormatPercent(std::min(b, 1.0)), FormatMs(active), FormatMs(t->busy_ms),
            t->from_batches ? "batch inference" : "inference (requests' time / batch size)",
            Plural(static_cast<int64_t>(instances), "instance", "instances")));
      }
      if (weight > 0) busy = weighted / static_cast<double>(weight);
    }

    Cause cause = Cause::kUnknown;
    std::optional<double> reader_busy;
    if (decode && pts_step_ms && *pts_step_ms > 0) reader_busy = *decode / *pts_step_ms;
    // The reader's wall time per frame it read (capture-time steps over the
    // frames read between them) against its read + decode time: ~1 when it
    // never waits -- neither for the source nor for a full queue.
    std::optional<double> reader_wall_busy;
    if (decode && st.index_steps > 0 && st.ts_steps_ms > 0) {
      reader_wall_busy = *decode / (st.ts_steps_ms / static_cast<double>(st.index_steps));
    }
    if (by_pace && reader_wall_busy && *reader_wall_busy >= t_.reader_busy) {
      cause = Cause::kDecode;
    } else if (!by_drops && !by_pace) {
      // Only frames missing before the reader: blame it when it was busy
      // all along; an idle reader missing frames is the network's loss.
      if (!reader_busy || *reader_busy < t_.reader_busy) continue;
      cause = Cause::kDecode;
    } else if (busy && *busy >= t_.device_busy) {
      cause = Cause::kDevice;
    } else if (busy && work_ms) {
      cause = working < t_.working_frames ? Cause::kBatchWindow : Cause::kInFlight;
    }

    const double lag_share = by_pace ? 1.0 - *pace : 0.0;
    const FindingSeverity sev =
        std::max({lost_share, source_loss, lag_share}) >= t_.critical_lost_fraction
            ? FindingSeverity::kCritical
            : FindingSeverity::kWarning;
    std::string rate =
        expected ? fmt::format("{} of {}", FormatNumber(achieved), Fps(*expected)) : Fps(achieved);
    const double lag_growth_ms = std::max(0.0, st.ts_steps_ms - st.pts_steps_ms);
    std::string title =
        by_drops ? fmt::format("Stream {} falls behind ({}): {}, {} of its frames lost", s.name,
                               CauseLabel(cause), rate, FormatPercent(lost_share))
        : !by_source
            ? fmt::format("Stream {} falls behind ({}): read at {:.2f}x real time, {} behind "
                          "its source by the end",
                          s.name, CauseLabel(cause), *pace, FormatMs(lag_growth_ms))
            : fmt::format(
                       "Stream {} falls behind ({}): {} of the source's frames never "
                       "reached the reader",
                       s.name, CauseLabel(cause), FormatPercent(source_loss));
    Finding f = NewFinding(kKind, sev, std::move(title));

    // Evidence: the cause first, then the numbers behind it.
    const std::string latency =
        s.latency_p50_ms
            ? fmt::format(" of a {} latency (p50, capture to result)", FormatMs(*s.latency_p50_ms))
            : std::string();
    switch (cause) {
      case Cause::kDecode:
        f.evidence.push_back(fmt::format(
            "cause: decode-bound -- the reader takes {} to read + decode a frame while the source "
            "sends one every {}: it cannot keep up, and {}",
            FormatMs(decode.value_or(0)), FormatMs(interval),
            by_source ? "the frames sent meanwhile are lost"
                      : "each frame reaches inference later behind its source than the one "
                        "before"));
        break;
      case Cause::kDevice:
        f.evidence.push_back(fmt::format(
            "cause: device-bound -- the device running its batches is busy {} of the time, and "
            "frames wait {} for it{}",
            FormatPercent(std::min(*busy, 1.0)), FormatMs(s.queue_mean_ms.value_or(0)), latency));
        break;
      case Cause::kBatchWindow:
        f.evidence.push_back(fmt::format(
            "cause: batcher-starved -- neither the reader nor the device is saturated (device "
            "busy {}), yet frames wait {}{} while only {:.2f} of its frames are being worked on "
            "at a time: frames in flight sit in the batcher waiting out its window for batches "
            "that do not fill",
            FormatPercent(*busy), FormatMs(s.queue_mean_ms.value_or(0)), latency, working));
        break;
      case Cause::kInFlight:
        f.evidence.push_back(fmt::format(
            "cause: batcher-starved -- neither the reader nor the device is saturated (device "
            "busy {}); about {:.1f} of its frames are in the pipeline at a time, each taking {} "
            "(preprocess + inference + postprocess): the stream's max_in_flight caps it at "
            "about {}",
            FormatPercent(*busy), working, FormatMs(work),
            Fps(std::max(1.0, std::round(working)) * 1e3 / std::max(work, 1e-3))));
        break;
      case Cause::kUnknown:
        f.evidence.push_back(
            "cause: not determined -- the log has no inference time for the stream's frames or "
            "batches, so the device's load is unknown");
        break;
    }
    f.evidence.push_back(fmt::format(
        "achieved {} ({} frames over {} of capture times{}); target {}, source {}", Fps(achieved),
        s.frames, FormatMs(active_ms),
        st.stalls > 0
            ? fmt::format(", leaving out {} while the source was silent", FormatMs(st.stall_ms))
            : std::string(),
        s.target_fps && *s.target_fps > 0 ? Fps(*s.target_fps) : std::string("every frame"),
        s.source_fps ? Fps(*s.source_fps) : std::string("unknown")));
    if (lost > 0 || by_drops) {
      f.evidence.push_back(fmt::format(
          "{} of {} frames due dropped by the stream's full queue{} ({} lost); frames read {}, "
          "skipped by sampling {} ({}; from its `stream` records)",
          dropped, due, s.errors > 0 ? fmt::format(", {} failed", s.errors) : std::string(),
          FormatPercent(lost_share), read, skipped, counted));
    }
    if (pts_step_ms && interval_ms) {
      f.evidence.push_back(fmt::format(
          "the presentation time advances {} per frame read against the source's {} frame "
          "interval{}",
          FormatMs(pts_step), FormatMs(interval),
          by_source ? fmt::format(": about {} of its frames never reached the reader",
                                  FormatPercent(source_loss))
                    : std::string(" (no frame lost before the reader)")));
    }
    if (pace) {
      f.evidence.push_back(fmt::format(
          "between frames the reader delivered, the source's time advanced {} in {} of capture "
          "time ({:.2f}x real time{}): the frames' lag behind the source grew by {}",
          FormatMs(st.pts_steps_ms), FormatMs(st.ts_steps_ms), *pace,
          st.source_kind == "file" ? ", a realtime file" : ", a live source",
          FormatMs(lag_growth_ms)));
    }
    if (decode) {
      f.evidence.push_back(fmt::format(
          "read + decode {} per frame{} (decode_ms; for a live source it includes waiting for "
          "the frame's data)",
          FormatMs(*decode),
          interval_ms ? fmt::format(", {:.2f}x the frame interval", *decode / interval)
                      : std::string()));
    }
    for (const std::string& d : device_parts) f.evidence.push_back(d);
    if (s.queue_mean_ms || work_ms) {
      f.evidence.push_back(fmt::format(
          "per frame: queue {} (the stream's queue + the batcher), preprocess + inference + "
          "postprocess {}; batches holding its frames average {:.2f} requests (largest batch in "
          "the log {})",
          FormatMs(s.queue_mean_ms.value_or(0)), work_ms ? FormatMs(work) : "unknown",
          s.mean_batch_size.value_or(0), largest_batch));
    }

    // The fix: the setting to change.
    switch (cause) {
      case Cause::kDecode:
        f.recommendation = fmt::format(
            "Make decoding cheaper or give it more CPU: a lower resolution or frame rate at the "
            "source (the camera's or encoder's settings), a cheaper codec profile, hardware "
            "decoding, or fewer busy threads beside the reader. The stream's `fps` does not "
            "help: every frame is decoded before sampling.");
        break;
      case Cause::kDevice:
        f.recommendation = fmt::format(
            "The model is slower than the frames arrive: lower the stream's `fps` to about {} "
            "(what the device sustains now), run a smaller model or input size, or add a device "
            "/ instance{}.",
            FormatNumber(std::max(1.0, std::floor(achieved * 0.9))),
            s.mean_batch_size && *s.mean_batch_size <= 1.5
                ? "; its batches hold one frame: raising the stream's `max_in_flight` (and the "
                  "batcher's max batch) lets several frames share a batch, which costs less than "
                  "running them one by one"
                : "");
        break;
      case Cause::kBatchWindow:
        f.recommendation = fmt::format(
            "Lower the batcher's max wait (`batching.max_queue_delay_us`, "
            "`--max-queue-delay-us`) to about the inference time ({}), or raise the stream's "
            "`max_in_flight` to at least the max batch size so a batch can fill before the "
            "window ends.",
            FormatMs(s.inference_mean_ms.value_or(0)));
        break;
      case Cause::kInFlight:
        f.recommendation = fmt::format(
            "Raise the stream's `max_in_flight` (streams[].max_in_flight, default 2) to about {} "
            "so that more of its frames are preprocessed and batched at once; the device has "
            "room.",
            expected ? FormatNumber(std::max(2.0, std::ceil(*expected * work / 1e3 * 1.5)))
                     : std::string("twice its value"));
        break;
      case Cause::kUnknown:
        f.recommendation =
            "Log inference_ms (request or batch records) to tell whether the device or the "
            "batcher holds the stream back; meanwhile lower the stream's `fps`.";
        break;
    }

    f.time_ranges.push_back(TimeRange{from_us, to_us + 1});
    AddMetric(&f, "frames_due", static_cast<double>(due));
    f.affected_count =
        by_drops    ? lost
        : by_source ? static_cast<int64_t>(std::llround(
                          st.pts_steps_ms / std::max(interval, 1e-3) -
                          static_cast<double>(st.index_steps)))
                    : s.frames;  // every frame later than the one before
    f.affected_fraction = by_drops ? lost_share : by_source ? source_loss : 1.0;
    AddMetric(&f, "fps", achieved);
    if (expected) AddMetric(&f, "expected_fps", *expected);
    AddMetric(&f, "lost_fraction", lost_share);
    AddMetric(&f, "frames_lost", static_cast<double>(lost));
    if (by_source) AddMetric(&f, "source_loss_fraction", source_loss);
    if (interval_ms) AddMetric(&f, "frame_interval_ms", interval);
    if (decode) AddMetric(&f, "decode_mean_ms", *decode);
    if (reader_busy) AddMetric(&f, "reader_busy", *reader_busy);
    if (reader_wall_busy) AddMetric(&f, "reader_wall_busy", *reader_wall_busy);
    if (pace) AddMetric(&f, "pace", *pace);
    if (by_pace) AddMetric(&f, "lag_growth_ms", lag_growth_ms);
    if (busy) AddMetric(&f, "device_busy", std::min(*busy, 1.0));  // busy all the time
    if (s.queue_mean_ms) AddMetric(&f, "queue_mean_ms", *s.queue_mean_ms);
    if (work_ms) {
      AddMetric(&f, "work_ms", work);
      AddMetric(&f, "working_frames", working);
    }
    if (s.mean_batch_size) AddMetric(&f, "mean_batch_size", *s.mean_batch_size);
    ctx.report->findings.push_back(std::move(f));
  }
  if (judged == 0 && !not_judged.empty()) {
    ctx.SkipForSamples(kKind, fmt::format("{}", fmt::join(not_judged, "; ")));
  }
}

}  // namespace yoloscope
