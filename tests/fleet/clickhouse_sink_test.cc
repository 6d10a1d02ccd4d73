// serve's ClickHouse sink (--log-sink) against a real clickhouse-server:
// records shipped from the request log, ClickHouse killed for a while and
// restarted, and every request id in ClickHouse exactly once afterwards.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "analyzer/db_command.h"
#include "fleet/clickhouse_client.h"
#include "fleet/clickhouse_loader.h"
#include "fleet/clickhouse_process.h"
#include "fleet/clickhouse_schema.h"
#include "fleet/clickhouse_shipper.h"
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
  auto s = InferenceServer::Create(config_);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  server_ = std::move(s).value();
  ASSERT_TRUE(server_->Start().ok());

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

TEST_F(ClickHouseSinkTest, ServeStartsWhileClickHouseIsDownAndTheSinkNeedsTheLog) {
  clickhouse_->Kill();
  auto s = InferenceServer::Create(config_);
  ASSERT_TRUE(s.ok()) << s.status().ToString();  // starts anyway: the log is the spool
  server_ = std::move(s).value();
  ASSERT_TRUE(server_->Start().ok());
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

}  // namespace
}  // namespace yoloscope
