// AnalyzeCommand: `yoloscope analyze` as a library call -- reads the logs
// with LogReader (one LogAggregator per reading thread), merges, analyzes and
// writes the report in the chosen format. analyze_main.cc only parses flags
// into AnalyzeOptions.
//
// Exit codes (Run's return value):
//   0  report written (whatever it found, unless --fail-on says otherwise);
//   2  unusable arguments or input: bad option, missing / unreadable file,
//      corrupt compressed data, no record readable at all (the message on
//      `err` names the file);
//   3  --fail-on warning|critical and a finding of at least that severity.
//
// --follow keeps reading growing files until SIGINT/SIGTERM (or
// `follow_idle_timeout_s` without new data), printing a fresh report every
// `follow_interval_s` and a final one at the end.
//
// Thread-safety: Run may be called from one thread at a time per object.
#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analyzer/analysis_report.h"
#include "common/status.h"

namespace yoloscope {

// What a module above the analyzer adds to `analyze` (ys_analyzer cannot
// depend on it): ys_whatif attaches predicted fixes to findings and the
// what-if panel to the HTML report through this (src/whatif/finding_fixes.h).
// Called once on the final report, never on --follow's snapshots.
class AnalyzeExtension {
 public:
  virtual ~AnalyzeExtension() = default;
  // May change `report` (e.g. fill Finding::predicted_fix) before it is
  // rendered. Must not fail: what it cannot do it leaves out.
  virtual void Annotate(AnalysisReport* report) { (void)report; }
  // May add top-level members to the document the HTML report renders
  // (docs/report.md), e.g. "what_if".
  virtual void ExtendHtml(nlohmann::json* doc) { (void)doc; }
};

struct AnalyzeOptions {
  std::vector<std::string> paths;                 // "-" = stdin.
  std::string format = "text";                    // "text", "json" or "markdown".
  std::string input_format = "auto";              // see ReadOptions::input_format.
  std::map<std::string, std::string> column_map;  // --map schema_field=column.
  std::string fail_on = "none";                   // "none", "warning" or "critical".
  int threads = 0;                                // reading threads; 0 = one per core, at most 4.
  bool follow = false;
  double follow_interval_s = 5;      // report refresh period with --follow.
  double follow_idle_timeout_s = 0;  // 0 = until a signal.
  double window_s = 0;               // time-series window; 0 = automatic.
  std::string color = "auto";        // "auto" (TTY and NO_COLOR unset), "always", "never".
  std::string progress = "auto";     // "auto" (stderr TTY, >= 64 MB input), "always", "never".
  std::string html_path;
  // Alert timeline over the log: the shipped default rules, or this rule file
  // (docs/alerts.md); "none" turns it off. Not computed with --follow.
  std::string alert_rules;  // --html: also write the self-contained HTML report here.
  // false: write no report to `out` (only --html); `analyze --what-if
  // --html`, whose stdout holds the what-if report.
  bool print_report = true;
  std::shared_ptr<AnalyzeExtension> extension;  // null: none.
};

class AnalyzeCommand {
 public:
  static constexpr int kExitOk = 0;
  static constexpr int kExitUsage = 2;
  static constexpr int kExitFindings = 3;

  explicit AnalyzeCommand(AnalyzeOptions options);

  // InvalidArgument naming the bad option.
  static Status Validate(const AnalyzeOptions& options);

  // Reads, analyzes and writes the report to `out`; messages go to `err`.
  // Returns the exit code (see the header comment).
  int Run(std::FILE* out, std::FILE* err);

  // Reads and analyzes without writing (tests, embedding). Errors are the
  // ones that make Run exit 2. The extension, if any, annotates the report.
  StatusOr<AnalysisReport> Analyze();

  // Exit code for a report under `fail_on` ("none", "warning", "critical").
  static int ExitCodeFor(const AnalysisReport& report, const std::string& fail_on);

 private:
  AnalyzeOptions options_;
};

}  // namespace yoloscope
