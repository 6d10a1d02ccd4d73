// Fuzzes the alert message templates (AlertTemplate::Parse, then Render with
// labels, a NaN and a huge value). The first line is the template; the rest
// are label `name=value` lines.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>

#include "alerts/alert_template.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  yoloscope::fuzz::FuzzInput input(data, size);
  std::string_view text = input.TakeLine();
  auto parsed = yoloscope::AlertTemplate::Parse(text);
  if (!parsed.ok()) return 0;
  std::map<std::string, std::string> labels;
  while (!input.empty()) {
    std::string_view line = input.TakeLine();
    size_t eq = line.find('=');
    labels[std::string(line.substr(0, eq))] =
        eq == std::string_view::npos ? "" : std::string(line.substr(eq + 1));
  }
  yoloscope::AlertTemplateData values;
  values.value = 123.456;
  values.threshold = 100;
  values.labels = &labels;
  (void)parsed->Render(values);
  values.value = std::numeric_limits<double>::quiet_NaN();
  values.threshold = -std::numeric_limits<double>::infinity();
  values.labels = nullptr;
  (void)parsed->Render(values);
  values.value = 1e308;
  values.threshold = std::numeric_limits<double>::denorm_min();
  (void)parsed->Render(values);
  return 0;
}
