// Fuzzes serve's YAML config (LoadServeConfigYaml: yaml-cpp, then every
// section's keys, types and ranges; ValidateServeConfig) and the
// environment overrides (ApplyServeConfigEnv): the input is YAML, and after
// a line "%%" the rest are NAME=VALUE environment lines.
// Property: a config that validates prints as YAML (ServeConfigToYaml) that
// loads back into the same config (printed the same).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "fuzz/fuzz_input.h"
#include "server/serve_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace yoloscope;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string, std::less<>> env;
  size_t split = text.find("\n%%\n");
  if (split != std::string_view::npos) {
    fuzz::FuzzInput lines(data + split + 4, size - split - 4);
    while (!lines.empty()) {
      std::string_view line = lines.TakeLine();
      size_t eq = line.find('=');
      if (eq != std::string_view::npos) env[std::string(line.substr(0, eq))] = line.substr(eq + 1);
    }
    text = text.substr(0, split);
  }
  ServeConfig config;
  if (!LoadServeConfigYaml(std::string(text), "serve.yaml", &config).ok()) return 0;
  if (!env.empty()) {
    auto getenv = [&env](const char* name) -> const char* {
      auto it = env.find(std::string_view(name));
      return it == env.end() ? nullptr : it->second.c_str();
    };
    if (!ApplyServeConfigEnv(getenv, &config).ok()) return 0;
  }
  if (!ValidateServeConfig(config).ok()) return 0;
  std::string printed = ServeConfigToYaml(config);
  ServeConfig again;
  Status reloaded = LoadServeConfigYaml(printed, "printed.yaml", &again);
  if (!reloaded.ok()) {
    std::fprintf(stderr, "%s\n--- printed:\n%s\n", reloaded.ToString().c_str(), printed.c_str());
  }
  fuzz::Check(reloaded.ok(), "the printed config does not load back");
  fuzz::Check(ServeConfigToYaml(again) == printed, "the printed config does not round-trip");
  return 0;
}
