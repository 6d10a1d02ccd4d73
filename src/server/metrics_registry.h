// MetricsRegistry: counters, gauges and histograms rendered in the
// Prometheus text exposition format (version 0.0.4).
//
// Families are registered once at start-up; each labelled series is created
// on first use and then updated lock-free through the pointer the caller
// keeps (Counter*/Gauge*/Histogram* stay valid for the registry's lifetime).
// Thread-safety: all methods are thread-safe. Observe/Inc/Set are wait-free
// except Histogram's sum (a CAS loop).
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace yoloscope {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double v);
  // Snapshot: cumulative counts per upper bound (+Inf last), count, sum.
  void Snapshot(std::vector<uint64_t>* cumulative, uint64_t* count, double* sum) const;
  const std::vector<double>& bounds() const { return *bounds_; }

 private:
  const std::vector<double>* bounds_;  // owned by the family
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_->size() + 1 (overflow)
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Default latency buckets in seconds: 0.1 ms .. 10 s, about 3 per decade,
// fine enough to compute p99 across replicas with histogram_quantile().
const std::vector<double>& LatencyBucketsSeconds();

class MetricsRegistry {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Get-or-create the series `name{labels}`; the family's help/type are set
  // by the first call. Names must follow Prometheus rules (the caller's job).
  Counter* GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge* GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram* GetHistogram(const std::string& name, const std::string& help,
                          const std::vector<double>& bounds, const Labels& labels = {});

  // The whole registry in text format, families in registration order.
  std::string Render() const;

 private:
  struct Family {
    std::string name, help;
    Type type;
    std::vector<double> bounds;  // histograms only
    std::map<std::string, size_t> index;  // rendered labels -> series index
    std::vector<std::string> label_text;  // rendered labels, e.g. {code="200"}
    std::deque<Counter> counters;         // deques: stable addresses
    std::deque<Gauge> gauges;
    std::deque<Histogram> histograms;
  };
  Family* FamilyFor(const std::string& name, const std::string& help, Type type,
                    const std::vector<double>* bounds);  // requires mu_ held
  static std::string RenderLabels(const Labels& labels);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;  // Guarded by mu_.
};

}  // namespace yoloscope
