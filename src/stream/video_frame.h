// VideoFrame: one decoded frame of a stream, as StreamSource hands it to its
// consumer (RGB pixels plus where and when it came from).
//
// Plain value type (movable; the pixels are owned); not synchronized.
#pragma once

#include <cstdint>
#include <optional>

#include "image/image.h"

namespace yoloscope {

struct VideoFrame {
  Image rgb;  // 8-bit RGB, width x height x 3
  // 0-based position among every frame read from the stream over its whole
  // life (across reconnects), including frames later skipped or dropped.
  int64_t index = 0;
  // Presentation time from the container/stream, milliseconds; empty when
  // the source gives none or one that does not advance (raw .h264/.mjpeg
  // streams); such frames are sampled by position / fps (files) or capture
  // time (live sources).
  std::optional<double> pts_ms;
  // When the frame became available as pixels: Clock::NowNs and wall time
  // (Unix microseconds). Frame latency is measured from here.
  int64_t capture_ns = 0;
  int64_t capture_wall_us = 0;
  // Wall time spent reading and decoding it (VideoCapture grab + retrieve +
  // BGR->RGB), ms. For a live source it includes waiting for the frame's
  // data to arrive.
  double decode_ms = 0;
  int connection = 0;  // 1 for the first connection, +1 per reconnect
};

}  // namespace yoloscope
