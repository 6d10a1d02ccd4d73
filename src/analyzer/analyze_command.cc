#include "analyzer/analyze_command.h"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "alerts/alert_timeline.h"
#include "alerts/alert_timeline_report.h"
#include "alerts/rule_set.h"
#include "analyzer/aggregate/log_aggregator.h"
#include "analyzer/analyzer.h"
#include "analyzer/clickhouse_pushdown.h"
#include "analyzer/progress_bar.h"
#include "analyzer/readers/log_reader.h"
#include "analyzer/report/report_writer.h"
#include "common/clock.h"
#include "common/time_format.h"
#include "fleet/clickhouse_uri.h"
#include "report/html_report.h"

namespace yoloscope {
namespace {

constexpr int64_t kProgressMinBytes = 64 << 20;

// A sink that serializes access to its aggregator, so that --follow can take
// snapshots while the reader keeps writing.
class LockedSink : public RecordSink {
 public:
  LockedSink(LogAggregator* agg, std::mutex* mu) : agg_(agg), mu_(mu) {}
  void OnRecord(const LogRecord& r) override {
    std::lock_guard<std::mutex> lock(*mu_);
    agg_->OnRecord(r);
  }

 private:
  LogAggregator* agg_;
  std::mutex* mu_;
};

// Blocks SIGINT/SIGTERM in the calling thread (and the threads it starts
// afterwards) and turns them into `stop` from a watcher thread.
class SignalWatcher {
 public:
  explicit SignalWatcher(std::atomic<bool>* stop) : stop_(stop) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    thread_ = std::thread([this] {
      while (!done_.load()) {
        timespec ts{0, 200'000'000};
        if (sigtimedwait(&set_, nullptr, &ts) > 0) stop_->store(true);
      }
    });
  }
  ~SignalWatcher() {
    done_.store(true);
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  std::atomic<bool>* stop_;
  std::atomic<bool> done_{false};
  sigset_t set_, old_;
  std::thread thread_;
};

InputSummary ToInputSummary(const std::vector<std::string>& paths, const ReadStats& st, int threads,
                            double seconds) {
  InputSummary in;
  in.files = paths;
  for (const auto& [format, n] : st.records_by_format) in.formats.push_back({format, n});
  in.bytes = st.bytes;
  in.raw_bytes = st.raw_bytes;
  in.records = st.records;
  in.malformed = st.malformed;
  in.field_errors = st.field_errors;
  in.writer_dropped = st.writer_dropped;
  in.malformed_examples = st.malformed_examples;
  in.warnings = st.warnings;
  if (st.foreign_schema > 0) {
    in.warnings.push_back(
        fmt::format("{} records carry a schema other than yoloscope.v1", st.foreign_schema));
  }
  if (st.writer_dropped > 0) {
    in.warnings.push_back(fmt::format("the server dropped {} log records (its log queue was full)",
                                      st.writer_dropped));
  }
  in.threads = threads;
  in.seconds = seconds;
  return in;
}

std::string Render(const AnalysisReport& report, const AnalyzeOptions& o, bool color,
                   bool compact_json) {
  if (o.format == "json") return ReportWriter::Json(report, compact_json ? -1 : 2);
  if (o.format == "markdown") return ReportWriter::Markdown(report);
  TextReportOptions t;
  t.color = color;
  return ReportWriter::Text(report, t);
}

bool UseColor(const std::string& mode, std::FILE* out) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && no_color[0] != '\0') return false;
  return isatty(fileno(out)) == 1;
}

int64_t TotalFileBytes(const std::vector<std::string>& paths) {
  int64_t total = 0;
  for (const std::string& p : paths) {
    if (p == "-") return 0;
    std::error_code ec;
    const auto n = std::filesystem::file_size(p, ec);
    if (ec) return 0;
    total += static_cast<int64_t>(n);
  }
  return total;
}

std::string NoRecordsMessage(const std::vector<std::string>& paths, const ReadStats& st) {
  std::string msg =
      fmt::format("no usable records in {}", fmt::format("{}", fmt::join(paths, ", ")));
  if (st.malformed > 0) {
    msg += fmt::format(" ({} malformed lines", st.malformed);
    if (!st.malformed_examples.empty()) msg += "; first: " + st.malformed_examples.front();
    msg += ")";
  } else if (st.lines == 0) {
    msg += " (empty input)";
  }
  return msg;
}

// The fleet database to push the aggregation down to: one clickhouse://
// input with pushdown=1.
std::optional<ClickHouseUri> PushDownUri(const std::vector<std::string>& paths) {
  if (paths.size() != 1 || !ClickHouseUri::Matches(paths[0])) return std::nullopt;
  auto uri = ClickHouseUri::Parse(paths[0]);
  if (!uri.ok() || !uri->pushdown) return std::nullopt;
  return *uri;
}

// The report of a fleet database from the aggregates ClickHouse computed
// (analyzer/clickhouse_pushdown.h): summary, stages, breakdowns, baselines
// and time series; the rules need per-record state that is not pushed down
// yet, so the report has no findings and says so.
StatusOr<AnalysisReport> PushDownReport(const ClickHouseUri& uri, const AnalyzeOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  LogAggregator agg;
  YS_RETURN_IF_ERROR(ClickHousePushDown::Fill(uri, &agg));
  const std::string name = "clickhouse://" + uri.Describe();
  if (agg.records() == 0)
    return InvalidArgumentError("no usable records in " + name + " (empty input)");
  InputSummary in;
  in.files = {name};
  in.formats.push_back({"clickhouse push-down", agg.records()});
  in.records = agg.records();
  in.threads = 1;
  in.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  in.warnings.push_back(
      "pushdown=1: aggregates computed by ClickHouse; the findings, and the device state and "
      "slowest request of each window, are not pushed down yet (pushdown=0 reads the records and "
      "runs every rule)");
  AnalyzerConfig ac;
  ac.window_s = o.window_s;
  AnalysisReport report = Analyzer(ac).Analyze(agg, in);
  report.findings.clear();
  report.skipped_checks.clear();
  SkippedCheck skipped;
  skipped.check = "all rules";
  skipped.reason =
      "pushdown=1: the per-window and per-record state the rules need is not pushed down yet; "
      "pushdown=0 runs them";
  report.skipped_checks.push_back(std::move(skipped));
  if (o.extension) o.extension->Annotate(&report);
  return report;
}

}  // namespace

AnalyzeCommand::AnalyzeCommand(AnalyzeOptions options) : options_(std::move(options)) {}

Status AnalyzeCommand::Validate(const AnalyzeOptions& o) {
  if (o.paths.empty()) return InvalidArgumentError("no log file given (use - for stdin)");
  if (o.format != "text" && o.format != "json" && o.format != "markdown") {
    return InvalidArgumentError("--format must be text, json or markdown, not '" + o.format + "'");
  }
  if (o.fail_on != "none" && o.fail_on != "warning" && o.fail_on != "critical") {
    return InvalidArgumentError("--fail-on must be warning or critical, not '" + o.fail_on + "'");
  }
  if (o.threads < 0 || o.threads > 256) return InvalidArgumentError("--threads must be 0..256");
  if (!(o.window_s >= 0) || o.window_s > 86400.0 * 365)
    return InvalidArgumentError("--window must be >= 0 seconds");
  if (o.color != "auto" && o.color != "always" && o.color != "never") {
    return InvalidArgumentError("--color must be auto, always or never");
  }
  if (o.progress != "auto" && o.progress != "always" && o.progress != "never") {
    return InvalidArgumentError("--progress must be auto, always or never");
  }
  if (!(o.follow_interval_s > 0)) return InvalidArgumentError("the follow interval must be > 0");
  int stdin_count = 0;
  for (const std::string& p : o.paths) stdin_count += p == "-";
  if (stdin_count > 1) return InvalidArgumentError("stdin (-) given more than once");
  return Status::Ok();
}

int AnalyzeCommand::ExitCodeFor(const AnalysisReport& report, const std::string& fail_on) {
  const auto max = report.MaxSeverity();
  if (!max) return kExitOk;
  if (fail_on == "warning" && *max >= FindingSeverity::kWarning) return kExitFindings;
  if (fail_on == "critical" && *max >= FindingSeverity::kCritical) return kExitFindings;
  return kExitOk;
}

StatusOr<AnalysisReport> AnalyzeCommand::Analyze() {
  YS_RETURN_IF_ERROR(Validate(options_));
  if (auto uri = PushDownUri(options_.paths)) return PushDownReport(*uri, options_);
  ReadOptions ro;
  ro.input_format = options_.input_format;
  ro.threads = options_.threads;
  ro.column_map = options_.column_map;
  YS_ASSIGN_OR_RETURN(std::unique_ptr<LogReader> reader, LogReader::Create(ro));
  const int n = std::max(1, reader->num_threads());
  std::vector<std::unique_ptr<LogAggregator>> aggs;
  for (int i = 0; i < n; ++i) aggs.push_back(std::make_unique<LogAggregator>());
  ReadStats stats;
  const auto start = std::chrono::steady_clock::now();
  YS_RETURN_IF_ERROR(reader->Read(
      options_.paths, [&](int i) -> RecordSink* { return aggs[static_cast<size_t>(i)].get(); },
      &stats));
  for (int i = 1; i < n; ++i) aggs[0]->Merge(*aggs[static_cast<size_t>(i)]);
  if (aggs[0]->records() == 0) return InvalidArgumentError(NoRecordsMessage(options_.paths, stats));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  AnalyzerConfig ac;
  ac.window_s = options_.window_s;
  AnalysisReport report =
      Analyzer(ac).Analyze(*aggs[0], ToInputSummary(options_.paths, stats, n, seconds));
  if (options_.extension) options_.extension->Annotate(&report);
  return report;
}

namespace {

// Hands every record to this thread's aggregator and alert-timeline shard.
class TeeSink final : public RecordSink {
 public:
  TeeSink(RecordSink* a, RecordSink* b) : a_(a), b_(b) {}
  void OnRecord(const LogRecord& r) override {
    a_->OnRecord(r);
    if (b_) b_->OnRecord(r);
  }

 private:
  RecordSink* a_;
  RecordSink* b_;
};

}  // namespace

int AnalyzeCommand::Run(std::FILE* out, std::FILE* err) {
  if (Status s = Validate(options_); !s.ok()) {
    std::fprintf(err, "yoloscope analyze: %s\n", s.message().c_str());
    return kExitUsage;
  }
  const bool color = UseColor(options_.color, out);
  if (auto uri = PushDownUri(options_.paths); uri && !options_.follow) {
    auto report = PushDownReport(*uri, options_);
    if (!report.ok()) {
      std::fprintf(err, "yoloscope analyze: %s\n", report.status().message().c_str());
      return kExitUsage;
    }
    if (options_.print_report) {
      std::fputs(Render(*report, options_, color, /*compact_json=*/false).c_str(), out);
      std::fflush(out);
    }
    if (!options_.html_path.empty()) {
      nlohmann::json doc = nlohmann::json::parse(ReportWriter::Json(*report, -1), nullptr,
                                                 /*allow_exceptions=*/false);
      if (options_.extension && doc.is_object()) options_.extension->ExtendHtml(&doc);
      HtmlReportOptions html_options;
      html_options.generated_at = FormatRfc3339Micros(RealClock().WallNowUs());
      if (Status st = HtmlReport::WriteFile(doc, html_options, options_.html_path); !st.ok()) {
        std::fprintf(err, "yoloscope analyze: --html %s: %s\n", options_.html_path.c_str(),
                     st.message().c_str());
        return kExitUsage;
      }
    }
    return ExitCodeFor(*report, options_.fail_on);
  }
  ReadOptions ro;
  ro.input_format = options_.input_format;
  ro.threads = options_.threads;
  ro.column_map = options_.column_map;
  std::atomic<int64_t> progress_bytes{0};
  ro.progress_bytes = &progress_bytes;
  std::atomic<bool> stop{false};
  std::unique_ptr<SignalWatcher> signals;
  if (options_.follow) {
    ro.follow.enabled = true;
    ro.follow.stop = &stop;
    ro.follow.idle_timeout_ms = static_cast<int64_t>(options_.follow_idle_timeout_s * 1000);
    signals = std::make_unique<SignalWatcher>(&stop);
  }
  auto reader_or = LogReader::Create(ro);
  if (!reader_or.ok()) {
    std::fprintf(err, "yoloscope analyze: %s\n", reader_or.status().message().c_str());
    return kExitUsage;
  }
  std::unique_ptr<LogReader> reader = std::move(reader_or).value();
  const int n = std::max(1, reader->num_threads());
  std::vector<std::unique_ptr<LogAggregator>> aggs;
  std::vector<std::unique_ptr<std::mutex>> mus;
  std::vector<std::unique_ptr<LockedSink>> locked;
  for (int i = 0; i < n; ++i) {
    aggs.push_back(std::make_unique<LogAggregator>());
    mus.push_back(std::make_unique<std::mutex>());
    locked.push_back(std::make_unique<LockedSink>(aggs.back().get(), mus.back().get()));
  }
  AnalyzerConfig ac;
  ac.window_s = options_.window_s;
  const Analyzer analyzer(ac);

  // Progress bar: stderr is a terminal and the input is big (or asked for).
  const int64_t total_bytes = TotalFileBytes(options_.paths);
  const bool show_progress =
      !options_.follow &&
      (options_.progress == "always" || (options_.progress == "auto" && isatty(fileno(err)) == 1 &&
                                         total_bytes >= kProgressMinBytes));
  std::unique_ptr<ProgressBar> bar;
  if (show_progress) {
    ProgressBarConfig pc;
    pc.total_bytes = total_bytes;
    bar = std::make_unique<ProgressBar>(err, &progress_bytes, pc);
    bar->Start();
  }

  // --follow: a reporter thread prints a fresh report every interval.
  std::mutex report_mu;
  std::condition_variable report_cv;
  bool reading_done = false;
  std::thread reporter;
  const auto start = std::chrono::steady_clock::now();
  ReadStats stats;
  auto snapshot = [&]() {
    LogAggregator merged;
    for (int i = 0; i < n; ++i) {
      std::lock_guard<std::mutex> lock(*mus[static_cast<size_t>(i)]);
      merged.Merge(*aggs[static_cast<size_t>(i)]);
    }
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    InputSummary in;
    in.files = options_.paths;
    in.records = merged.records();
    in.threads = n;
    in.seconds = s;
    return analyzer.Analyze(merged, in);
  };
  if (options_.follow) {
    reporter = std::thread([&] {
      std::unique_lock<std::mutex> lock(report_mu);
      while (!reading_done) {
        report_cv.wait_for(lock, std::chrono::duration<double>(options_.follow_interval_s),
                           [&] { return reading_done; });
        if (reading_done) break;
        lock.unlock();
        const AnalysisReport report = snapshot();
        std::string text = Render(report, options_, color, /*compact_json=*/true);
        if (options_.format == "text" && isatty(fileno(out)) == 1) text = "\033[H\033[2J" + text;
        if (options_.format == "markdown") text += "\n---\n";
        std::fputs(text.c_str(), out);
        std::fflush(out);
        lock.lock();
      }
    });
  }

  // The alert timeline: when each rule would have fired and resolved.
  std::unique_ptr<AlertTimeline> timeline;
  std::vector<std::unique_ptr<TeeSink>> tees;
  if (!options_.follow && options_.alert_rules != "none") {
    auto rules = options_.alert_rules.empty() ? RuleSet::LoadDefaults()
                                              : RuleSet::LoadFile(options_.alert_rules);
    if (!rules.ok()) {
      std::fprintf(err, "yoloscope analyze: --alert-rules: %s\n", rules.status().message().c_str());
      return kExitUsage;
    }
    auto tl = AlertTimeline::Create(std::move(rules).value());
    if (!tl.ok()) {
      std::fprintf(err, "yoloscope analyze: alerts: %s\n", tl.status().message().c_str());
      return kExitUsage;
    }
    timeline = std::move(tl).value();
    for (int i = 0; i < n; ++i) {
      tees.push_back(
          std::make_unique<TeeSink>(aggs[static_cast<size_t>(i)].get(), timeline->NewShard()));
    }
  }
  Status read_status = reader->Read(
      options_.paths,
      [&](int i) -> RecordSink* {
        if (options_.follow) return locked[static_cast<size_t>(i)].get();
        if (timeline) return tees[static_cast<size_t>(i)].get();
        return aggs[static_cast<size_t>(i)].get();
      },
      &stats);
  if (bar) bar->Stop();
  if (reporter.joinable()) {
    {
      std::lock_guard<std::mutex> lock(report_mu);
      reading_done = true;
    }
    report_cv.notify_all();
    reporter.join();
  }
  if (!read_status.ok() && read_status.code() != StatusCode::kCancelled) {
    std::fprintf(err, "yoloscope analyze: %s\n", read_status.message().c_str());
    return kExitUsage;
  }
  for (int i = 1; i < n; ++i) aggs[0]->Merge(*aggs[static_cast<size_t>(i)]);
  if (aggs[0]->records() == 0) {
    std::fprintf(err, "yoloscope analyze: %s\n", NoRecordsMessage(options_.paths, stats).c_str());
    return kExitUsage;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  AnalysisReport report =
      analyzer.Analyze(*aggs[0], ToInputSummary(options_.paths, stats, n, seconds));
  if (options_.extension) options_.extension->Annotate(&report);
  std::vector<TimelineAlert> alerts;
  if (timeline) alerts = timeline->Finish();
  std::string text = Render(report, options_, color, /*compact_json=*/options_.follow);
  if (timeline) {
    if (options_.format == "json") {
      nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (doc.is_object()) {
        doc["alerts"] = AlertTimelineToJson(alerts);
        text = doc.dump(2) + "\n";
      }
    } else if (options_.format == "markdown") {
      text += "\n" + RenderAlertTimelineMarkdown(alerts);
    } else {
      text += "\n" + RenderAlertTimelineText(alerts);
    }
  }
  if (options_.print_report) {
    std::fputs(text.c_str(), out);
    std::fflush(out);
  }
  if (!options_.html_path.empty()) {
    // The HTML report consumes the documented JSON document, not our structs.
    nlohmann::json doc =
        nlohmann::json::parse(ReportWriter::Json(report, -1), nullptr, /*allow_exceptions=*/false);
    if (timeline && doc.is_object()) doc["alerts"] = AlertTimelineToJson(alerts);
    if (options_.extension && doc.is_object()) options_.extension->ExtendHtml(&doc);
    HtmlReportOptions html_options;
    html_options.generated_at = FormatRfc3339Micros(RealClock().WallNowUs());
    if (Status st = HtmlReport::WriteFile(doc, html_options, options_.html_path); !st.ok()) {
      std::fprintf(err, "yoloscope analyze: --html %s: %s\n", options_.html_path.c_str(),
                   st.message().c_str());
      return kExitUsage;
    }
  }
  return ExitCodeFor(report, options_.fail_on);
}

}  // namespace yoloscope
