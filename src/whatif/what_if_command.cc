#include "whatif/what_if_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <limits>

#include "whatif/finding_fixes.h"
#include "whatif/profile_builder.h"

namespace yoloscope {
namespace {

bool Names(const std::string& spec, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    const std::string key = std::string(k) + "=";
    size_t at = spec.find(key);
    while (at != std::string::npos) {
      if (at == 0 || spec[at - 1] == ',' || spec[at - 1] == ' ') return true;
      at = spec.find(key, at + 1);
    }
  }
  return false;
}

}  // namespace

StatusOr<std::unique_ptr<WhatIfEngine>> WhatIfCommand::LoadEngine(const WhatIfOptions& o) {
  if (o.paths.empty()) return InvalidArgumentError("no log file given");
  if (o.format != "text" && o.format != "json") {
    return InvalidArgumentError("--format must be text or json for what-if reports");
  }
  ReadOptions ro;
  ro.input_format = o.input_format;
  ro.threads = o.threads;
  ro.column_map = o.column_map;
  if (!(o.skip_s >= 0)) return InvalidArgumentError("--skip-s must be >= 0");
  if (o.replays < 0) return InvalidArgumentError("--replays must be >= 0");
  ProfileOptions po;
  po.model = o.model;
  po.skip_s = o.skip_s;
  YS_ASSIGN_OR_RETURN(PipelineProfile profile, ProfileBuilder::Load(o.paths, ro, po));
  return WhatIfEngine::Create(std::move(profile), o.seed, o.replays);
}

StatusOr<WhatIfReportInput> WhatIfCommand::PredictLogged(const WhatIfEngine& engine,
                                                         const WhatIfOptions& o) {
  const ObservedRun& obs = engine.profile().observed;
  WhatIfSetting logged;
  std::string batch_src = "serve default", inst_src = "serve default";
  if (obs.largest_batch > 0) {
    logged.max_batch_size = obs.largest_batch;
    batch_src = "from the log: largest batch";
  }
  if (obs.instances > 0) {
    logged.instances = obs.instances;
    inst_src = "from the log: instances of batch records";
  }
  logged.devices = engine.logged_devices();
  // serve logs the queue's length when it refuses a request for a full
  // queue, so the largest such length is the bound (a log of an overload
  // replayed with serve's default bound of 256 would predict seconds of
  // queueing where the log shows tens of milliseconds).
  std::string queue_src = "serve default";
  if (obs.queue_bound > 0) {
    logged.max_queue_size = obs.queue_bound;
    queue_src =
        fmt::format("from the log: queue_len of {} queue_full rejections", obs.queue_full_with_len);
  }
  // What serve itself wrote (a `config` record) beats what the log's
  // records suggest: the largest batch logged may be below max_batch.
  std::string window_src = "serve default", pre_src = "serve default", post_src = "serve default",
              policy_src = "serve default";
  if (const auto& c = engine.profile().logged_config) {
    const std::string from = "from the log: config record";
    auto take = [&](const std::optional<int64_t>& v, int* field, std::string* src) {
      if (v && *v >= 0 && *v <= std::numeric_limits<int>::max()) {
        *field = static_cast<int>(*v);
        *src = from;
      }
    };
    take(c->max_batch_size, &logged.max_batch_size, &batch_src);
    take(c->instances, &logged.instances, &inst_src);
    take(c->max_queue_size, &logged.max_queue_size, &queue_src);
    take(c->preprocess_workers, &logged.preprocess_workers, &pre_src);
    take(c->postprocess_workers, &logged.postprocess_workers, &post_src);
    if (c->max_queue_delay_us && *c->max_queue_delay_us >= 0) {
      logged.max_queue_delay_us = *c->max_queue_delay_us;
      window_src = from;
    }
    if (!c->batch_policy.empty()) {
      auto policy = ParseBatchPolicy(c->batch_policy);
      if (policy.ok()) {
        logged.policy = *policy;
        policy_src = from;
      }
    }
  }
  const std::string dev_src = obs.devices > 0     ? "from the log: gpu_id of batch records"
                              : obs.instances > 0 ? "no gpu_id in the log: one per instance"
                                                  : "no gpu_id in the log";
  const std::string& spec = o.logged_setting;
  if (!spec.empty()) {
    auto applied = ApplyWhatIf(spec, logged);
    if (!applied.ok()) return applied.status().WithContext("--setting");
    logged = *applied;
  }
  logged.rate_scale = 1;
  logged.rate_per_s = 0;
  logged.label = "logged";
  auto src = [&](std::initializer_list<const char*> keys, const std::string& fallback) {
    return Names(spec, keys) ? std::string("--setting") : fallback;
  };
  WhatIfReportInput in;
  in.source = fmt::format("{}", fmt::join(o.paths, ", "));
  in.engine = &engine;
  in.logged_sources = {
      fmt::format("max_batch={} ({})", logged.max_batch_size,
                  src({"max_batch", "max_batch_size"}, batch_src)),
      fmt::format(
          "max_queue_delay_us={} ({})", logged.max_queue_delay_us,
          src({"max_queue_delay_us", "window_us", "max_queue_delay_ms", "window_ms"}, window_src)),
      fmt::format("instances={} ({})", logged.instances, src({"instances"}, inst_src)),
      fmt::format("devices={} ({})", logged.devices, src({"devices", "gpus"}, dev_src)),
      fmt::format("queue_size={} ({})", logged.max_queue_size,
                  src({"queue_size", "max_queue_size"}, queue_src)),
      fmt::format("preprocess_workers={} ({})", logged.preprocess_workers,
                  src({"preprocess_workers"}, pre_src)),
      fmt::format("postprocess_workers={} ({})", logged.postprocess_workers,
                  src({"postprocess_workers"}, post_src)),
      fmt::format("policy={} ({})", BatchPolicyName(logged.policy), src({"policy"}, policy_src)),
  };
  auto p = engine.Predict(logged);
  if (!p.ok()) return p.status().WithContext("the logged setting");
  in.logged = std::move(p).value();
  return in;
}

int WhatIfCommand::Run(std::FILE* out, std::FILE* err) {
  auto fail = [&](const Status& st) {
    std::fprintf(err, "yoloscope analyze --what-if: %s\n", st.message().c_str());
    return kExitUsage;
  };
  if (!options_.html_path.empty() &&
      std::find(options_.paths.begin(), options_.paths.end(), "-") != options_.paths.end()) {
    return fail(InvalidArgumentError("--html with --what-if needs the log in a file, not stdin"));
  }
  auto engine_or = LoadEngine(options_);
  if (!engine_or.ok()) return fail(engine_or.status());
  std::shared_ptr<const WhatIfEngine> engine(std::move(engine_or).value());
  auto in = PredictLogged(*engine, options_);
  if (!in.ok()) return fail(in.status());
  for (const std::string& spec : options_.what_ifs) {
    auto setting = ApplyWhatIf(spec, in->logged.setting);
    if (!setting.ok()) return fail(setting.status());
    WhatIfRow row;
    row.spec = spec;
    auto p = engine->Predict(*setting);
    if (p.ok()) {
      row.prediction = std::move(p).value();
    } else {
      row.error = p.status().message();
    }
    in->rows.push_back(std::move(row));
  }
  const std::string text = options_.format == "json" ? WhatIfReport::Json(*in).dump(2) + "\n"
                                                     : WhatIfReport::Text(*in);
  std::fputs(text.c_str(), out);
  std::fflush(out);
  if (!options_.html_path.empty()) {
    // The diagnosis with its predicted fixes and the what-if panel.
    AnalyzeOptions a = options_.analyze;
    a.paths = options_.paths;
    a.input_format = options_.input_format;
    a.column_map = options_.column_map;
    a.html_path = options_.html_path;
    a.follow = false;
    a.format = "json";
    a.print_report = false;
    a.extension = std::make_shared<WhatIfAnalyzeExtension>(options_, engine, *in);
    const int rc = AnalyzeCommand(std::move(a)).Run(out, err);
    if (rc != AnalyzeCommand::kExitOk) return rc;
  }
  return kExitOk;
}

}  // namespace yoloscope
