#include "telemetry/telemetry_factory.h"

#include <utility>

namespace yoloscope {
namespace {

StatusOr<std::unique_ptr<TelemetrySource>> MakeProcess(const ProcessTelemetryConfig& config,
                                                       Clock* clock) {
  auto p = ProcessTelemetry::Create(config, clock);
  if (!p.ok()) return p.status();
  return std::unique_ptr<TelemetrySource>(std::move(p).value());
}

}  // namespace

StatusOr<std::unique_ptr<TelemetrySource>> CreateTelemetrySource(
    const TelemetryConfig& config, Clock* clock, std::unique_ptr<TelemetrySource> sim_source) {
  if (clock == nullptr) return InvalidArgumentError("telemetry: no clock");
  const std::string& kind = config.kind;
  if (kind == "sim") {
    if (sim_source == nullptr) {
      return FailedPreconditionError("telemetry 'sim' needs the simulated GPU (--backend sim)");
    }
    return sim_source;
  }
  if (kind == "process") return MakeProcess(config.process, clock);
  if (kind == "nvml") {
    auto n = NvmlTelemetry::Create(config.nvml);
    if (!n.ok()) return n.status();
    return std::unique_ptr<TelemetrySource>(std::move(n).value());
  }
  if (kind == "auto" || kind.empty()) {
    if (sim_source != nullptr) return sim_source;
    auto n = NvmlTelemetry::Create(config.nvml);
    if (n.ok()) return std::unique_ptr<TelemetrySource>(std::move(n).value());
    ProcessTelemetryConfig pc = config.process;
    if (!pc.description_note.empty()) pc.description_note += "; ";
    pc.description_note += n.status().message();
    return MakeProcess(pc, clock);
  }
  return InvalidArgumentError("unknown telemetry source '" + kind + "' (auto, nvml, process, sim)");
}

}  // namespace yoloscope
