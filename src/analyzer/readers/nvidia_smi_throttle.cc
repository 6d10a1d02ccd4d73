#include "analyzer/readers/nvidia_smi_throttle.h"

#include <charconv>

namespace yoloscope {
namespace {

struct Reason {
  uint64_t bit;
  std::string_view name;
  std::string_view column_suffix;  // normalised (no '_')
};

constexpr Reason kReasons[] = {
    {0x001, "gpu_idle", "gpuidle"},
    {0x002, "applications_clocks_setting", "applicationsclockssetting"},
    {0x004, "sw_power_cap", "swpowercap"},
    {0x008, "hw_slowdown", "hwslowdown"},
    {0x010, "sync_boost", "syncboost"},
    {0x020, "sw_thermal_slowdown", "swthermalslowdown"},
    {0x040, "hw_thermal_slowdown", "hwthermalslowdown"},
    {0x080, "hw_power_brake_slowdown", "hwpowerbrakeslowdown"},
    {0x100, "display_clock_setting", "displayclocksetting"},
};

}  // namespace

void AppendThrottleReasonNames(uint64_t mask, std::string* out) {
  for (const Reason& r : kReasons) {
    if ((mask & r.bit) == 0) continue;
    if (!out->empty()) out->push_back(',');
    out->append(r.name);
    mask &= ~r.bit;
  }
  if (mask != 0) {
    if (!out->empty()) out->push_back(',');
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), mask, 16);
    out->append("0x");
    out->append(buf, static_cast<size_t>(end - buf));
  }
}

std::optional<uint64_t> ParseThrottleMask(std::string_view text) {
  if (text.size() < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return std::nullopt;
  uint64_t mask = 0;
  auto [end, ec] = std::from_chars(text.data() + 2, text.data() + text.size(), mask, 16);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return mask;
}

std::string_view ThrottleReasonForColumnSuffix(std::string_view normalized_suffix) {
  for (const Reason& r : kReasons) {
    if (r.column_suffix == normalized_suffix) return r.name;
  }
  return {};
}

}  // namespace yoloscope
