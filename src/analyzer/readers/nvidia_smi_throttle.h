// NvidiaSmiThrottle: clock-throttle ("clock event") reasons as nvidia-smi and
// NVML report them, turned into the schema's `throttle_reasons` text: a
// comma-separated list of snake_case names, "" when none is active.
//
//   bit    name                          nvidia-smi column suffix
//   0x001  gpu_idle                      gpu_idle
//   0x002  applications_clocks_setting   applications_clocks_setting
//   0x004  sw_power_cap                  sw_power_cap
//   0x008  hw_slowdown                   hw_slowdown
//   0x010  sync_boost                    sync_boost
//   0x020  sw_thermal_slowdown           sw_thermal_slowdown
//   0x040  hw_thermal_slowdown           hw_thermal_slowdown
//   0x080  hw_power_brake_slowdown       hw_power_brake_slowdown
//   0x100  display_clock_setting         display_clock_setting
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace yoloscope {

// Appends the names of the bits set in `mask` to `out`, comma-separated
// (after a comma when `out` is not empty). Unknown bits are written as
// "0x...".
void AppendThrottleReasonNames(uint64_t mask, std::string* out);

// Parses the `clocks_throttle_reasons.active` / `clocks_event_reasons.active`
// value ("0x0000000000000004"); empty when it is not a hex mask.
std::optional<uint64_t> ParseThrottleMask(std::string_view text);

// The reason name for a per-reason column's normalised suffix ("hwslowdown"
// -> "hw_slowdown"), or empty.
std::string_view ThrottleReasonForColumnSuffix(std::string_view normalized_suffix);

}  // namespace yoloscope
