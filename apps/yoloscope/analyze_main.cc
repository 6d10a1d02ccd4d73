// `yoloscope analyze`: flags -> AnalyzeOptions -> AnalyzeCommand::Run, with
// ys_whatif's extension attaching predicted fixes to findings; with
// --what-if, flags -> WhatIfOptions -> WhatIfCommand::Run (docs/what-if.md).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "analyzer/analyze_command.h"
#include "whatif/finding_fixes.h"
#include "whatif/what_if_command.h"

namespace yoloscope {

int AnalyzeMain(int argc, char** argv) {
  CLI::App app{"Diagnose GPU/CPU bottlenecks from inference request logs", "yoloscope analyze"};
  AnalyzeOptions o;
  std::vector<std::string> maps;
  app.add_option("logs", o.paths,
                 "log files (JSONL, CSV/TSV/Markdown, nvidia-smi CSV, Triton trace; "
                 ".gz/.zst ok); - for stdin")
      ->required();
  app.add_option("--format", o.format, "report format")
      ->check(CLI::IsMember({"text", "json", "markdown"}))
      ->capture_default_str();
  app.add_option("--input-format", o.input_format,
                 "force the input format: auto, jsonl, csv, tsv, markdown, nvidia-smi, triton")
      ->capture_default_str();
  app.add_option("--map", maps, "map a schema field to a column or key: field=column (repeatable)");
  app.add_option("--fail-on", o.fail_on, "exit 3 when a finding of this severity or worse exists")
      ->check(CLI::IsMember({"none", "warning", "critical"}))
      ->capture_default_str();
  app.add_option("--threads", o.threads, "reading threads (0 = one per core, at most 4)")
      ->capture_default_str();
  app.add_flag("--follow", o.follow,
               "keep reading growing files; report every --interval seconds until Ctrl-C");
  app.add_option("--interval", o.follow_interval_s, "report period with --follow (seconds)")
      ->capture_default_str();
  app.add_option("--window", o.window_s, "time-series window in seconds (0 = automatic)")
      ->capture_default_str();
  app.add_option("--color", o.color, "colour: auto (TTY and NO_COLOR unset), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  app.add_option("--html", o.html_path,
                 "also write a self-contained HTML report with charts to this file");
  app.add_option("--alert-rules", o.alert_rules,
                 "alert rules for the alert timeline (default: the shipped rules; 'none': off)");
  app.add_option("--progress", o.progress, "progress bar on stderr: auto, always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  std::vector<std::string> what_ifs;
  std::string logged_setting, model;
  app.add_option("--what-if", what_ifs,
                 "predict the log's traffic under another setting, e.g. "
                 "'max_batch=8,max_queue_delay_us=2000,instances=2,rate=x1.5' (repeatable; "
                 "docs/what-if.md)");
  app.add_option("--setting", logged_setting,
                 "the logged setting where the log does not record it (for --what-if and the "
                 "findings' predicted fixes), e.g. "
                 "'max_queue_delay_us=2000,queue_size=64'");
  app.add_option("--model", model,
                 "with --what-if (and the findings' predicted fixes): which model of the log");
  bool no_predict = false;
  app.add_flag("--no-predict", no_predict,
               "do not predict the fix of underbatching / batch window / queue findings");
  int64_t predict_max_requests = WhatIfOptions{}.predict_max_requests;
  app.add_option("--predict-max-requests", predict_max_requests,
                 "predict the findings' fixes only for logs with at most this many requests "
                 "(default 500000; 0 = any size): a prediction reads the log again and holds "
                 "every request in memory")
      ->check(CLI::NonNegativeNumber);
  double skip_s = 0;
  app.add_option("--skip-s", skip_s,
                 "with --what-if (and predicted fixes): leave the first S seconds (warm-up) "
                 "out of every number");
  int replays = 0;
  app.add_option("--replays", replays,
                 "with --what-if (and predicted fixes): seeded replays per prediction, their "
                 "median reported (0 = automatic: 7 up to 20,000 requests, fewer above)")
      ->check(CLI::NonNegativeNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : AnalyzeCommand::kExitUsage;
  }
  for (const std::string& m : maps) {
    const size_t eq = m.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == m.size()) {
      std::fprintf(stderr, "yoloscope analyze: --map wants field=column, got '%s'\n", m.c_str());
      return AnalyzeCommand::kExitUsage;
    }
    o.column_map[m.substr(0, eq)] = m.substr(eq + 1);
  }
  WhatIfOptions w;
  w.paths = o.paths;
  w.input_format = o.input_format;
  w.column_map = o.column_map;
  w.threads = o.threads;
  w.format = o.format;
  w.model = model;
  w.logged_setting = logged_setting;
  w.what_ifs = what_ifs;
  w.skip_s = skip_s;
  w.replays = replays;
  w.predict_max_requests = predict_max_requests;
  if (!what_ifs.empty()) {
    w.html_path = o.html_path;
    w.analyze = o;
    return WhatIfCommand(std::move(w)).Run(stdout, stderr);
  }
  if (!no_predict && !o.follow) o.extension = std::make_shared<WhatIfAnalyzeExtension>(w);
  AnalyzeCommand command(std::move(o));
  return command.Run(stdout, stderr);
}

}  // namespace yoloscope
