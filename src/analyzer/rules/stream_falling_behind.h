// StreamFallingBehindRule: the `stream_falling_behind` diagnosis rule -- a
// video stream (docs/streams.md) that loses frames because the server cannot
// keep up with its source, and which ONE part is to blame: the stream's
// reader (decode-bound), the device(s) running its batches (device-bound), or
// the batcher / the stream's in-flight cap holding frames while both are idle
// (batcher-starved). Thresholds, their reasoning and the false positives they
// guard against are in docs/diagnosis.md (stream_falling_behind); the
// defaults below are the documented ones.
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include <cstdint>

#include "analyzer/rules/rule.h"

namespace yoloscope {

struct StreamFallingBehindThresholds {
  // A stream is judged with at least this many served frames.
  int64_t min_frames = 5;
  // Falling behind (a): frames lost after the reader -- dropped by the
  // stream's full queue, or failed -- at least this share of the frames due
  // (read - skipped) and at least min_lost_frames (a stop counts the frames
  // still queued, at most queue_size, as dropped: not a sign of lag).
  double lost_fraction = 0.10;
  int64_t min_lost_frames = 10;
  // The opening of a live source: FFmpeg delivers the frames it buffered
  // while probing it in one burst, which a small queue drops. Counts are
  // taken after the stream's first `stream` record with frames read when
  // the log has a later one; otherwise up to this many seconds of the
  // source's frames are forgiven.
  double opening_allowance_s = 1.0;
  // Critical from this share of the frames due lost.
  double critical_lost_fraction = 0.5;
  // Falling behind (b): frames lost before the reader -- the presentation
  // time advanced per frame read is at least this x the source's frame
  // interval (over at least min_step_pairs pairs of consecutive frames).
  double source_loss_ratio = 1.25;
  int64_t min_step_pairs = 10;
  // Falling behind (c): a source on the wall clock (a camera, a network
  // stream, a realtime file; the `stream` records' source_kind / realtime)
  // whose presentation time advances less than this x real time between
  // frames the reader delivers: it lags further and further behind its
  // source (frames pile up in FFmpeg's / the kernel's buffers until they
  // overflow) without losing a frame yet.
  double min_pace = 0.8;
  // Decode-bound: the reader spends at least this share of the time between
  // two frames it read in reading + decoding (no idle).
  double reader_busy = 0.8;
  // Device-bound: the device(s) running the stream's batches are busy at
  // least this share of the stream's span (per instance).
  double device_busy = 0.85;
  // Batcher-starved: below this many frames of the stream being worked on
  // (preprocess, inference, postprocess) on average, frames in flight are
  // mostly idle -- held by the batch window; at or above, the stream's
  // max_in_flight caps it.
  double working_frames = 0.5;
};

class StreamFallingBehindRule final : public Rule {
 public:
  explicit StreamFallingBehindRule(StreamFallingBehindThresholds thresholds = {})
      : t_(thresholds) {}
  void Run(AnalysisContext& ctx) const override;

 private:
  StreamFallingBehindThresholds t_;
};

}  // namespace yoloscope
