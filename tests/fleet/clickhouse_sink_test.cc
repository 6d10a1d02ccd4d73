// serve's ClickHouse sink (--log-sink) against a real clickhouse-server:
// records shipped from the request log, ClickHouse killed for a while and
// restarted, and every request id in ClickHouse exactly once afterwards.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "analyzer/db_command.h"
#include "fleet/clickhouse_client.h"
#include "fleet/clickhouse_process.h"
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

}  // namespace
}  // namespace yoloscope
