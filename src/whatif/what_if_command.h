// WhatIfCommand: `yoloscope analyze LOG --what-if SPEC ...` as a library
// call: reads the log into a PipelineProfile, resolves the logged setting
// (from the log where it is recorded, else --setting, else serve's
// defaults), predicts it and every what-if, and writes the side-by-side
// report (text or JSON). With `html_path`, also the diagnosis' HTML report
// with a what-if panel (finding_fixes.h). analyze_main.cc only parses flags.
//
// Exit codes (Run): 0 report written (a what-if the log cannot predict is
// shown with its reason); 2 unusable arguments or input, or a log from which
// nothing can be predicted ("cannot predict: needs ...", on `err`).
//
// Thread-safety: one Run at a time per object.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "analyzer/analyze_command.h"
#include "common/status.h"
#include "whatif/what_if_engine.h"
#include "whatif/what_if_report.h"

namespace yoloscope {

struct WhatIfOptions {
  std::vector<std::string> paths;                 // "-" = stdin
  std::string input_format = "auto";              // see ReadOptions::input_format
  std::map<std::string, std::string> column_map;  // --map schema_field=column
  int threads = 0;                                // reading threads (0 = automatic)
  std::string format = "text";                    // "text" or "json"
  std::string model;                              // --model: which model of the log
  // --setting: the logged setting where the log does not record it
  // ("max_queue_delay_us=2000,queue_size=64"); ApplyWhatIf syntax.
  std::string logged_setting;
  std::vector<std::string> what_ifs;  // --what-if, in order
  double skip_s = 0;                  // --skip-s: warm-up left out of every number
  uint64_t seed = 1;
  // --replays: seeded replays per prediction, their median reported (>= 0;
  // 0 = WhatIfEngine::DefaultReplays: 7 up to 20,000 requests, fewer above).
  int replays = 0;
  // --predict-max-requests: the findings' automatic predicted fixes
  // (WhatIfAnalyzeExtension, not --what-if) are skipped, with a
  // cannot_predict saying so, when the diagnosed log has more requests than
  // this: they read the log a second time and keep every request in memory
  // (~100 bytes each) to replay it per candidate, which on a multi-GB log
  // doubles analyze's time and breaks its bounded memory. 0 = no limit.
  int64_t predict_max_requests = 500000;
  // --html: also write the diagnosis' HTML report here (AnalyzeCommand with
  // `analyze`'s options, nothing printed), its findings with their predicted
  // fixes and a what-if panel comparing these settings. Needs a file, not stdin.
  std::string html_path;
  AnalyzeOptions analyze;  // paths, html_path and output are set by Run
};

class WhatIfCommand {
 public:
  static constexpr int kExitOk = 0;
  static constexpr int kExitUsage = 2;

  explicit WhatIfCommand(WhatIfOptions options) : options_(std::move(options)) {}

  int Run(std::FILE* out, std::FILE* err);

  // Reads the log and builds what every report needs: the engine, the
  // logged setting predicted and where its values came from (`rows` empty).
  static StatusOr<std::unique_ptr<WhatIfEngine>> LoadEngine(const WhatIfOptions& options);
  static StatusOr<WhatIfReportInput> PredictLogged(const WhatIfEngine& engine,
                                                   const WhatIfOptions& options);

 private:
  WhatIfOptions options_;
};

}  // namespace yoloscope
