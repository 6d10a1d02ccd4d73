// The fleet, live (issue 17): two clickhouse-server processes (Debian's
// 18.16) as the two shards of cluster `fleet`, and three real `yoloscope
// serve` processes on the simulated backend, each with its own JSONL log
// shipped by `--log-sink` to the Distributed tables on one of the shards,
// under HTTP load (one replica pushed into queue saturation). One shard is
// killed during the load and restarted. After a SIGTERM to every replica:
// every request id of every replica is in ClickHouse exactly once, and
// `analyze` over the cluster tells the same story as `analyze` over the
// union of the three logs, with the three replicas in its breakdown.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "analyzer/analyze_command.h"
#include "analyzer/db_command.h"
#include "fleet/clickhouse_client.h"
#include "fleet/clickhouse_process.h"
#include "fleet/clickhouse_uri.h"
#include "http/test_http_client.h"
#include "testing/serve_child.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;
using testing::ClickHouseProcess;
using testing::ServeChild;
using testing::TestHttpClient;

// One serve replica: its process, its log, its sink, its load.
struct Replica {
  std::string name;                          // --replica
  std::string model;                         // sim model file
  std::vector<std::string> extra;            // batching flags
  int connections = 1;                       // concurrent keep-alive clients
  int per_phase = 0;                         // requests per load phase (over all its clients)
  const ClickHouseProcess* shard = nullptr;  // where its sink points
  fs::path log;
  std::unique_ptr<ServeChild> process;
  int port = -1;
  // request id -> HTTP status of the answer (0: no answer)
  std::map<std::string, int> sent;
  std::mutex mu;
};

std::string Metrics(int port) {
  auto c = TestHttpClient::Connect(port, "127.0.0.1", std::chrono::seconds(10));
  if (!c.ok()) return "";
  auto r = c->Request("GET", "/metrics", "", {});
  return r.ok() ? r->body : "";
}

// Sends `n` requests to the replica over `connections` clients; ids
// "<replica>-<phase>-<client>-<i>".
void Load(Replica* r, const std::string& phase, const std::string& image) {
  std::vector<std::thread> clients;
  for (int c = 0; c < r->connections; ++c) {
    clients.emplace_back([r, c, &phase, &image] {
      auto client = TestHttpClient::Connect(r->port, "127.0.0.1", std::chrono::seconds(30));
      const int n = r->per_phase / r->connections;
      for (int i = 0; i < n; ++i) {
        const std::string id =
            r->name + "-" + phase + "-" + std::to_string(c) + "-" + std::to_string(i);
        if (!client.ok()) {
          client = TestHttpClient::Connect(r->port, "127.0.0.1", std::chrono::seconds(30));
        }
        int status = 0;
        if (client.ok()) {
          auto resp = client->Request("POST", "/v1/detect", image,
                                      {{"Content-Type", "image/jpeg"}, {"X-Request-Id", id}});
          if (resp.ok()) {
            status = resp->status;
            auto conn = resp->Header("Connection");
            if (conn && *conn == "close") client = UnavailableError("closed by the server");
          } else {
            client = resp.status();
          }
        }
        std::lock_guard<std::mutex> lock(r->mu);
        r->sent[id] = status;
      }
    });
  }
  for (auto& t : clients) t.join();
}

// request_id values of the log's request records.
std::multiset<std::string> RequestIdsInLog(const fs::path& log, int64_t* lines) {
  std::multiset<std::string> ids;
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    ++*lines;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || j.value("event", "") != "request") continue;
    ids.insert(j.value("request_id", ""));
  }
  return ids;
}

AnalysisReport Analyze(const std::vector<std::string>& inputs) {
  AnalyzeOptions o;
  o.paths = inputs;
  o.threads = 2;
  auto report = AnalyzeCommand(o).Analyze();
  EXPECT_TRUE(report.ok()) << report.status().ToString();
  return report.ok() ? *report : AnalysisReport{};
}

std::string Findings(const AnalysisReport& r) {
  std::string s;
  for (const Finding& f : r.findings) {
    s += std::string(SeverityName(f.severity)) + ":" + f.kind + " ";
  }
  return s;
}

std::string Query(const ClickHouseProcess& shard, const std::string& sql) {
  auto client = ClickHouseClient::Create(*ClickHouseUri::Parse(shard.uri_text("fleet")), {});
  auto r = (*client)->Execute(sql);
  EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
  return r.ok() ? *r : "";
}

TEST(ClickHouseLiveFleetTest, ThreeServeReplicasShipExactlyOnceThroughAShardOutage) {
  if (!fs::exists(testing::kClickHouseServer)) {
    GTEST_SKIP() << testing::kClickHouseServer << " is not installed (scripts/setup.sh)";
  }
  const auto started = std::chrono::steady_clock::now();
  const fs::path dir = fs::temp_directory_path() / ("ys_live_fleet_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);

  const int tcp1 = testing::FreeTcpPort(), tcp2 = testing::FreeTcpPort();
  const std::string cluster =
      "<remote_servers><fleet><shard><replica><host>127.0.0.1</host><port>" + std::to_string(tcp1) +
      "</port></replica></shard><shard><replica><host>127.0.0.1</host><port>" +
      std::to_string(tcp2) + "</port></replica></shard></fleet></remote_servers>";
  ClickHouseProcess shard1("live1", cluster, 0, tcp1);
  ClickHouseProcess shard2("live2", cluster, 0, tcp2);
  ASSERT_TRUE(shard1.ok()) << shard1.server_log();
  ASSERT_TRUE(shard2.ok()) << shard2.server_log();
  ASSERT_TRUE(RunDbInit({shard1.uri_text("fleet", "cluster=fleet")}).ok());
  ASSERT_TRUE(RunDbInit({shard2.uri_text("fleet", "cluster=fleet")}).ok());

  // A tiny JPEG (decoding costs nothing next to the serving under test).
  const fs::path image_path = dir / "tiny.jpg";
  ASSERT_EQ(
      std::system((std::string(YOLOSCOPE_BINARY) + " bench --image-size 16x16 --write-image " +
                   image_path.string() + " > /dev/null 2>&1")
                      .c_str()),
      0);
  std::ifstream image_in(image_path, std::ios::binary);
  const std::string image((std::istreambuf_iterator<char>(image_in)), {});
  ASSERT_FALSE(image.empty());

  // The saturated replica's model: ~5 ms a batch of 2 (a simulator).
  const fs::path slow = dir / "slow-sim.yaml";
  std::ofstream(slow) << "model: {name: slow-sim, input_size: 64}\n"
                         "latency: {base_ms: 4, per_image_ms: 1, jitter_pct: 0}\n"
                         "memory: {activation_mb_per_image: 1}\n"
                         "output: {detections_per_image: 0}\n";
  const std::string fast = std::string(YOLOSCOPE_SOURCE_DIR) + "/bench/server/fast-sim.yaml";

  Replica replicas[3];
  replicas[0].name = "r1";  // queue saturation: 16 clients on a queue of 8
  replicas[0].model = slow.string();
  replicas[0].extra = {"--max-batch", "2", "--max-queue-size", "8", "--max-queue-delay-us", "0"};
  replicas[0].connections = 16;
  replicas[0].per_phase = 160;
  replicas[0].shard = &shard1;
  replicas[1].name = "r2";
  replicas[1].model = fast;
  replicas[1].connections = 2;
  replicas[1].per_phase = 100;
  replicas[1].shard = &shard2;  // the shard that goes away
  replicas[2].name = "r3";
  replicas[2].model = fast;
  replicas[2].connections = 2;
  replicas[2].per_phase = 100;
  replicas[2].shard = &shard1;
  for (Replica& r : replicas) {
    r.log = dir / (r.name + ".jsonl");
    std::vector<std::string> args = {YOLOSCOPE_BINARY, "serve",
                                     "--backend",      "sim",
                                     "--model",        r.model,
                                     "--port",         "0",
                                     "--grpc-port",    "-1",
                                     "--log",          r.log.string(),
                                     "--log-sink",     r.shard->uri_text("fleet", "cluster=fleet"),
                                     "--replica",      r.name};
    args.insert(args.end(), r.extra.begin(), r.extra.end());
    r.process = std::make_unique<ServeChild>(args);
  }
  for (Replica& r : replicas) {
    r.port = r.process->WaitForPort();
    ASSERT_GT(r.port, 0) << r.name << ": " << r.process->Stderr();
  }
  auto phase = [&](const std::string& name) {
    std::vector<std::thread> loads;
    for (Replica& r : replicas) loads.emplace_back([&r, &name, &image] { Load(&r, name, image); });
    for (auto& t : loads) t.join();
  };

  phase("a");
  // Shard 2 goes away during the load: r2's sink cannot reach ClickHouse at
  // all, and r1's and r3's blocks that shard 2 should take cannot land.
  shard2.Kill();
  phase("b");
  // r2's sink has noticed (its ClickHouse is gone); r1's and r3's notice at
  // their first block that shard 2 should take (blocks are sharded by id).
  bool unhealthy[3] = {false, false, false};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!(unhealthy[0] && unhealthy[1] && unhealthy[2]) &&
         std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 3; ++i) {
      unhealthy[i] =
          unhealthy[i] ||
          Metrics(replicas[i].port).find("yoloscope_clickhouse_healthy 0") != std::string::npos;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(unhealthy[1]) << Metrics(replicas[1].port);
  std::printf("during the outage: sinks unhealthy r1 %d r2 %d r3 %d\n", unhealthy[0], unhealthy[1],
              unhealthy[2]);
  phase("c");
  shard2.Launch();
  ASSERT_TRUE(shard2.ok()) << shard2.server_log();
  phase("d");

  // A clean stop: the sinks ship what is left.
  for (Replica& r : replicas) kill(r.process->pid(), SIGTERM);
  for (Replica& r : replicas) {
    EXPECT_EQ(r.process->Wait(), 0) << r.name << ": " << r.process->Stderr();
  }

  // Every answered request has its record in its replica's log.
  int64_t lines = 0;
  std::map<std::string, std::multiset<std::string>> in_logs;
  int64_t refused = 0;
  for (Replica& r : replicas) {
    in_logs[r.name] = RequestIdsInLog(r.log, &lines);
    int answered = 0;
    for (const auto& [id, status] : r.sent) {
      if (status == 0) continue;
      ++answered;
      refused += status == 503;
      EXPECT_EQ(in_logs[r.name].count(id), 1u) << r.name << " " << id << " (HTTP " << status << ")";
    }
    EXPECT_GE(answered, r.per_phase / r.connections * r.connections * 4 * 9 / 10) << r.name;
  }
  EXPECT_GT(refused, 0) << "r1 was meant to refuse requests (a full queue)";

  // In ClickHouse (asked through shard 1's Distributed table): each id
  // exactly once, with its replica; nothing else.
  std::map<std::string, std::map<std::string, int>> in_db;  // replica -> id -> rows
  {
    std::istringstream rows(
        Query(shard1,
              "SELECT replica, request_id, count() FROM fleet.requests GROUP BY replica, "
              "request_id FORMAT TabSeparated"));
    std::string replica, id;
    int n = 0;
    while (rows >> replica >> id >> n) in_db[replica][id] = n;
  }
  ASSERT_EQ(in_db.size(), 3u);
  for (Replica& r : replicas) {
    const auto& ids = in_logs[r.name];
    const auto& db = in_db[r.name];
    EXPECT_EQ(db.size(), std::set<std::string>(ids.begin(), ids.end()).size()) << r.name;
    int missing = 0, duplicated = 0;
    for (const std::string& id : ids) missing += db.count(id) == 0;
    for (const auto& [id, n] : db) duplicated += n > 1;
    EXPECT_EQ(missing, 0) << r.name << ": request ids of the log not in ClickHouse";
    EXPECT_EQ(duplicated, 0) << r.name << ": request ids in ClickHouse more than once";
  }
  // The typed columns (shipped as RowBinary) agree with the record they
  // came from (floats within 1e-9: 18.16's visitParamExtractFloat parses
  // text less exactly than we do).
  auto differs = [](const std::string& column, const char* kind) {
    const std::string key = "visitParamExtract" + std::string(kind) + "(record, '" + column + "')";
    if (std::string(kind) == "Float") {
      return "abs(assumeNotNull(" + column + ") - " + key + ") > 1e-9 * (1 + abs(" + key + "))";
    }
    return column + " != " + key;
  };
  const std::map<std::string, std::vector<std::pair<std::string, const char*>>> typed = {
      {"requests",
       {{"request_id", "String"},
        {"status", "String"},
        {"batch_size", "Int"},
        {"queue_ms", "Float"},
        {"inference_ms", "Float"},
        {"total_ms", "Float"}}},
      {"batches", {{"batch_id", "Int"}, {"batch_size", "Int"}, {"inference_ms", "Float"}}},
      {"gpu", {{"mem_used_mb", "Float"}}}};
  for (const auto& [table, columns] : typed) {
    std::string where = differs("model", "String") +
                        " OR toUnixTimestamp(ts) != intDiv(ts_us, 1000000) OR day != toDate(ts) "
                        "OR abs(ts_us - toInt64(toUnixTimestamp(parseDateTimeBestEffort("
                        "visitParamExtractString(record, 'ts')))) * 1000000) >= 1000000";
    for (const auto& [column, kind] : columns) where += " OR " + differs(column, kind);
    EXPECT_EQ(Query(shard1, "SELECT count() FROM fleet." + table + " WHERE " + where), "0\n")
        << table;
  }
  // Every line of every log is a row, and both shards hold some.
  auto local_rows = [&](const ClickHouseProcess& shard) {
    return std::atoll(Query(shard,
                            "SELECT (SELECT count() FROM fleet.requests_local) + (SELECT count() "
                            "FROM fleet.batches_local) + (SELECT count() FROM fleet.gpu_local) + "
                            "(SELECT count() FROM fleet.other_local)")
                          .c_str());
  };
  const int64_t on1 = local_rows(shard1), on2 = local_rows(shard2);
  {
    // Per replica and table: the log's lines of that kind vs the rows.
    std::map<std::string, int64_t> want, got;
    for (Replica& r : replicas) {
      std::ifstream in(r.log);
      for (std::string line; std::getline(in, line);) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        const std::string e = j.is_discarded() ? "?" : j.value("event", "");
        const std::string table = e == "request" ? "requests"
                                  : e == "batch" ? "batches"
                                  : e == "gpu"   ? "gpu"
                                                 : "other";
        ++want[r.name + "/" + table];
      }
    }
    std::istringstream rows(Query(
        shard1,
        "SELECT replica, t, count() FROM (SELECT replica, 'requests' AS t FROM fleet.requests "
        "UNION ALL SELECT replica, 'batches' AS t FROM fleet.batches UNION ALL SELECT replica, "
        "'gpu' AS t FROM fleet.gpu UNION ALL SELECT replica, 'other' AS t FROM fleet.other) "
        "GROUP BY replica, t FORMAT TabSeparated"));
    std::string replica, table;
    int64_t n = 0;
    while (rows >> replica >> table >> n) got[replica + "/" + table] = n;
    EXPECT_EQ(got, want) << replicas[0].process->Stderr() << replicas[1].process->Stderr()
                         << replicas[2].process->Stderr();
  }
  EXPECT_GT(on1, 0);
  EXPECT_GT(on2, 0);
  EXPECT_EQ(on1 + on2, lines);

  // analyze over the cluster = analyze over the three logs.
  std::vector<std::string> files;
  for (Replica& r : replicas) files.push_back(r.log.string());
  const AnalysisReport from_files = Analyze(files);
  const AnalysisReport from_cluster = Analyze({shard2.uri_text("fleet", "cluster=fleet")});
  EXPECT_EQ(from_cluster.summary.records, from_files.summary.records);
  EXPECT_EQ(from_cluster.summary.requests, from_files.summary.requests);
  EXPECT_EQ(from_cluster.summary.served, from_files.summary.served);
  EXPECT_EQ(from_cluster.summary.refused, from_files.summary.refused);
  EXPECT_GT(from_files.summary.refused, 0);
  EXPECT_EQ(Findings(from_cluster), Findings(from_files));
  EXPECT_NE(Findings(from_files).find("queue_saturation"), std::string::npos)
      << Findings(from_files);
  ASSERT_EQ(from_cluster.stages.size(), from_files.stages.size());
  for (size_t i = 0; i < from_files.stages.size(); ++i) {
    EXPECT_EQ(from_cluster.stages[i].stage, from_files.stages[i].stage);
    EXPECT_EQ(from_cluster.stages[i].count, from_files.stages[i].count);
    EXPECT_DOUBLE_EQ(from_cluster.stages[i].p99_ms, from_files.stages[i].p99_ms)
        << from_files.stages[i].stage;
  }
  // The breakdown by replica: host/r1..r3, each with its log's requests.
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  ASSERT_EQ(from_cluster.summary.by_replica.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const GroupSummary& g = from_cluster.summary.by_replica[i];
    EXPECT_EQ(g.name, std::string(host) + "/" + replicas[i].name);
    EXPECT_EQ(g.requests, static_cast<int64_t>(in_logs[replicas[i].name].size())) << g.name;
  }
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("live fleet: %lld lines (%lld on shard 1, %lld on shard 2), %lld refused, %.1f s\n",
              static_cast<long long>(lines), static_cast<long long>(on1),
              static_cast<long long>(on2), static_cast<long long>(refused), took);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace yoloscope
