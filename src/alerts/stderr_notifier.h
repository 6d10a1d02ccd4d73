// StderrNotifier: one human-readable line per firing / resolved transition:
//
//   yoloscope: alert FIRING HighInferenceTime [warning] mean(inference_ms[1m]) = 153.2 > 100
//     {model="yolov8n"}: mean inference 153.2 ms over 1m
//   yoloscope: alert RESOLVED HighInferenceTime [warning] mean(inference_ms[1m]) = 91.5 (fired
//     2026-01-01T00:01:05.000000Z, peak 180.4)
//
// (each on one line). Writes with one fwrite per line to a FILE* that is not
// owned (stderr by default).
//
// Thread-safety: Notify from one thread at a time.
#pragma once

#include <cstdio>
#include <string>

#include "alerts/alert_notifier.h"

namespace yoloscope {

class StderrNotifier final : public AlertNotifier {
 public:
  explicit StderrNotifier(FILE* out = stderr) : out_(out) {}

  std::string_view name() const override { return "stderr"; }
  void Notify(const std::vector<AlertTransition>& transitions) override;

  // The line written for `t` (without '\n').
  static std::string FormatLine(const AlertTransition& t);

 private:
  FILE* out_;
};

}  // namespace yoloscope
