// The fleet database against a real clickhouse-server (Debian's 18.16) run
// as a child process: `db init`, `db load` (exactly once, by block id) and
// `analyze clickhouse://...`, which must tell the same story as `analyze` of
// the same file. The log comes from bench/loggen (an independent generator
// with an injected incident).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "analyzer/aggregate/latency_histogram.h"
#include "analyzer/analyze_command.h"
#include "analyzer/clickhouse_pushdown.h"
#include "analyzer/db_command.h"
#include "bench/loggen/log_generator.h"
#include "fleet/clickhouse_client.h"
#include "fleet/clickhouse_process.h"
#include "fleet/clickhouse_uri.h"
#include "fleet/first_fleet_schema.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;
using testing::ClickHouseProcess;
using testing::kClickHouseServer;

class ClickHouseFleetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(kClickHouseServer)) return;
    server_ = new ClickHouseProcess("fleet");
    log_ = new fs::path(Generate());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    if (log_ != nullptr) fs::remove(*log_);
    delete log_;
    log_ = nullptr;
  }
  void SetUp() override {
    if (server_ == nullptr) {
      GTEST_SKIP() << kClickHouseServer << " is not installed (scripts/setup.sh installs it)";
    }
    ASSERT_TRUE(server_->ok()) << "clickhouse-server did not start:\n" << server_->server_log();
  }

  static fs::path Generate(uint64_t seed = 11, int64_t requests = 20000,
                           const std::string& condition = "queue_saturation@40+20") {
    LogGeneratorConfig config;
    config.seed = seed;
    config.requests = requests;
    config.rps = 200;
    if (!condition.empty()) {
      auto c = ParseLogCondition(condition);
      EXPECT_TRUE(c.ok());
      config.conditions.push_back(*c);
    }
    const fs::path path = fs::temp_directory_path() / ("ys_fleet_" + std::to_string(getpid()) +
                                                       "_" + std::to_string(seed) + ".jsonl");
    std::ofstream out(path, std::ios::binary);
    auto gen = LogGenerator::Create(config);
    EXPECT_TRUE(gen.ok());
    LogGeneratorStats stats;
    EXPECT_TRUE((*gen)
                    ->Generate(
                        [&](std::string_view piece) {
                          out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
                          return Status::Ok();
                        },
                        &stats)
                    .ok());
    return path;
  }

  static int64_t Lines(const fs::path& p) {
    std::ifstream in(p);
    int64_t n = 0;
    for (std::string line; std::getline(in, line);) n += !line.empty();
    return n;
  }

  static std::unique_ptr<ClickHouseClient> Client(const std::string& uri) {
    return std::move(ClickHouseClient::Create(*ClickHouseUri::Parse(uri), {})).value();
  }

  static int64_t Count(const std::string& db, const std::string& table) {
    auto r = Client(server_->uri_text(db))->Execute("SELECT count() FROM " + db + "." + table);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::atoll(r->c_str()) : -1;
  }

  static AnalysisReport Analyze(const std::string& input) {
    return Analyze(std::vector<std::string>{input});
  }
  static AnalysisReport Analyze(const std::vector<std::string>& inputs) {
    AnalyzeOptions o;
    o.paths = inputs;
    o.threads = 2;
    auto report = AnalyzeCommand(o).Analyze();
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : AnalysisReport{};
  }

  // The aggregate statements push-down sends for `uri`, and how many of
  // them read `record`.
  static std::vector<std::string> PushDownStatements(const std::string& uri) {
    LogAggregator agg;
    std::vector<std::string> sql;
    Status s = ClickHousePushDown::Fill(*ClickHouseUri::Parse(uri), &agg, &sql);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_GT(sql.size(), 5u);
    return sql;
  }
  static int64_t ReadingRecord(const std::vector<std::string>& sql) {
    return std::count_if(sql.begin(), sql.end(), [](const std::string& s) {
      return s.find("record") != std::string::npos;
    });
  }

  static void CreateFirstSchema(const std::string& uri, const std::string& db,
                                const std::string& cluster = "") {
    auto client = Client(uri);
    for (const std::string& sql : testing::FirstFleetSchemaStatements(db, cluster)) {
      auto r = client->Execute(sql);
      ASSERT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    }
  }
  // "name type" per line, in the table's order.
  static std::string ColumnsOf(const std::string& uri, const std::string& db,
                               const std::string& table) {
    auto r = Client(uri)->Execute("SELECT name, type FROM system.columns WHERE database = '" + db +
                                  "' AND table = '" + table + "' FORMAT TabSeparated");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : "";
  }

  // pushdown=1 against the records: the same numbers. Counts are equal;
  // quantiles are equal too (the same histogram buckets, computed in SQL on
  // the value's bits), unless a value lies within a rounding of a bucket
  // boundary (ClickHouse's float parsing), hence the bucket width (2^-7);
  // means and sums within 1e-9 (summation order).
  static void ExpectSameAggregates(const AnalysisReport& pushed, const AnalysisReport& pulled) {
    constexpr double kBucket = 1.0 / 128;
    auto near = [](double a, double b, double rel) {
      return std::abs(a - b) <= rel * std::max(1.0, std::abs(b));
    };
    auto q = [&](std::optional<double> a, std::optional<double> b, const std::string& what) {
      ASSERT_EQ(a.has_value(), b.has_value()) << what;
      if (a) EXPECT_TRUE(near(*a, *b, kBucket)) << what << ": " << *a << " vs " << *b;
    };
    const Summary &p = pushed.summary, &f = pulled.summary;
    EXPECT_EQ(p.records, f.records);
    EXPECT_EQ(p.requests, f.requests);
    EXPECT_EQ(p.batches, f.batches);
    EXPECT_EQ(p.gpu_samples, f.gpu_samples);
    EXPECT_EQ(p.served, f.served);
    EXPECT_EQ(p.refused, f.refused);
    EXPECT_EQ(p.failed, f.failed);
    EXPECT_EQ(p.first_ts_us, f.first_ts_us);
    EXPECT_EQ(p.last_ts_us, f.last_ts_us);
    EXPECT_EQ(p.max_batch_size, f.max_batch_size);
    EXPECT_EQ(p.max_queue_len, f.max_queue_len);
    q(p.refused_total_p99_ms, f.refused_total_p99_ms, "refused p99");
    q(p.mean_batch_size, f.mean_batch_size, "mean batch size");
    ASSERT_EQ(p.errors_by_status.size(), f.errors_by_status.size());
    for (size_t i = 0; i < f.errors_by_status.size(); ++i) {
      EXPECT_EQ(p.errors_by_status[i].key, f.errors_by_status[i].key);
      EXPECT_EQ(p.errors_by_status[i].count, f.errors_by_status[i].count);
    }
    ASSERT_EQ(pushed.stages.size(), pulled.stages.size());
    for (size_t i = 0; i < pulled.stages.size(); ++i) {
      const StageSummary &a = pushed.stages[i], &b = pulled.stages[i];
      EXPECT_EQ(a.stage, b.stage);
      EXPECT_EQ(a.count, b.count) << b.stage;
      EXPECT_DOUBLE_EQ(a.max_ms, b.max_ms) << b.stage;
      EXPECT_TRUE(near(a.mean_ms, b.mean_ms, 1e-9)) << b.stage;
      for (auto [x, y] :
           {std::pair{a.p50_ms, b.p50_ms}, {a.p90_ms, b.p90_ms}, {a.p99_ms, b.p99_ms}})
        EXPECT_TRUE(near(x, y, kBucket)) << b.stage << ": " << x << " vs " << y;
    }
    auto groups = [&](const std::vector<GroupSummary>& a, const std::vector<GroupSummary>& b) {
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < b.size(); ++i) {
        EXPECT_EQ(a[i].name, b[i].name);
        EXPECT_EQ(a[i].requests, b[i].requests) << b[i].name;
        EXPECT_EQ(a[i].errors, b[i].errors) << b[i].name;
        q(a[i].total_p99_ms, b[i].total_p99_ms, b[i].name + " total p99");
        q(a[i].inference_p50_ms, b[i].inference_p50_ms, b[i].name + " inference p50");
        q(a[i].max_mem_used_mb, b[i].max_mem_used_mb, b[i].name + " memory");
        q(a[i].mean_gpu_util, b[i].mean_gpu_util, b[i].name + " utilisation");
      }
    };
    groups(p.by_gpu, f.by_gpu);
    groups(p.by_model, f.by_model);
    groups(p.by_replica, f.by_replica);
    ASSERT_EQ(pushed.baselines.size(), pulled.baselines.size());
    for (size_t i = 0; i < pulled.baselines.size(); ++i) {
      const BaselineEntry &a = pushed.baselines[i], &b = pulled.baselines[i];
      EXPECT_EQ(a.model, b.model);
      EXPECT_EQ(a.gpu_id, b.gpu_id);
      EXPECT_EQ(a.batch_size, b.batch_size);
      EXPECT_EQ(a.input_size, b.input_size);
      EXPECT_EQ(a.count, b.count);
      EXPECT_TRUE(near(a.p50_ms, b.p50_ms, kBucket)) << a.p50_ms << " vs " << b.p50_ms;
      EXPECT_TRUE(near(a.p99_ms, b.p99_ms, kBucket)) << a.p99_ms << " vs " << b.p99_ms;
      EXPECT_TRUE(near(a.steady_ms, b.steady_ms, 1e-9)) << a.steady_ms << " vs " << b.steady_ms;
    }
    // The time series: the same windows, counts, latencies, stage means and
    // inflation (and so the same change points).
    const TimeSeries &pt = pushed.time_series, &ft = pulled.time_series;
    EXPECT_EQ(pt.window_s, ft.window_s);
    ASSERT_EQ(pt.windows.size(), ft.windows.size());
    for (size_t i = 0; i < ft.windows.size(); ++i) {
      const WindowStats &a = pt.windows[i], &b = ft.windows[i];
      EXPECT_EQ(a.start_us, b.start_us);
      EXPECT_EQ(a.records, b.records) << i;
      EXPECT_EQ(a.requests, b.requests) << i;
      EXPECT_EQ(a.errors, b.errors) << i;
      EXPECT_EQ(a.rejections, b.rejections) << i;
      q(a.total_p99_ms, b.total_p99_ms, "window total p99");
      q(a.inference_p50_ms, b.inference_p50_ms, "window inference p50");
      q(a.queue_ms_mean, b.queue_ms_mean, "window queue mean");
      q(a.batch_size_mean, b.batch_size_mean, "window batch mean");
      q(a.inflation, b.inflation, "window inflation");
      ASSERT_EQ(a.stage_means_ms.size(), b.stage_means_ms.size()) << i;
      for (size_t j = 0; j < b.stage_means_ms.size(); ++j) {
        EXPECT_EQ(a.stage_means_ms[j].first, b.stage_means_ms[j].first);
        EXPECT_TRUE(near(a.stage_means_ms[j].second, b.stage_means_ms[j].second, 1e-9));
      }
    }
    ASSERT_EQ(pt.changes.size(), ft.changes.size());
    for (size_t i = 0; i < ft.changes.size(); ++i) {
      EXPECT_EQ(pt.changes[i].metric, ft.changes[i].metric);
      EXPECT_EQ(pt.changes[i].kind, ft.changes[i].kind);
      EXPECT_EQ(pt.changes[i].range.start_us, ft.changes[i].range.start_us);
    }
    // Not pushed down yet: the rules.
    EXPECT_TRUE(pushed.findings.empty());
    ASSERT_EQ(pushed.skipped_checks.size(), 1u);
    EXPECT_NE(pushed.skipped_checks[0].reason.find("pushdown=1"), std::string::npos);
  }

  static std::string Findings(const AnalysisReport& r) {
    std::string s;
    for (const Finding& f : r.findings) {
      s += std::string(SeverityName(f.severity)) + ":" + f.kind + " ";
    }
    return s;
  }

  static ClickHouseProcess* server_;
  static fs::path* log_;
};

ClickHouseProcess* ClickHouseFleetTest::server_ = nullptr;
fs::path* ClickHouseFleetTest::log_ = nullptr;

TEST_F(ClickHouseFleetTest, InitCreatesEveryTableAndIsIdempotent) {
  DbInitConfig init{server_->uri_text("init_db")};
  ASSERT_TRUE(RunDbInit(init).ok());
  ASSERT_TRUE(RunDbInit(init).ok());  // again: nothing to do, no error
  auto tables = Client(server_->uri_text("init_db"))
                    ->Execute(
                        "SELECT name FROM system.tables WHERE database = 'init_db' "
                        "ORDER BY name FORMAT TabSeparated");
  ASSERT_TRUE(tables.ok()) << tables.status().ToString();
  EXPECT_EQ(*tables, "batches\ngpu\nother\nrequests\n");
}

TEST_F(ClickHouseFleetTest, LoadIsExactlyOnceAndAnalyzeTellsTheSameStoryAsTheFile) {
  const std::string uri = server_->uri_text("fleet1");
  ASSERT_TRUE(RunDbInit({uri}).ok());
  DbLoadConfig load;
  load.uri = uri;
  load.files = {log_->string()};
  load.host = "edge-1";
  load.replica = "r1";
  load.block_rows = 7000;  // several blocks per table
  auto first = RunDbLoad(load);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const int64_t lines = Lines(*log_);
  EXPECT_EQ(first->lines, lines);
  EXPECT_EQ(first->rows_inserted, lines);
  EXPECT_EQ(first->malformed_lines, 0);
  const int64_t in_db = Count("fleet1", "requests") + Count("fleet1", "batches") +
                        Count("fleet1", "gpu") + Count("fleet1", "other");
  EXPECT_EQ(in_db, lines);

  // The same file again (a retried job): every block is recognised.
  auto again = RunDbLoad(load);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->rows_inserted, 0);
  EXPECT_EQ(again->rows_already_present, lines);
  EXPECT_EQ(Count("fleet1", "requests") + Count("fleet1", "batches") + Count("fleet1", "gpu") +
                Count("fleet1", "other"),
            lines);

  // The origin columns.
  auto origin = Client(uri)->Execute(
      "SELECT DISTINCT host, replica FROM fleet1.requests FORMAT TabSeparated");
  ASSERT_TRUE(origin.ok());
  EXPECT_EQ(*origin, "edge-1\tr1\n");

  const AnalysisReport from_file = Analyze(log_->string());
  const AnalysisReport from_db = Analyze(uri);
  EXPECT_EQ(from_db.summary.records, from_file.summary.records);
  EXPECT_EQ(from_db.summary.requests, from_file.summary.requests);
  EXPECT_EQ(from_db.summary.served, from_file.summary.served);
  EXPECT_EQ(from_db.summary.refused, from_file.summary.refused);
  EXPECT_EQ(Findings(from_db), Findings(from_file));
  EXPECT_NE(Findings(from_file).find("queue_saturation"), std::string::npos) << Findings(from_file);
  ASSERT_EQ(from_db.stages.size(), from_file.stages.size());
  for (size_t i = 0; i < from_file.stages.size(); ++i) {
    EXPECT_EQ(from_db.stages[i].stage, from_file.stages[i].stage);
    EXPECT_EQ(from_db.stages[i].count, from_file.stages[i].count);
    EXPECT_DOUBLE_EQ(from_db.stages[i].p99_ms, from_file.stages[i].p99_ms);
  }
}

// The histogram bucket computed in SQL is LatencyHistogram::BucketIndex, at
// and around every bucket edge (the values go in as their bits: no float
// parsing in between).
TEST_F(ClickHouseFleetTest, PushDownBucketSqlIsTheHistogramsBucketIndex) {
  std::vector<double> values = {0,    1e-9, 0.0009999,   0.001,       0.5,         1,
                                7.25, 1e3,  4294967.295, 4294967.296, 4294967.297, 1e7};
  for (int e = 0; e < 33; ++e) {
    for (int k = 0; k < 128; k += 5) {
      const double us = std::ldexp(1.0 + k / 128.0, e);
      for (double v : {us, std::nextafter(us, 0.0), std::nextafter(us, 1e300)})
        values.push_back(v / 1000.0);
    }
  }
  std::string list;
  for (double v : values) {
    if (!list.empty()) list += ", ";
    list += std::to_string(std::bit_cast<uint64_t>(v));
  }
  const std::string x = "reinterpretAsFloat64(reinterpretAsString(toUInt64(bits)))";
  auto r = Client(server_->uri_text("default"))
               ->Execute("SELECT " + ClickHousePushDown::BucketSql(x, 7) + ", " +
                         ClickHousePushDown::BucketSql(x, 4) + " FROM (SELECT arrayJoin([" + list +
                         "]) AS bits) FORMAT TabSeparated");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::istringstream in(*r);
  const LatencyHistogram fine(LatencyHistogram::kFineBits), coarse(LatencyHistogram::kCoarseBits);
  for (double v : values) {
    int a = -1, b = -1;
    ASSERT_TRUE(in >> a >> b);
    EXPECT_EQ(a, fine.BucketIndex(v)) << v;
    EXPECT_EQ(b, coarse.BucketIndex(v)) << v;
  }
}

TEST_F(ClickHouseFleetTest, PushDownGivesTheNumbersOfTheRecords) {
  // A log with failed requests too (an error burst).
  const fs::path log = Generate(31, 20000, "error_burst@30+10");
  const std::string uri = server_->uri_text("fleet_pd");
  ASSERT_TRUE(RunDbInit({uri}).ok());
  DbLoadConfig load;
  load.uri = uri;
  load.files = {log.string()};
  load.host = "edge-1";
  load.replica = "r1";
  load.block_rows = 7000;
  ASSERT_TRUE(RunDbLoad(load).ok());
  const AnalysisReport pulled = Analyze(uri);
  const AnalysisReport pushed = Analyze(server_->uri_text("fleet_pd", "pushdown=1"));
  EXPECT_GT(pulled.summary.refused + pulled.summary.failed, 100);
  EXPECT_NE(Findings(pulled).find("error_burst"), std::string::npos) << Findings(pulled);
  ExpectSameAggregates(pushed, pulled);
  // On the current schema no statement reads `record` (decode/h2d/d2h and
  // the device fields have columns).
  const std::vector<std::string> sql =
      PushDownStatements(server_->uri_text("fleet_pd", "pushdown=1"));
  for (const std::string& statement : sql) {
    EXPECT_EQ(statement.find("record"), std::string::npos) << statement;
  }
  EXPECT_NE(std::find_if(sql.begin(), sql.end(),
                         [](const std::string& st) {
                           return st.find("ifNull(decode_ms, -1)") != std::string::npos &&
                                  st.find("ifNull(gpu_util, -1)") != std::string::npos;
                         }),
            sql.end());
  // Against the file: the same, but a plain log has no replica.
  AnalysisReport from_file = Analyze(log.string());
  from_file.summary.by_replica = pulled.summary.by_replica;
  ExpectSameAggregates(pushed, from_file);
  // since/until and where= apply to the statements as to the records.
  const std::string since = std::to_string(*pulled.summary.first_ts_us / 1'000'000 + 50);
  const AnalysisReport late = Analyze(server_->uri_text("fleet_pd", "since=" + since));
  ExpectSameAggregates(Analyze(server_->uri_text("fleet_pd", "since=" + since + "&pushdown=1")),
                       late);
  EXPECT_LT(late.summary.requests, pulled.summary.requests);
  // A malformed pushdown value is refused by name.
  AnalyzeOptions o;
  o.paths = {server_->uri_text("fleet_pd", "pushdown=yes")};
  auto bad = AnalyzeCommand(o).Analyze();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("pushdown must be 0 or 1"), std::string::npos);
  fs::remove(log);
}

// A database made by the first `db init` (no late columns): `db load`
// names the columns it has, push-down reads the six request fields from
// `record`; `db init` adds the columns (the old rows' values computed from
// `record` by their DEFAULTs) and push-down then reads none of `record`,
// with the same numbers throughout.
TEST_F(ClickHouseFleetTest, AnOldSchemaIsUpgradedByDbInitAndAnalyzedWithTheSameNumbers) {
  const std::string uri = server_->uri_text("old_schema");
  const std::string pushdown = server_->uri_text("old_schema", "pushdown=1");
  CreateFirstSchema(uri, "old_schema");
  DbLoadConfig load;
  load.uri = uri;
  load.files = {log_->string()};
  load.host = "edge-1";
  load.replica = "r1";
  load.block_rows = 7000;
  auto loaded = RunDbLoad(load);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const int64_t lines = Lines(*log_);
  EXPECT_EQ(loaded->rows_inserted, lines);
  EXPECT_EQ(ColumnsOf(uri, "old_schema", "requests").find("decode_ms"), std::string::npos);

  const AnalysisReport pulled = Analyze(uri);
  const AnalysisReport pushed_old = Analyze(pushdown);
  ExpectSameAggregates(pushed_old, pulled);
  EXPECT_EQ(ReadingRecord(PushDownStatements(pushdown)), 1);  // the per-stage statement
  // The old table has no decode_ms column; the record has the values.
  const auto decode = std::find_if(pulled.stages.begin(), pulled.stages.end(),
                                   [](const StageSummary& st) { return st.stage == "decode"; });
  ASSERT_NE(decode, pulled.stages.end());
  EXPECT_GT(decode->count, 0);

  DbInitResult init;
  ASSERT_TRUE(RunDbInit({uri}, &init).ok());
  EXPECT_EQ(init.columns_added, (std::vector<std::string>{
                                    "old_schema.requests.decode_ms", "old_schema.requests.h2d_ms",
                                    "old_schema.requests.d2h_ms", "old_schema.requests.mem_used_mb",
                                    "old_schema.requests.mem_total_mb",
                                    "old_schema.requests.gpu_util", "old_schema.batches.busy_ms"}));
  DbInitResult again;
  ASSERT_TRUE(RunDbInit({uri}, &again).ok());
  EXPECT_TRUE(again.columns_added.empty());
  // The upgraded tables have the columns, in the order of new ones.
  const std::string fresh = server_->uri_text("new_schema");
  ASSERT_TRUE(RunDbInit({fresh}).ok());
  for (const char* table : {"requests", "batches", "gpu", "other"}) {
    EXPECT_EQ(ColumnsOf(uri, "old_schema", table), ColumnsOf(fresh, "new_schema", table)) << table;
  }
  // The rows loaded before read the record's values: as many decode_ms and
  // gpu_util as the file's request lines have, and the same sums.
  int64_t with_decode = 0, with_util = 0;
  {
    std::ifstream in(*log_);
    for (std::string line; std::getline(in, line);) {
      if (line.find("\"event\":\"request\"") == std::string::npos) continue;
      with_decode += line.find("\"decode_ms\":") != std::string::npos;
      with_util += line.find("\"gpu_util\":") != std::string::npos;
    }
  }
  EXPECT_GT(with_decode, 0);
  auto counts = Client(uri)->Execute(
      "SELECT countIf(decode_ms IS NOT NULL), countIf(gpu_util IS NOT NULL), "
      "countIf(abs(assumeNotNull(decode_ms) - visitParamExtractFloat(record, 'decode_ms')) > "
      "1e-12) FROM old_schema.requests FORMAT TabSeparated");
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(*counts, std::to_string(with_decode) + "\t" + std::to_string(with_util) + "\t0\n");

  // Push-down on the upgraded tables: no statement reads `record`, the same
  // numbers as the pull and as before the upgrade.
  for (const std::string& st : PushDownStatements(pushdown)) {
    EXPECT_EQ(st.find("record"), std::string::npos) << st;
  }
  ExpectSameAggregates(Analyze(pushdown), pulled);
  ExpectSameAggregates(Analyze(pushdown), pushed_old);

  // More rows after the upgrade (a second replica): written with the
  // columns, and the whole table still agrees with the pull.
  load.replica = "r2";
  auto more = RunDbLoad(load);
  ASSERT_TRUE(more.ok()) << more.status().ToString();
  EXPECT_EQ(more->rows_inserted, lines);
  auto both = Client(uri)->Execute(
      "SELECT countIf(decode_ms IS NOT NULL) FROM old_schema.requests FORMAT TabSeparated");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(*both, std::to_string(2 * with_decode) + "\n");
  const AnalysisReport pulled2 = Analyze(uri);
  EXPECT_EQ(pulled2.summary.requests, 2 * pulled.summary.requests);
  ExpectSameAggregates(Analyze(pushdown), pulled2);
}

// Tables that `db init` cannot bring to the schema: refused, naming the
// table and the column, and nothing altered.
TEST_F(ClickHouseFleetTest, SchemaDriftThatCannotBeUpgradedIsRefusedByName) {
  const std::string uri = server_->uri_text("drifted");
  CreateFirstSchema(uri, "drifted");
  ASSERT_TRUE(Client(uri)->Execute("ALTER TABLE drifted.requests DROP COLUMN status").ok());
  Status init = RunDbInit({uri});
  EXPECT_EQ(init.code(), StatusCode::kFailedPrecondition) << init.ToString();
  EXPECT_NE(init.message().find("table drifted.requests has no column status String"),
            std::string::npos)
      << init.message();
  EXPECT_EQ(ColumnsOf(uri, "drifted", "requests").find("decode_ms"), std::string::npos);
  EXPECT_EQ(ColumnsOf(uri, "drifted", "batches").find("busy_ms"), std::string::npos);
  // db load and push-down say the same before touching the rows.
  DbLoadConfig load;
  load.uri = uri;
  load.files = {log_->string()};
  auto loaded = RunDbLoad(load);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("drifted.requests has no column status"),
            std::string::npos)
      << loaded.status().ToString();
  EXPECT_EQ(Count("drifted", "batches"), 0);
  LogAggregator agg;
  Status pushed = ClickHousePushDown::Fill(
      *ClickHouseUri::Parse(server_->uri_text("drifted", "pushdown=1")), &agg);
  EXPECT_NE(pushed.message().find("drifted.requests has no column status"), std::string::npos)
      << pushed.ToString();
  // A late column of another type.
  const std::string uri2 = server_->uri_text("drifted2");
  CreateFirstSchema(uri2, "drifted2");
  ASSERT_TRUE(
      Client(uri2)->Execute("ALTER TABLE drifted2.batches ADD COLUMN busy_ms Float64").ok());
  Status typed = RunDbInit({uri2});
  EXPECT_EQ(typed.code(), StatusCode::kFailedPrecondition) << typed.ToString();
  EXPECT_NE(typed.message().find("drifted2.batches: column busy_ms is Float64"), std::string::npos)
      << typed.message();
  EXPECT_EQ(ColumnsOf(uri2, "drifted2", "requests").find("decode_ms"), std::string::npos);
}

TEST_F(ClickHouseFleetTest, TimeBoundsAndConditionsSelectASubset) {
  const std::string uri = server_->uri_text("fleet2");
  ASSERT_TRUE(RunDbInit({uri}).ok());
  DbLoadConfig load;
  load.uri = uri;
  load.files = {log_->string()};
  ASSERT_TRUE(RunDbLoad(load).ok());
  const AnalysisReport all = Analyze(uri);
  ASSERT_TRUE(all.summary.first_ts_us && all.summary.last_ts_us);
  const int64_t mid = (*all.summary.first_ts_us + *all.summary.last_ts_us) / 2;
  auto expected = Client(uri)->Execute("SELECT count() FROM fleet2.requests WHERE ts_us >= " +
                                       std::to_string(mid));
  ASSERT_TRUE(expected.ok());
  char since[32];
  std::snprintf(since, sizeof(since), "%.6f", static_cast<double>(mid) / 1e6);
  const AnalysisReport late = Analyze(server_->uri_text("fleet2", std::string("since=") + since));
  EXPECT_EQ(late.summary.requests, std::atoll(expected->c_str()));
  EXPECT_GT(late.summary.requests, 0);
  EXPECT_LT(late.summary.requests, all.summary.requests);
  // A condition nothing matches: a clear error, as for an empty file.
  AnalyzeOptions o;
  o.paths = {server_->uri_text("fleet2", "where=model+%3D+%27no-such-model%27")};
  auto none = AnalyzeCommand(o).Analyze();
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no usable records"), std::string::npos)
      << none.status().ToString();
}

TEST_F(ClickHouseFleetTest, FaultsGiveClearErrors) {
  // A refused password.
  Status auth = RunDbInit(
      {"clickhouse://ops:wrong@127.0.0.1:" + std::to_string(server_->http_port()) + "/x"});
  EXPECT_EQ(auth.code(), StatusCode::kFailedPrecondition) << auth.ToString();
  EXPECT_NE(auth.message().find("refused user 'ops'"), std::string::npos) << auth.message();
  EXPECT_EQ(auth.message().find("wrong"), std::string::npos) << "the password is never echoed";
  // The right one works.
  EXPECT_TRUE(RunDbInit({"clickhouse://ops:secret@127.0.0.1:" +
                         std::to_string(server_->http_port()) + "/ops_db"})
                  .ok());
  // No schema yet.
  AnalyzeOptions o;
  o.paths = {server_->uri_text("never_created")};
  auto missing = AnalyzeCommand(o).Analyze();
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("yoloscope db init"), std::string::npos)
      << missing.status().ToString();
  // Nobody listening.
  const int dead = testing::FreeTcpPort();
  Status down = RunDbInit({"clickhouse://127.0.0.1:" + std::to_string(dead) + "/x"});
  EXPECT_EQ(down.code(), StatusCode::kUnavailable) << down.ToString();
  EXPECT_NE(down.message().find("cannot reach ClickHouse at 127.0.0.1:" + std::to_string(dead)),
            std::string::npos)
      << down.message();
  // A malformed URI.
  o.paths = {"clickhouse://127.0.0.1:0/x"};
  auto bad = AnalyzeCommand(o).Analyze();
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

// The commands through the real binary: output, exit codes, messages.
TEST_F(ClickHouseFleetTest, DbCommandsThroughTheBinary) {
  const fs::path out = fs::temp_directory_path() / ("ys_fleet_cli_" + std::to_string(getpid()));
  auto run = [&](const std::string& args) {
    const std::string cmd =
        std::string(YOLOSCOPE_BINARY) + " " + args + " > " + out.string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream in(out);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return std::make_pair(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, text);
  };
  const std::string uri = server_->uri_text("cli_db");
  auto [init_rc, init_out] = run("db init " + uri);
  EXPECT_EQ(init_rc, 0) << init_out;
  const std::string n = std::to_string(Lines(*log_));
  auto [load_rc, load_out] = run("db load " + uri + " " + log_->string() + " --replica cli");
  EXPECT_EQ(load_rc, 0) << load_out;
  EXPECT_NE(load_out.find(n + " lines: " + n + " rows inserted, 0 already present"),
            std::string::npos)
      << load_out;
  auto [again_rc, again_out] = run("db load " + uri + " " + log_->string() + " --replica cli");
  EXPECT_EQ(again_rc, 0) << again_out;
  EXPECT_NE(again_out.find("0 rows inserted, " + n + " already present"), std::string::npos)
      << again_out;
  auto [an_rc, an_out] = run("analyze --format json " + uri);
  EXPECT_EQ(an_rc, 0) << an_out.substr(0, 500);
  EXPECT_NE(an_out.find("queue_saturation"), std::string::npos);
  auto [bad_rc, bad_out] = run("db init clickhouse://127.0.0.1:99999/x");
  EXPECT_EQ(bad_rc, 2) << bad_out;
  EXPECT_NE(bad_out.find("port must be 1..65535"), std::string::npos) << bad_out;
  auto [sink_rc, sink_out] =
      run("serve --backend sim --model " + std::string(YOLOSCOPE_SOURCE_DIR) +
          "/bench/server/fast-sim.yaml --no-log --log-sink " + uri + " --port 0 --grpc-port -1");
  EXPECT_EQ(sink_rc, 2) << sink_out;
  EXPECT_NE(sink_out.find("the log is the sink's spool"), std::string::npos) << sink_out;
  fs::remove(out);
}

// Two clickhouse-server processes as the two shards of cluster `fleet`, three
// replicas' logs loaded through the Distributed tables: `analyze` over the
// cluster equals `analyze` over the union of the three files.
TEST_F(ClickHouseFleetTest, TwoShardsThreeReplicasGiveTheSameDiagnosisAsTheirFiles) {
  const int tcp1 = testing::FreeTcpPort(), tcp2 = testing::FreeTcpPort();
  const std::string cluster =
      "<remote_servers><fleet><shard><replica><host>127.0.0.1</host><port>" + std::to_string(tcp1) +
      "</port></replica></shard><shard><replica><host>127.0.0.1</host>"
      "<port>" +
      std::to_string(tcp2) + "</port></replica></shard></fleet></remote_servers>";
  ClickHouseProcess shard1("shard1", cluster, 0, tcp1);
  ClickHouseProcess shard2("shard2", cluster, 0, tcp2);
  ASSERT_TRUE(shard1.ok()) << shard1.server_log();
  ASSERT_TRUE(shard2.ok()) << shard2.server_log();
  // The tables of the first schema on both shards (local + Distributed);
  // the first replica's log goes in before `db init` upgrades them.
  CreateFirstSchema(shard1.uri_text("fleet"), "fleet", "fleet");
  CreateFirstSchema(shard2.uri_text("fleet"), "fleet", "fleet");

  std::vector<std::string> files;
  int64_t lines = 0;
  const std::pair<uint64_t, const char*> replicas[] = {
      {21, "queue_saturation@20+15"}, {22, ""}, {23, ""}};
  for (size_t i = 0; i < 3; ++i) {
    const fs::path log = Generate(replicas[i].first, 6000, replicas[i].second);
    files.push_back(log.string());
    lines += Lines(log);
    DbLoadConfig load;
    load.uri = shard1.uri_text("fleet");
    load.files = {log.string()};
    // The third host's name needs escaping in JSON (a quote, a backslash).
    load.host = i == 2 ? std::string("edge-3 \"b\\") : "edge-" + std::to_string(i + 1);
    load.replica = "r" + std::to_string(i + 1);
    load.block_rows = 2500;
    auto r = RunDbLoad(load);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->rows_inserted, Lines(log));
    if (i == 0) {
      // db init on every shard (18.16 has no ON CLUSTER without ZooKeeper):
      // each shard's local and Distributed tables get the late columns.
      for (const ClickHouseProcess* shard : {&shard1, &shard2}) {
        DbInitResult init;
        ASSERT_TRUE(RunDbInit({shard->uri_text("fleet", "cluster=fleet")}, &init).ok());
        ASSERT_EQ(init.columns_added.size(), 14u);
        EXPECT_EQ(init.columns_added[0], "fleet.requests_local.decode_ms");
        EXPECT_EQ(init.columns_added[13], "fleet.batches.busy_ms");
        for (const char* table : {"requests_local", "requests"}) {
          EXPECT_NE(ColumnsOf(shard->uri_text("fleet"), "fleet", table).find("gpu_util\tNullable"),
                    std::string::npos)
              << table;
        }
      }
    }
  }
  // Rows went to both shards, and all arrived.
  auto local_rows = [&](const ClickHouseProcess& shard) {
    int64_t n = 0;
    for (const char* t : {"requests_local", "batches_local", "gpu_local", "other_local"}) {
      auto r =
          Client(shard.uri_text("fleet"))->Execute(std::string("SELECT count() FROM fleet.") + t);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      n += r.ok() ? std::atoll(r->c_str()) : 0;
    }
    return n;
  };
  const int64_t on1 = local_rows(shard1), on2 = local_rows(shard2);
  EXPECT_GT(on1, 0);
  EXPECT_GT(on2, 0);
  EXPECT_EQ(on1 + on2, lines);

  const AnalysisReport from_files = Analyze(files);
  const AnalysisReport from_cluster = Analyze(shard2.uri_text("fleet"));  // any shard answers
  EXPECT_EQ(from_cluster.summary.records, from_files.summary.records);
  EXPECT_EQ(from_cluster.summary.requests, from_files.summary.requests);
  EXPECT_EQ(from_cluster.summary.served, from_files.summary.served);
  EXPECT_EQ(Findings(from_cluster), Findings(from_files));
  ASSERT_EQ(from_cluster.stages.size(), from_files.stages.size());
  for (size_t i = 0; i < from_files.stages.size(); ++i) {
    EXPECT_EQ(from_cluster.stages[i].count, from_files.stages[i].count);
    EXPECT_DOUBLE_EQ(from_cluster.stages[i].p99_ms, from_files.stages[i].p99_ms);
  }
  // The breakdown by replica: each one's requests are its file's.
  ASSERT_EQ(from_cluster.summary.by_replica.size(), 3u);
  EXPECT_TRUE(from_files.summary.by_replica.empty());  // a plain log has no origin
  for (size_t i = 0; i < 3; ++i) {
    const std::string name =
        (i == 2 ? std::string("edge-3 \"b\\") : "edge-" + std::to_string(i + 1)) + "/r" +
        std::to_string(i + 1);
    const GroupSummary& g = from_cluster.summary.by_replica[i];
    EXPECT_EQ(g.name, name);
    EXPECT_EQ(g.requests, Analyze(files[i]).summary.requests) << name;
  }
  // One replica: the where= condition on the origin columns.
  // Pushed down to the cluster (through the Distributed tables): the same
  // numbers, and the three replicas.
  ExpectSameAggregates(Analyze(shard1.uri_text("fleet", "pushdown=1")), from_cluster);
  EXPECT_EQ(ReadingRecord(PushDownStatements(shard2.uri_text("fleet", "pushdown=1"))), 0);
  const AnalysisReport r2 = Analyze(shard1.uri_text("fleet", "where=replica+%3D+%27r2%27"));
  const AnalysisReport file2 = Analyze(files[1]);
  EXPECT_EQ(r2.summary.requests, file2.summary.requests);
  for (const std::string& f : files) fs::remove(f);
}

}  // namespace
}  // namespace yoloscope
