// ClickHouseProcess (tests only): a real clickhouse-server as a plain child
// process, with its own config under a temp dir, listening on 127.0.0.1 at
// free ports, stopped (SIGTERM, then SIGKILL) by the destructor. Optional
// `remote_servers` XML makes it a shard of a cluster.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "fleet/clickhouse_client.h"

namespace yoloscope::testing {

inline constexpr const char* kClickHouseServer = "/usr/sbin/clickhouse-server";

inline int FreeTcpPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

class ClickHouseProcess {
 public:
  // Starts the server; ok() tells whether it answered within 60 s.
  explicit ClickHouseProcess(const std::string& name, const std::string& remote_servers = "",
                             int http_port = 0, int tcp_port = 0)
      : dir_(std::filesystem::temp_directory_path() /
             ("ys_ch_" + name + "_" + std::to_string(getpid()))),
        http_port_(http_port ? http_port : FreeTcpPort()),
        tcp_port_(tcp_port ? tcp_port : FreeTcpPort()) {
    std::filesystem::remove_all(dir_);
    for (const char* d : {"data", "tmp", "flags", "logs", "format_schemas"}) {
      std::filesystem::create_directories(dir_ / d);
    }
    const std::string root = dir_.string() + "/";
    std::ofstream(dir_ / "users.xml")
        << "<?xml version=\"1.0\"?><yandex><profiles><default></default></profiles><users>"
           "<default><password></password><networks><ip>127.0.0.1</ip></networks>"
           "<profile>default</profile><quota>default</quota></default>"
           "<ops><password>secret</password><networks><ip>127.0.0.1</ip></networks>"
           "<profile>default</profile><quota>default</quota></ops></users>"
           "<quotas><default></default></quotas></yandex>\n";
    std::ofstream(dir_ / "config.xml")
        << "<?xml version=\"1.0\"?><yandex><logger><level>warning</level><log>" << root
        << "logs/server.log</log><errorlog>" << root
        << "logs/err.log</errorlog><console>0</console></logger>"
        << "<listen_host>127.0.0.1</listen_host><http_port>" << http_port_
        << "</http_port><tcp_port>" << tcp_port_ << "</tcp_port><path>" << root
        << "data/</path><tmp_path>" << root << "tmp/</tmp_path><flags_path>" << root
        << "flags/</flags_path><format_schema_path>" << root
        << "format_schemas/</format_schema_path><users_config>" << root
        << "users.xml</users_config><default_profile>default</default_profile>"
        << "<default_database>default</default_database><mark_cache_size>67108864"
        << "</mark_cache_size>" << remote_servers << "</yandex>\n";
    Launch();
  }
  ~ClickHouseProcess() { Stop(); }

  // SIGKILL, keeping the data (an outage); Launch() starts it again on the
  // same ports and data.
  void Kill() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    ok_ = false;
  }

  void Launch() {
    pid_ = fork();
    if (pid_ == 0) {
      const std::string arg = "--config-file=" + (dir_ / "config.xml").string();
      execl(kClickHouseServer, kClickHouseServer, arg.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    auto uri = ClickHouseUri::Parse(uri_text("default"));
    auto client = ClickHouseClient::Create(*uri, ClickHouseClientConfig{});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if ((*client)->Execute("SELECT 1").ok()) {
        ok_ = true;
        break;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      for (int i = 0; i < 100; ++i) {
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  bool ok() const { return ok_; }
  int http_port() const { return http_port_; }
  int tcp_port() const { return tcp_port_; }
  std::string uri_text(const std::string& database, const std::string& query = "") const {
    return "clickhouse://127.0.0.1:" + std::to_string(http_port_) + "/" + database +
           (query.empty() ? "" : "?" + query);
  }
  std::string server_log() const {
    std::ifstream in(dir_ / "logs" / "err.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::filesystem::path dir_;
  int http_port_;
  int tcp_port_;
  pid_t pid_ = -1;
  bool ok_ = false;
};

}  // namespace yoloscope::testing
