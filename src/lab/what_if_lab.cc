#include "lab/what_if_lab.h"

#include <cmath>
#include <fmt/format.h>

#include "server/serve_config.h"
#include "whatif/what_if_engine.h"
#include "whatif/what_if_setting.h"

namespace yoloscope {
namespace {

WhatIfSetting SettingOf(const ServeConfig& c) {
  WhatIfSetting s;
  const BatcherConfig& b = c.service.batcher;
  s.max_batch_size = b.max_batch_size;
  s.max_queue_delay_us = b.max_queue_delay_us;
  s.max_queue_size = b.max_queue_size;
  s.policy = b.policy;
  s.instances = c.service.instances;
  s.preprocess_workers = c.service.preprocess_workers;
  s.postprocess_workers = c.service.postprocess_workers;
  s.label = "A";
  return s;
}

void Apply(const WhatIfSetting& s, ServeConfig* c) {
  BatcherConfig& b = c->service.batcher;
  b.max_batch_size = s.max_batch_size;
  b.max_queue_delay_us = s.max_queue_delay_us;
  b.max_queue_size = s.max_queue_size;
  b.policy = s.policy;
  std::erase_if(b.preferred_batch_sizes, [&](int p) { return p > s.max_batch_size; });
  if (b.latency_curve_us.size() > static_cast<size_t>(s.max_batch_size)) {
    b.latency_curve_us.resize(static_cast<size_t>(s.max_batch_size));
  }
  c->service.instances = s.instances;
  c->service.preprocess_workers = s.preprocess_workers;
  c->service.postprocess_workers = s.postprocess_workers;
}

StatusOr<ObservedRun> Measure(const std::string& log, double skip_s) {
  ProfileOptions po;
  po.skip_s = skip_s;
  YS_ASSIGN_OR_RETURN(PipelineProfile p, ProfileBuilder::Load({log}, ReadOptions{}, po));
  return p.observed;
}

// Relative error of `pred` against `meas`, and whether it is within `tol`.
void Check(const char* name, double pred, double meas, double tol, std::vector<std::string>* misses) {
  if (!(meas > 0)) return;
  const double rel = (pred - meas) / meas;
  if (std::fabs(rel) > tol) {
    misses->push_back(fmt::format("{} {:+.0f}% (goal {:.0f}%)", name, rel * 100, tol * 100));
  }
}

}  // namespace

WhatIfLab::WhatIfLab(WhatIfLabConfig config) : config_(std::move(config)) {
  config_.lab.keep_logs = true;
}

StatusOr<std::vector<WhatIfPairResult>> WhatIfLab::Run(const Scenario& a) {
  if (!(config_.skip_s >= 0)) return InvalidArgumentError("--skip-s must be >= 0");
  ServeConfig serve_a;
  YS_RETURN_IF_ERROR(LoadServeConfigYaml(a.server_yaml, a.path + " (server)", &serve_a));
  const WhatIfSetting setting_a = SettingOf(serve_a);

  LabRunner runner(config_.lab);
  const ScenarioResult ra = runner.Run(a);
  if (!ra.error.empty()) return InternalError("running A (" + a.name + "): " + ra.error);
  ProfileOptions po;
  po.skip_s = config_.skip_s;
  YS_ASSIGN_OR_RETURN(PipelineProfile profile,
                      ProfileBuilder::Load({ra.log_path}, ReadOptions{}, po));
  YS_ASSIGN_OR_RETURN(auto engine, WhatIfEngine::Create(std::move(profile)));

  std::vector<WhatIfPairResult> out;
  // A against itself first: how well the model reproduces the run it read.
  std::vector<std::string> specs = {""};
  specs.insert(specs.end(), config_.what_ifs.begin(), config_.what_ifs.end());
  for (size_t i = 0; i < specs.size(); ++i) {
    WhatIfPairResult r;
    r.spec = specs[i].empty() ? "A (logged setting)" : specs[i];
    WhatIfSetting setting_b = setting_a;
    if (!specs[i].empty()) {
      auto s = ApplyWhatIf(specs[i], setting_a);
      if (!s.ok()) return s.status();
      setting_b = *s;
    }
    if (setting_b.rate_per_s > 0) {
      r.error = "the lab scales rates as xF only";
      out.push_back(r);
      continue;
    }
    auto pred = engine->Predict(setting_b);
    if (!pred.ok()) {
      r.error = pred.status().message();
      out.push_back(r);
      continue;
    }
    r.predicted = pred->result;
    r.extrapolated = pred->extrapolated;
    std::string log_b = ra.log_path;
    if (!specs[i].empty()) {
      Scenario b = a;
      b.name = fmt::format("{}_whatif{}", a.name, i);
      ServeConfig serve_b = serve_a;
      Apply(setting_b, &serve_b);
      b.server_yaml = ServeConfigToYaml(serve_b);
      bool closed_loop = false;
      for (LoadPhase& ph : b.phases) {
        if (ph.rate > 0) {
          ph.rate *= setting_b.rate_scale;
          ph.duration_s /= setting_b.rate_scale;
        } else if (setting_b.rate_scale != 1) {
          closed_loop = true;
        }
      }
      if (closed_loop) {
        r.error = "rate=xF needs open-loop (rate) phases";
        out.push_back(r);
        continue;
      }
      const ScenarioResult rb = runner.Run(b);
      if (!rb.error.empty()) {
        r.error = "running B: " + rb.error;
        out.push_back(r);
        continue;
      }
      log_b = rb.log_path;
    }
    auto measured = Measure(log_b, config_.skip_s / setting_b.rate_scale);
    if (!measured.ok()) {
      r.error = "reading B's log: " + measured.status().message();
      out.push_back(r);
      continue;
    }
    r.measured = *measured;
    Check("p50", r.predicted.p50_ms, r.measured.p50_ms, kP50Tolerance, &r.misses);
    Check("p99", r.predicted.p99_ms, r.measured.p99_ms, kP99Tolerance, &r.misses);
    Check("throughput", r.predicted.throughput_per_s, r.measured.throughput_per_s,
          kThroughputTolerance, &r.misses);
    const double d = (r.predicted.rejection_rate - r.measured.rejection_rate) * 100;
    if (std::fabs(d) > kRejectionPoints) {
      r.misses.push_back(fmt::format("rejected {:+.1f} pt (goal {:.0f} pt)", d, kRejectionPoints));
    }
    out.push_back(std::move(r));
  }
  return out;
}

void WhatIfLab::PrintTable(const Scenario& a, const std::vector<WhatIfPairResult>& results,
                           std::FILE* out) {
  std::fprintf(out, "what-if lab: %s (predicted from A's log / measured)\n", a.name.c_str());
  std::fprintf(out, "%-34s %15s %15s %15s %17s %13s  %s\n", "B", "p50 ms", "p90 ms", "p99 ms",
               "throughput/s", "rejected %", "verdict");
  for (const WhatIfPairResult& r : results) {
    if (!r.error.empty()) {
      std::fprintf(out, "%-34s %s\n", r.spec.c_str(), r.error.c_str());
      continue;
    }
    const SimulationResult& p = r.predicted;
    const ObservedRun& m = r.measured;
    std::string verdict = r.misses.empty() ? "within goals" : "MISSES: ";
    for (size_t i = 0; i < r.misses.size(); ++i) verdict += (i ? ", " : "") + r.misses[i];
    if (r.extrapolated) verdict += " (extrapolated)";
    std::fprintf(out, "%-34s %7.1f/%-7.1f %7.1f/%-7.1f %7.1f/%-7.1f %8.1f/%-8.1f %6.2f/%-6.2f  %s\n",
                 r.spec.c_str(), p.p50_ms, m.p50_ms, p.p90_ms, m.p90_ms, p.p99_ms, m.p99_ms,
                 p.throughput_per_s, m.throughput_per_s, p.rejection_rate * 100,
                 m.rejection_rate * 100, verdict.c_str());
  }
}

}  // namespace yoloscope
