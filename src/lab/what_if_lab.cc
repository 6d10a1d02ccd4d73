#include "lab/what_if_lab.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "server/serve_config.h"
#include "whatif/quantile.h"
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

StatusOr<PipelineProfile> Measure(const std::string& log, double skip_s) {
  ProfileOptions po;
  po.skip_s = skip_s;
  return ProfileBuilder::Load({log}, ReadOptions{}, po);
}

// The device time of one batch size in B's runs against A's (the model's
// input): the size both logged most (>= 20 batches each), medians of the
// pooled times. Empty when no size qualifies.
struct Drift {
  int size = 0;
  double pct = 0;
};
std::optional<Drift> DeviceDrift(const std::map<int, std::vector<double>>& a,
                                 const std::map<int, std::vector<double>>& b) {
  constexpr size_t kMinBatches = 20;
  std::optional<Drift> out;
  size_t best = 0;
  for (const auto& [size, times_a] : a) {
    auto it = b.find(size);
    if (it == b.end()) continue;
    const size_t n = std::min(times_a.size(), it->second.size());
    if (n < kMinBatches || n <= best) continue;
    std::vector<double> sa = times_a, sb = it->second;
    std::sort(sa.begin(), sa.end());
    std::sort(sb.begin(), sb.end());
    const double ma = QuantileOfSorted(sa, 0.5), mb = QuantileOfSorted(sb, 0.5);
    if (!(ma > 0)) continue;
    best = n;
    out = Drift{size, 100 * (mb / ma - 1)};
  }
  return out;
}

void Pool(const std::map<int, std::vector<double>>& from, std::map<int, std::vector<double>>* to) {
  for (const auto& [size, times] : from) {
    std::vector<double>& v = (*to)[size];
    v.insert(v.end(), times.begin(), times.end());
  }
}

// Relative error of `pred` against `meas`, and whether it is within `tol`.
void Check(const char* name, double pred, double meas, double tol, std::vector<std::string>* misses) {
  if (!(meas > 0)) return;
  const double rel = (pred - meas) / meas;
  if (std::fabs(rel) > tol) {
    misses->push_back(fmt::format("{} {:+.0f}% (goal {:.0f}%)", name, rel * 100, tol * 100));
  }
}

// Per metric, the median over runs (the compared fields: percentiles,
// throughput, rejections); the other fields are the first run's.
template <typename T>
T MedianOf(const std::vector<T>& runs) {
  T out = runs.front();
  auto median = [&](double T::*field) {
    std::vector<double> v;
    for (const T& r : runs) v.push_back(r.*field);
    std::sort(v.begin(), v.end());
    out.*field = QuantileOfSorted(v, 0.5);
  };
  median(&T::p50_ms);
  median(&T::p90_ms);
  median(&T::p99_ms);
  median(&T::throughput_per_s);
  median(&T::rejection_rate);
  return out;
}

double MedianOfValues(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return QuantileOfSorted(v, 0.5);
}

}  // namespace

WhatIfLab::WhatIfLab(WhatIfLabConfig config) : config_(std::move(config)) {
  config_.lab.keep_logs = true;
}

StatusOr<std::vector<WhatIfPairResult>> WhatIfLab::Run(const Scenario& a) {
  if (!(config_.skip_s >= 0)) return InvalidArgumentError("--skip-s must be >= 0");
  if (config_.reuse_logs && config_.lab.work_dir.empty()) {
    return InvalidArgumentError("--reuse-logs needs --work-dir (where the earlier run's logs are)");
  }
  if (config_.repeat < 1 || config_.repeat > 20) {
    return InvalidArgumentError("--repeat must be in [1, 20]");
  }
  ServeConfig serve_a;
  YS_RETURN_IF_ERROR(LoadServeConfigYaml(a.server_yaml, a.path + " (server)", &serve_a));
  const WhatIfSetting setting_a = SettingOf(serve_a);
  const int n = config_.repeat;
  auto run_name = [n](const std::string& base, int k) {
    return n == 1 ? base : fmt::format("{}_r{}", base, k + 1);
  };

  // What each B is: its setting and scenario, or why it cannot be run.
  struct Pair {
    WhatIfPairResult result;
    WhatIfSetting setting;
    Scenario scenario;  // B's (A's for A itself)
    std::vector<std::string> logs;
  };
  std::vector<Pair> pairs;
  // A against itself first: how well the model reproduces the run it read.
  std::vector<std::string> specs = {""};
  specs.insert(specs.end(), config_.what_ifs.begin(), config_.what_ifs.end());
  for (size_t i = 0; i < specs.size(); ++i) {
    Pair pair;
    WhatIfPairResult& r = pair.result;
    r.spec = specs[i].empty() ? "A (logged setting)" : specs[i];
    r.runs = n;
    pair.setting = setting_a;
    pair.scenario = a;
    pairs.push_back(pair);
    if (specs[i].empty()) continue;
    Pair& b = pairs.back();
    auto s = ApplyWhatIf(specs[i], setting_a);
    if (!s.ok()) return s.status();
    b.setting = *s;
    if (b.setting.devices > 1) {
      // The simulated GPU of a lab scenario is one device its instances share.
      b.result.error = "the lab runs one device: devices > 1 cannot be run";
      continue;
    }
    if (b.setting.rate_per_s > 0) {
      b.result.error = "the lab scales rates as xF only";
      continue;
    }
    ServeConfig serve_b = serve_a;
    Apply(b.setting, &serve_b);
    b.scenario.server_yaml = ServeConfigToYaml(serve_b);
    for (LoadPhase& ph : b.scenario.phases) {
      if (ph.rate > 0) {
        ph.rate *= b.setting.rate_scale;
        ph.duration_s /= b.setting.rate_scale;
      } else if (b.setting.rate_scale != 1) {
        b.result.error = "rate=xF needs open-loop (rate) phases";
      }
    }
  }

  // n rounds, each A and then every B: the machine's speed drifts over
  // minutes (a CPU backend's batch time by 10-15 % on a shared VM), so each
  // B run is measured right after the A run whose log predicts it, rather
  // than all A runs first. One engine per A run (each predicts from its own
  // log alone).
  LabRunner runner(config_.lab);
  auto run_or_reuse = [&](const Scenario& s) {
    if (!config_.reuse_logs) return runner.Run(s);
    ScenarioResult r;
    r.name = s.name;
    r.log_path = config_.lab.work_dir + "/" + s.name + "/requests.jsonl";
    if (!std::filesystem::exists(r.log_path)) r.error = "--reuse-logs: no log at " + r.log_path;
    return r;
  };
  std::vector<std::unique_ptr<WhatIfEngine>> engines;
  for (int k = 0; k < n; ++k) {
    Scenario ak = a;
    ak.name = run_name(a.name, k);
    const ScenarioResult ra = run_or_reuse(ak);
    if (!ra.error.empty()) return InternalError("running A (" + ak.name + "): " + ra.error);
    ProfileOptions po;
    po.skip_s = config_.skip_s;
    YS_ASSIGN_OR_RETURN(PipelineProfile profile,
                        ProfileBuilder::Load({ra.log_path}, ReadOptions{}, po));
    YS_ASSIGN_OR_RETURN(auto engine, WhatIfEngine::Create(std::move(profile)));
    engines.push_back(std::move(engine));
    pairs.front().logs.push_back(ra.log_path);
    for (size_t i = 1; i < pairs.size(); ++i) {
      Pair& b = pairs[i];
      if (!b.result.error.empty()) continue;
      if (k == 0) {
        // A B the model cannot predict is not worth running.
        auto pred = engines.front()->Predict(b.setting);
        if (!pred.ok()) {
          b.result.error = pred.status().message();
          continue;
        }
      }
      b.scenario.name = run_name(fmt::format("{}_whatif{}", a.name, i), k);
      const ScenarioResult rb = run_or_reuse(b.scenario);
      if (!rb.error.empty()) {
        b.result.error = "running B: " + rb.error;
      } else {
        b.logs.push_back(rb.log_path);
      }
    }
  }

  std::vector<WhatIfPairResult> out;
  for (Pair& pair : pairs) {
    WhatIfPairResult& r = pair.result;
    const WhatIfSetting& setting_b = pair.setting;
    if (!r.error.empty()) {
      out.push_back(std::move(r));
      continue;
    }
    std::vector<SimulationResult> predicted;
    std::vector<double> sens_p50, sens_mean;
    for (const auto& engine : engines) {
      auto pred = engine->Predict(setting_b);
      if (!pred.ok()) {
        r.error = pred.status().message();
        break;
      }
      r.extrapolated = r.extrapolated || pred->extrapolated;
      predicted.push_back(pred->result);
      if (pred->sensitivity) {
        sens_p50.push_back(pred->sensitivity->p50_pct);
        sens_mean.push_back(pred->sensitivity->mean_pct);
      }
    }
    if (!sens_p50.empty()) {
      r.sensitivity_p50_pct = MedianOfValues(sens_p50);
      r.sensitivity_mean_pct = MedianOfValues(sens_mean);
      r.sensitive = std::fabs(r.sensitivity_p50_pct) >= kSensitivePct ||
                    std::fabs(r.sensitivity_mean_pct) >= kSensitivePct;
    }
    if (!r.error.empty()) {
      out.push_back(std::move(r));
      continue;
    }
    std::vector<ObservedRun> measured;
    std::map<int, std::vector<double>> device_a, device_b;
    for (const auto& engine : engines) Pool(engine->profile().device_us, &device_a);
    for (const std::string& log : pair.logs) {
      auto m = Measure(log, config_.skip_s / setting_b.rate_scale);
      if (!m.ok()) {
        r.error = "reading B's log: " + m.status().message();
        break;
      }
      if (config_.reuse_logs && m->logged_config) {
        // A reused log must be this setting's: run names go by position.
        const LoggedConfig& c = *m->logged_config;
        auto differs = [](const std::optional<int64_t>& logged, int64_t want) {
          return logged && *logged != want;
        };
        if (differs(c.max_batch_size, setting_b.max_batch_size) ||
            differs(c.max_queue_delay_us, setting_b.max_queue_delay_us) ||
            differs(c.instances, setting_b.instances) ||
            differs(c.max_queue_size, setting_b.max_queue_size)) {
          r.error = fmt::format(
              "--reuse-logs: {} was written with another setting (max_batch {}, "
              "max_queue_delay_us {}, instances {}, queue_size {})",
              log, c.max_batch_size.value_or(-1), c.max_queue_delay_us.value_or(-1),
              c.instances.value_or(-1), c.max_queue_size.value_or(-1));
          break;
        }
      }
      measured.push_back(m->observed);
      Pool(m->device_us, &device_b);
    }
    if (auto drift = DeviceDrift(device_a, device_b)) {
      r.drift_batch_size = drift->size;
      r.device_drift_pct = drift->pct;
    }
    if (!r.error.empty()) {
      out.push_back(std::move(r));
      continue;
    }
    r.predicted = MedianOf(predicted);
    r.measured = MedianOf(measured);
    r.measured_p50_min = r.measured_p50_max = measured.front().p50_ms;
    for (const ObservedRun& m : measured) {
      r.measured_p50_min = std::min(r.measured_p50_min, m.p50_ms);
      r.measured_p50_max = std::max(r.measured_p50_max, m.p50_ms);
    }
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
  const int runs = results.empty() ? 1 : results.front().runs;
  if (runs > 1) {
    std::fprintf(out,
                 "what-if lab: %s (predicted from A's log / measured; medians of %d runs each)\n",
                 a.name.c_str(), runs);
  } else {
    std::fprintf(out, "what-if lab: %s (predicted from A's log / measured)\n", a.name.c_str());
  }
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
    if (r.sensitive) {
      verdict += fmt::format(" (sensitive: 1% slower service moves p50 {:+.0f}%, mean {:+.0f}%)",
                             r.sensitivity_p50_pct, r.sensitivity_mean_pct);
    }
    if (r.drift_batch_size > 0 && std::fabs(r.device_drift_pct) >= 2) {
      verdict += fmt::format(" [device b{} B/A {:+.0f}%]", r.drift_batch_size, r.device_drift_pct);
    }
    if (r.runs > 1 && r.measured_p50_min > 0) {
      verdict +=
          fmt::format(" [measured p50 {:.1f}-{:.1f}]", r.measured_p50_min, r.measured_p50_max);
    }
    std::fprintf(out, "%-34s %7.1f/%-7.1f %7.1f/%-7.1f %7.1f/%-7.1f %8.1f/%-8.1f %6.2f/%-6.2f  %s\n",
                 r.spec.c_str(), p.p50_ms, m.p50_ms, p.p90_ms, m.p90_ms, p.p99_ms, m.p99_ms,
                 p.throughput_per_s, m.throughput_per_s, p.rejection_rate * 100,
                 m.rejection_rate * 100, verdict.c_str());
  }
}

}  // namespace yoloscope
