// `yoloscope alerts`: validates alert rule files (--check) and shows the
// rules as the engine reads them (--print, --defaults).
//
// Exit status: 0 all files valid, 2 a file is invalid or unreadable (every
// problem printed to stderr as FILE:LINE: FIELD: why), or a usage error.
#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <string>
#include <vector>

#include "alerts/rule_set.h"

namespace yoloscope {
namespace {

// "name=value" -> params[name] = value.
bool ParseParams(const std::vector<std::string>& specs, std::map<std::string, double>* params) {
  for (const std::string& spec : specs) {
    const size_t eq = spec.find('=');
    double v = 0;
    const char* begin = eq == std::string::npos ? nullptr : spec.data() + eq + 1;
    const char* end = spec.data() + spec.size();
    if (begin == nullptr || eq == 0 || begin == end || std::from_chars(begin, end, v).ptr != end) {
      std::fprintf(stderr, "yoloscope alerts: --param wants NAME=NUMBER, got '%s'\n", spec.c_str());
      return false;
    }
    (*params)[spec.substr(0, eq)] = v;
  }
  return true;
}

void PrintRules(const RuleSet& set) {
  std::printf("%s: %zu rule%s (hysteresis %g)\n", set.source().c_str(), set.rules().size(),
              set.rules().size() == 1 ? "" : "s", set.hysteresis());
  for (const AlertRule& r : set.rules()) {
    std::printf("  %-28s %-8s %s for %s, resolves at %s %g", r.name.c_str(), r.severity.c_str(),
                r.ExpressionText().c_str(), FormatDurationUs(r.for_us).c_str(),
                IsUpper(r.comparator) ? "<=" : ">=", r.resolve_threshold);
    if (!r.group_by.empty()) {
      std::printf(", per");
      for (GroupField g : r.group_by) std::printf(" %s", std::string(GroupFieldName(g)).c_str());
    }
    std::printf("\n");
  }
}

}  // namespace

int AlertsMain(int argc, char** argv) {
  CLI::App app{"Validate alert rule files (docs/alerts.md).", "yoloscope alerts"};
  std::vector<std::string> check_files;
  std::vector<std::string> param_specs;
  bool print = false;
  bool defaults = false;
  app.add_option("--check", check_files, "rule files to validate (exit 0 valid, 2 invalid)")
      ->expected(1, -1);
  app.add_option("--param", param_specs, "override a rule-file param: NAME=NUMBER (repeatable)");
  app.add_flag("--print", print, "print the rules as the engine reads them");
  app.add_flag("--defaults", defaults,
               "print the built-in default rules (configs/alerts/default.yaml)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (check_files.empty() && !defaults) {
    std::fprintf(stderr, "%s", app.help().c_str());
    return 2;
  }
  RuleSetOptions options;
  if (!ParseParams(param_specs, &options.params)) return 2;

  if (defaults) {
    const std::string_view text = DefaultAlertRulesYaml();
    if (print) {
      auto set = RuleSet::LoadDefaults(options);
      if (!set.ok()) {
        std::fprintf(stderr, "%s\n", set.status().message().c_str());
        return 2;
      }
      PrintRules(*set);
    } else {
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
  }
  int rc = 0;
  for (const std::string& file : check_files) {
    auto set = RuleSet::LoadFile(file, options);
    if (!set.ok()) {
      std::fprintf(stderr, "%s\n", set.status().message().c_str());
      rc = 2;
      continue;
    }
    if (print) {
      PrintRules(*set);
    } else {
      std::printf("%s: OK (%zu rule%s)\n", file.c_str(), set->rules().size(),
                  set->rules().size() == 1 ? "" : "s");
    }
  }
  return rc;
}

}  // namespace yoloscope
