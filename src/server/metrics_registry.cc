#include "server/metrics_registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace yoloscope {
namespace {

void AppendDouble(double v, std::string* out) {
  if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
    return;
  }
  if (std::isnan(v)) {
    out->append("NaN");
    return;
  }
  // Shortest text that round-trips (0.0001, not 0.00010000000000000000479).
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, static_cast<size_t>(res.ptr - buf));
}

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace

void Gauge::Add(double d) {
  double cur = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  // Bucket i counts values <= bounds[i] (non-cumulative here; cumulated on render).
  size_t i = static_cast<size_t>(std::lower_bound(bounds_->begin(), bounds_->end(), v) -
                                 bounds_->begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

void Histogram::Snapshot(std::vector<uint64_t>* cumulative, uint64_t* count, double* sum) const {
  cumulative->resize(bounds_->size() + 1);
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    (*cumulative)[i] = acc;
  }
  // Report the bucket total as the count so +Inf == _count even while
  // observations race with the snapshot.
  *count = acc;
  *sum = sum_.load(std::memory_order_relaxed);
}

const std::vector<double>& LatencyBucketsSeconds() {
  static const std::vector<double> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                               0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                               1,      2.5,     5,      10};
  return kBuckets;
}

std::string MetricsRegistry::RenderLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string s = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) s += ",";
    s += labels[i].first + "=\"" + EscapeLabelValue(labels[i].second) + "\"";
  }
  return s + "}";
}

MetricsRegistry::Family* MetricsRegistry::FamilyFor(const std::string& name,
                                                    const std::string& help, Type type,
                                                    const std::vector<double>* bounds) {
  for (auto& f : families_) {
    if (f->name == name) return f.get();
  }
  auto f = std::make_unique<Family>();
  f->name = name;
  f->help = help;
  f->type = type;
  if (bounds) f->bounds = *bounds;
  families_.push_back(std::move(f));
  return families_.back().get();
}

Counter* MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family* f = FamilyFor(name, help, Type::kCounter, nullptr);
  std::string key = RenderLabels(labels);
  auto it = f->index.find(key);
  if (it != f->index.end()) return &f->counters[it->second];
  f->index[key] = f->counters.size();
  f->label_text.push_back(key);
  return &f->counters.emplace_back();
}

Gauge* MetricsRegistry::GetGauge(const std::string& name, const std::string& help,
                                 const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family* f = FamilyFor(name, help, Type::kGauge, nullptr);
  std::string key = RenderLabels(labels);
  auto it = f->index.find(key);
  if (it != f->index.end()) return &f->gauges[it->second];
  f->index[key] = f->gauges.size();
  f->label_text.push_back(key);
  return &f->gauges.emplace_back();
}

Histogram* MetricsRegistry::GetHistogram(const std::string& name, const std::string& help,
                                         const std::vector<double>& bounds,
                                         const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family* f = FamilyFor(name, help, Type::kHistogram, &bounds);
  std::string key = RenderLabels(labels);
  auto it = f->index.find(key);
  if (it != f->index.end()) return &f->histograms[it->second];
  f->index[key] = f->histograms.size();
  f->label_text.push_back(key);
  return &f->histograms.emplace_back(&f->bounds);
}

std::string MetricsRegistry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  out.reserve(8192);
  std::vector<uint64_t> cumulative;
  for (const auto& f : families_) {
    const char* type = f->type == Type::kCounter ? "counter"
                       : f->type == Type::kGauge ? "gauge"
                                                 : "histogram";
    out += "# HELP " + f->name + " " + f->help + "\n";
    out += "# TYPE " + f->name + " " + type + "\n";
    for (size_t s = 0; s < f->label_text.size(); ++s) {
      const std::string& lt = f->label_text[s];
      if (f->type == Type::kCounter) {
        out += f->name + lt + " " + std::to_string(f->counters[s].value()) + "\n";
      } else if (f->type == Type::kGauge) {
        out += f->name + lt + " ";
        AppendDouble(f->gauges[s].value(), &out);
        out += "\n";
      } else {
        uint64_t count;
        double sum;
        f->histograms[s].Snapshot(&cumulative, &count, &sum);
        // "le" joins the series' own labels.
        std::string inner = lt.empty() ? "" : lt.substr(1, lt.size() - 2) + ",";
        for (size_t i = 0; i <= f->bounds.size(); ++i) {
          out += f->name + "_bucket{" + inner + "le=\"";
          if (i < f->bounds.size()) {
            AppendDouble(f->bounds[i], &out);
          } else {
            out += "+Inf";
          }
          out += "\"} " + std::to_string(cumulative[i]) + "\n";
        }
        out += f->name + "_sum" + lt + " ";
        AppendDouble(sum, &out);
        out += "\n" + f->name + "_count" + lt + " " + std::to_string(count) + "\n";
      }
    }
  }
  return out;
}

}  // namespace yoloscope
