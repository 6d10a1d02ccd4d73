// serve's ClickHouse sink (--log-sink) against a real clickhouse-server:
// records shipped from the request log, ClickHouse killed for a while and
// restarted, and every request id in ClickHouse exactly once afterwards.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "analyzer/db_command.h"
#include "fleet/clickhouse_client.h"
#include "fleet/clickhouse_loader.h"
#include "fleet/clickhouse_process.h"
#include "fleet/clickhouse_schema.h"
#include "fleet/clickhouse_shipper.h"
#include "fleet/first_fleet_schema.h"
#include "http/test_http_client.h"
#include "server/inference_server.h"
#include "testing/test_models.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;
using testing::ClickHouseProcess;
using testing::TestHttpClient;

class ClickHouseSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(testing::kClickHouseServer)) {
      GTEST_SKIP() << testing::kClickHouseServer << " is not installed (scripts/setup.sh)";
    }
    dir_ = fs::temp_directory_path() / ("ys_sink_" + std::to_string(getpid()));
    fs::create_directories(dir_);
    clickhouse_ = std::make_unique<ClickHouseProcess>("sink");
    ASSERT_TRUE(clickhouse_->ok()) << clickhouse_->server_log();
    uri_ = clickhouse_->uri_text("sinkdb");
    ASSERT_TRUE(RunDbInit({uri_}).ok());
    config_.service.backend.kind = "sim";
    config_.service.backend.model_path =
        std::string(YOLOSCOPE_SOURCE_DIR) + "/bench/server/fast-sim.yaml";
    config_.http.port = 0;
    config_.grpc.port = 0;
    config_.grpc.enabled = false;
    config_.log.path = (dir_ / "requests.jsonl").string();
    config_.log.sink = uri_;
    config_.log.replica = "r7";
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::seconds(10));
    server_.reset();
    clickhouse_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Serves config_ (set what a test needs first).
  void StartServer() {
    auto s = InferenceServer::Create(config_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
    ASSERT_TRUE(server_->Start().ok());
  }

  void Send(int n, const std::string& prefix) {
    auto c = TestHttpClient::Connect(server_->port(), "127.0.0.1", std::chrono::seconds(30));
    ASSERT_TRUE(c.ok());
    const std::string jpeg = testing::ReadFileBytes(testing::PhotosDir() + "/dog.jpg");
    for (int i = 0; i < n; ++i) {
      auto r = c->Request(
          "POST", "/v1/detect", jpeg,
          {{"Content-Type", "image/jpeg"}, {"X-Request-Id", prefix + std::to_string(i)}});
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(r->status, 200) << r->body;
    }
  }

  // request_id -> rows in ClickHouse.
  std::map<std::string, int> RowsById() {
    auto client = ClickHouseClient::Create(*ClickHouseUri::Parse(uri_), {});
    auto r = (*client)->Execute(
        "SELECT request_id, count() FROM sinkdb.requests GROUP BY request_id FORMAT TabSeparated");
    std::map<std::string, int> out;
    if (!r.ok()) return out;
    std::istringstream in(*r);
    std::string id;
    int n = 0;
    while (in >> id >> n) out[id] = n;
    return out;
  }

  std::string Metrics() {
    auto c = TestHttpClient::Connect(server_->port(), "127.0.0.1", std::chrono::seconds(30));
    auto r = c->Request("GET", "/metrics", "", {});
    return r.ok() ? r->body : "";
  }

  bool WaitFor(const std::function<bool()>& done, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
  }

  fs::path dir_;
  std::unique_ptr<ClickHouseProcess> clickhouse_;
  std::string uri_;
  ServeConfig config_;
  std::unique_ptr<InferenceServer> server_;
};

TEST_F(ClickHouseSinkTest, OutageIsBackFilledWithNoLossAndNoDuplicates) {
  ASSERT_NO_FATAL_FAILURE(StartServer());

  Send(30, "before-");
  ASSERT_TRUE(WaitFor([&] { return RowsById().size() == 30; }, std::chrono::seconds(30)))
      << RowsById().size();

  // ClickHouse goes away; serving goes on, the records wait in the log.
  clickhouse_->Kill();
  Send(40, "during-");
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string m = Metrics();
        return m.find("yoloscope_clickhouse_healthy 0") != std::string::npos;
      },
      std::chrono::seconds(30)))
      << Metrics();
  const std::string down = Metrics();
  EXPECT_EQ(down.find("yoloscope_clickhouse_spool_bytes 0\n"), std::string::npos) << down;
  EXPECT_EQ(down.find("yoloscope_clickhouse_insert_failures_total 0\n"), std::string::npos);

  // Back: the 40 are back-filled, then new ones flow again.
  clickhouse_->Launch();
  ASSERT_TRUE(clickhouse_->ok()) << clickhouse_->server_log();
  Send(20, "after-");
  ASSERT_TRUE(WaitFor([&] { return RowsById().size() == 90; }, std::chrono::seconds(60)))
      << RowsById().size();
  for (const auto& [id, n] : RowsById()) EXPECT_EQ(n, 1) << id;  // no duplicates
  const std::map<std::string, int> rows = RowsById();
  for (const char* prefix : {"before-", "during-", "after-"}) {
    const int n =
        std::string(prefix) == "during-" ? 40 : (std::string(prefix) == "before-" ? 30 : 20);
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(rows.count(prefix + std::to_string(i)), 1u) << prefix << i;
    }
  }
  EXPECT_TRUE(
      WaitFor([&] { return Metrics().find("yoloscope_clickhouse_healthy 1") != std::string::npos; },
              std::chrono::seconds(10)));

  // The rows carry the record as written and the replica.
  auto client = ClickHouseClient::Create(*ClickHouseUri::Parse(uri_), {});
  auto one = (*client)->Execute(
      "SELECT replica, record FROM sinkdb.requests WHERE request_id = 'during-7' FORMAT "
      "TabSeparatedRaw");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->substr(0, 3), "r7\t");
  auto record = nlohmann::json::parse(one->substr(3), nullptr, false);
  ASSERT_FALSE(record.is_discarded()) << *one;
  EXPECT_EQ(record.at("request_id"), "during-7");
  EXPECT_EQ(record.at("event"), "request");
}

// The shipper thread runs log.sink_nice nicer than serve (the thread's own
// nice in /proc, and the gauge) and still ships every record.
TEST_F(ClickHouseSinkTest, TheShipperThreadRunsNicerThanServingAndShipsEverything) {
  errno = 0;
  const int base = getpriority(PRIO_PROCESS, 0);
  ASSERT_EQ(errno, 0);
  const int want = std::min(19, base + 7);
  config_.log.sink_nice = 7;
  ASSERT_NO_FATAL_FAILURE(StartServer());
  Send(12, "nice-");
  ASSERT_TRUE(WaitFor([&] { return RowsById().size() == 12; }, std::chrono::seconds(30)))
      << RowsById().size();

  // /proc/self/task/TID/stat: field 19 is the nice value (fields counted
  // after the command name's closing parenthesis start at 3).
  int shipper_nice = -100, shippers = 0;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name != "ys-ch-shipper") continue;
    ++shippers;
    std::ifstream stat_file(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i) {
      if (i == 19) shipper_nice = std::stoi(field);
    }
  }
  ASSERT_EQ(shippers, 1);
  EXPECT_EQ(shipper_nice, want);
  EXPECT_NE(Metrics().find("yoloscope_clickhouse_shipper_nice " + std::to_string(want) + "\n"),
            std::string::npos)
      << Metrics();
  // Serving itself is not made nicer.
  errno = 0;
  EXPECT_EQ(getpriority(PRIO_PROCESS, 0), base);
}

TEST_F(ClickHouseSinkTest, ServeStartsWhileClickHouseIsDownAndTheSinkNeedsTheLog) {
  clickhouse_->Kill();
  ASSERT_NO_FATAL_FAILURE(StartServer());  // starts anyway: the log is the spool
  Send(5, "x-");
  server_->Shutdown(std::chrono::seconds(5));
  server_.reset();
  // The records are in the log, whole.
  std::ifstream in(config_.log.path);
  int requests = 0;
  for (std::string line; std::getline(in, line);) {
    requests += line.find("\"event\":\"request\"") != std::string::npos;
  }
  EXPECT_EQ(requests, 5);

  ServeConfig no_log = config_;
  no_log.log.enabled = false;
  auto refused = InferenceServer::Create(no_log);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("the log is the sink's spool"), std::string::npos)
      << refused.status().ToString();
  ServeConfig bad = config_;
  bad.log.sink = "clickhouse://h:0/db";
  auto bad_uri = InferenceServer::Create(bad);
  ASSERT_FALSE(bad_uri.ok());
  EXPECT_NE(bad_uri.status().message().find("log.sink (--log-sink)"), std::string::npos);
}

// A steady trickle (a request line every 50 ms for 2.5 s) is shipped in about
// one insert per insert_interval (1 s by default), not one per poll (200 ms):
// ClickHouse writes a part per table and insert, and on shared cores that
// work was most of the sink's cost. Every line still arrives.
TEST_F(ClickHouseSinkTest, ASteadyTrickleIsInsertedAboutOncePerInterval) {
  const std::string log = (dir_ / "trickle.jsonl").string();
  std::ofstream(log).close();
  ClickHouseShipperConfig sc;
  sc.uri = uri_;
  sc.log_path = log;
  sc.origin = FleetRowOrigin{"h1", "trickle"};
  ASSERT_EQ(sc.insert_interval, std::chrono::milliseconds(1000));
  auto shipper = ClickHouseShipper::Create(sc);
  ASSERT_TRUE(shipper.ok()) << shipper.status().ToString();
  (*shipper)->Start();
  constexpr int kLines = 50;
  for (int i = 0; i < kLines; ++i) {
    std::ofstream(log, std::ios::app)
        << "{\"event\":\"request\",\"ts\":\"2026-12-06T11:00:0" << i % 10
        << ".5Z\",\"request_id\":\"t-" << i << "\",\"status\":\"ok\",\"model\":\"m\"}\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(WaitFor([&] { return (*shipper)->stats().rows_shipped == kLines; },
                      std::chrono::seconds(30)));
  (*shipper)->Stop();
  // 2.5 s of lines: the first insert, about one a second, and the last.
  EXPECT_LE((*shipper)->stats().blocks_inserted, 5);
  EXPECT_GE((*shipper)->stats().blocks_inserted, 2);
  auto client = ClickHouseClient::Create(*ClickHouseUri::Parse(uri_), {});
  auto n = (*client)->Execute(
      "SELECT count(), uniqExact(request_id) FROM sinkdb.requests WHERE replica = 'trickle'");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, "50\t50\n");
}

// A block whose first attempt landed in part (an insert through a
// Distributed table that reached one shard and not the other), then a
// restart: the checkpoint names the block's extent, the shipper finds some
// of its rows there and sends exactly the others.
TEST_F(ClickHouseSinkTest, APartlyPresentBlockIsCompletedAfterARestart) {
  const std::string log = (dir_ / "partial.jsonl").string();
  std::string text;
  std::vector<std::string> lines;
  for (int i = 0; i < 12; ++i) {
    const bool batch = i % 4 == 3;
    lines.push_back(std::string("{\"event\":\"") + (batch ? "batch" : "request") +
                    "\",\"ts\":\"2026-12-06T10:00:0" + std::to_string(i % 10) + ".5Z\"," +
                    (batch ? "\"batch_id\":" + std::to_string(i)
                           : "\"request_id\":\"p-" + std::to_string(i) + "\",\"status\":\"200\"") +
                    ",\"model\":\"m\"}");
    text += lines.back() + "\n";
  }
  std::ofstream(log) << text;
  struct stat st;
  ASSERT_EQ(stat(log.c_str(), &st), 0);
  // The previous process had sent [0, size) and died before the answer.
  std::ofstream(log + ".clickhouse")
      << st.st_dev << ' ' << st.st_ino << " 0 " << text.size() << "\n";
  const FleetRowOrigin origin{"h1", "r1"};
  const std::string id =
      BlockIdHash("h1\x1fr1\x1f" + std::to_string(st.st_ino) + "\x1f" + lines[0]) + "-0-" +
      std::to_string(text.size()) + "-requests";
  std::string rows;
  for (int i : {0, 2, 5}) {  // three of its nine requests landed
    std::string line = lines[static_cast<size_t>(i)];
    const size_t n = line.size();
    line.append(ClickHouseSchema::kLinePadding, ' ');
    ASSERT_TRUE(
        ClickHouseSchema::AppendRowFromLine(std::string_view(line.data(), n), origin, id, &rows)
            .ok());
  }
  auto client = ClickHouseClient::Create(*ClickHouseUri::Parse(uri_), {});
  ASSERT_TRUE((*client)
                  ->Execute("INSERT INTO sinkdb.requests FORMAT JSONEachRow", rows,
                            "input_format_skip_unknown_fields=1")
                  .ok());

  ClickHouseShipperConfig sc;
  sc.uri = uri_;
  sc.log_path = log;
  sc.origin = origin;
  sc.block_lines = 5;  // fewer than the pending block: its extent must win
  auto shipper = ClickHouseShipper::Create(sc);
  ASSERT_TRUE(shipper.ok()) << shipper.status().ToString();
  (*shipper)->Start();
  ASSERT_TRUE(WaitFor(
      [&] {
        return (*shipper)->stats().lag_bytes == 0 && (*shipper)->stats().blocks_inserted == 1;
      },
      std::chrono::seconds(30)));
  (*shipper)->Stop();
  const ClickHouseShipperStats stats = (*shipper)->stats();
  EXPECT_EQ(stats.rows_already_present, 3);
  EXPECT_EQ(stats.rows_shipped, 9);
  EXPECT_EQ(stats.blocks_inserted, 1);
  const std::map<std::string, int> by_id = RowsById();
  EXPECT_EQ(by_id.size(), 9u);
  for (const auto& [request_id, n] : by_id) EXPECT_EQ(n, 1) << request_id;
  auto batches = (*client)->Execute("SELECT count(), uniqExact(block_id) FROM sinkdb.batches");
  ASSERT_TRUE(batches.ok());
  EXPECT_EQ(*batches, "3\t1\n");
  // The checkpoint moved past the block.
  std::ifstream in(log + ".clickhouse");
  uint64_t dev = 0, ino = 0;
  int64_t offset = 0, pending = -1;
  in >> dev >> ino >> offset;
  EXPECT_EQ(offset, static_cast<int64_t>(text.size()));
  EXPECT_FALSE(in >> pending);
}

// The sink writing into tables of the first schema (no late columns): every
// record is shipped (no failed inserts), with the columns the tables have;
// `db init` adds the columns while it runs (its inserts, which do not name
// them, get them from `record` through their DEFAULTs); after a restart it
// names them. Every row's typed columns equal its record's values, and a
// field a record does not have stays NULL.
TEST_F(ClickHouseSinkTest, ASinkIntoTablesOfAnOlderSchemaShipsEveryRecord) {
  const std::string uri = clickhouse_->uri_text("oldsink");
  auto client = std::move(ClickHouseClient::Create(*ClickHouseUri::Parse(uri), {})).value();
  for (const std::string& sql : testing::FirstFleetSchemaStatements("oldsink")) {
    ASSERT_TRUE(client->Execute(sql).ok()) << sql;
  }
  const std::string log = (dir_ / "old.jsonl").string();
  // Request i: decode_ms i + 0.5, h2d 0.25, d2h 0.125, memory, and gpu_util
  // except every 5th; every 4th line a batch record with busy_ms i / 4.
  double decode_sum = 0, busy_sum = 0;
  int64_t requests = 0, batches = 0, without_util = 0;
  auto append = [&](int from, int to) {
    std::ofstream out(log, std::ios::app);
    for (int i = from; i < to; ++i) {
      const std::string ts = "\"ts\":\"2026-12-06T10:00:" + std::to_string(10 + i % 50) + ".5Z\"";
      if (i % 4 == 3) {
        out << "{\"event\":\"batch\"," << ts << ",\"batch_id\":" << i
            << ",\"batch_size\":2,\"model\":\"m\",\"inference_ms\":4,\"busy_ms\":" << i * 0.25
            << "}\n";
        busy_sum += i * 0.25;
        ++batches;
        continue;
      }
      out << "{\"event\":\"request\"," << ts << ",\"request_id\":\"o-" << i
          << "\",\"status\":\"200\",\"model\":\"m\",\"total_ms\":9,\"decode_ms\":" << i + 0.5
          << ",\"h2d_ms\":0.25,\"d2h_ms\":0.125,\"mem_used_mb\":100,\"mem_total_mb\":1000"
          << (i % 5 == 0 ? std::string() : ",\"gpu_util\":" + std::to_string(i % 100)) << "}\n";
      decode_sum += i + 0.5;
      ++requests;
      without_util += i % 5 == 0;
    }
  };
  auto rows = [&] {
    auto r = client->Execute(
        "SELECT (SELECT count() FROM oldsink.requests) + (SELECT count() FROM oldsink.batches)");
    return r.ok() ? std::atoll(r->c_str()) : -1;
  };
  std::mutex mu;
  std::vector<std::string> warnings;
  ClickHouseShipperConfig sc;
  sc.uri = uri;
  sc.log_path = log;
  sc.origin = {"h1", "r1"};
  sc.warn = [&](const std::string& w) {
    std::lock_guard<std::mutex> lock(mu);
    warnings.push_back(w);
  };

  append(0, 40);
  auto first = ClickHouseShipper::Create(sc);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  (*first)->Start();
  ASSERT_TRUE(WaitFor([&] { return rows() == 40; }, std::chrono::seconds(30))) << rows();
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_FALSE(warnings.empty());
    EXPECT_NE(warnings[0].find("(oldsink.batches without busy_ms; oldsink.requests without "
                               "decode_ms, h2d_ms, d2h_ms, mem_used_mb, mem_total_mb, gpu_util)"),
              std::string::npos)
        << warnings[0];
  }
  // The columns are added while the sink runs; its inserts go on.
  DbInitResult init;
  ASSERT_TRUE(RunDbInit({uri}, &init).ok());
  EXPECT_EQ(init.columns_added.size(), 7u);
  append(40, 80);
  ASSERT_TRUE(WaitFor([&] { return rows() == 80; }, std::chrono::seconds(30))) << rows();
  (*first)->Stop();
  EXPECT_EQ((*first)->stats().insert_failures, 0);
  EXPECT_EQ((*first)->stats().rows_shipped, 80);

  // A restart: the shipper reads the columns again and names them.
  auto second = ClickHouseShipper::Create(sc);
  ASSERT_TRUE(second.ok());
  (*second)->Start();
  append(80, 120);
  ASSERT_TRUE(WaitFor([&] { return rows() == 120; }, std::chrono::seconds(30))) << rows();
  (*second)->Stop();
  EXPECT_EQ((*second)->stats().insert_failures, 0);
  EXPECT_EQ((*second)->stats().rows_shipped, 40);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(warnings.size(), 1u) << warnings.back();  // nothing missing after the restart
  }

  // Every record once; the typed columns hold the records' values.
  auto r = client->Execute(
      "SELECT count(), uniqExact(request_id), sum(decode_ms), countIf(h2d_ms = 0.25), "
      "countIf(d2h_ms = 0.125), countIf(mem_used_mb = 100 AND mem_total_mb = 1000), "
      "countIf(gpu_util IS NULL), countIf(gpu_util = visitParamExtractFloat(record, 'gpu_util')) "
      "FROM oldsink.requests FORMAT TabSeparated");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::istringstream in(*r);
  int64_t n = 0, ids = 0, h2d = 0, d2h = 0, mem = 0, null_util = 0, util = 0;
  double decode = 0;
  ASSERT_TRUE(in >> n >> ids >> decode >> h2d >> d2h >> mem >> null_util >> util) << *r;
  EXPECT_EQ(n, requests);
  EXPECT_EQ(ids, requests);
  EXPECT_DOUBLE_EQ(decode, decode_sum);
  EXPECT_EQ(h2d, requests);
  EXPECT_EQ(d2h, requests);
  EXPECT_EQ(mem, requests);
  EXPECT_EQ(null_util, without_util);
  EXPECT_GT(without_util, 0);
  EXPECT_EQ(util, requests - without_util);
  auto b = client->Execute(
      "SELECT count(), sum(busy_ms), countIf(busy_ms IS NULL) FROM oldsink.batches FORMAT "
      "TabSeparated");
  ASSERT_TRUE(b.ok());
  std::istringstream bin(*b);
  int64_t nb = 0, null_busy = -1;
  double busy = 0;
  ASSERT_TRUE(bin >> nb >> busy >> null_busy) << *b;
  EXPECT_EQ(nb, batches);
  EXPECT_DOUBLE_EQ(busy, busy_sum);
  EXPECT_EQ(null_busy, 0);
}

}  // namespace
}  // namespace yoloscope
