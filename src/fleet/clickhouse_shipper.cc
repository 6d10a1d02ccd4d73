#include "fleet/clickhouse_shipper.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>

#include "fleet/clickhouse_loader.h"

namespace yoloscope {
namespace {

// The table of a record line: "event" is the writer's first key.
std::string_view TableOfLine(std::string_view line) {
  const size_t p = line.find("\"event\":\"");
  if (p == std::string_view::npos || p > 16) return "requests";
  std::string_view rest = line.substr(p + 9);
  if (rest.substr(0, 8) == "request\"") return "requests";
  if (rest.substr(0, 6) == "batch\"") return "batches";
  if (rest.substr(0, 4) == "gpu\"") return "gpu";
  return "other";
}

}  // namespace

StatusOr<std::unique_ptr<ClickHouseShipper>> ClickHouseShipper::Create(
    const ClickHouseShipperConfig& config) {
  if (config.log_path.empty()) {
    return InvalidArgumentError("the ClickHouse sink needs the request log (its spool)");
  }
  if (config.block_lines < 1) return InvalidArgumentError("block_lines must be >= 1");
  YS_ASSIGN_OR_RETURN(ClickHouseUri uri, ClickHouseUri::Parse(config.uri));
  ClickHouseClientConfig cc;
  cc.timeout = config.timeout;
  YS_ASSIGN_OR_RETURN(auto client, ClickHouseClient::Create(uri, cc));
  ClickHouseShipperConfig c = config;
  if (c.origin.host.empty()) {
    char name[256] = {};
    c.origin.host = gethostname(name, sizeof(name) - 1) == 0 ? name : "unknown";
  }
  if (c.origin.replica.empty()) c.origin.replica = "default";
  return std::unique_ptr<ClickHouseShipper>(new ClickHouseShipper(c, std::move(client)));
}

ClickHouseShipper::ClickHouseShipper(const ClickHouseShipperConfig& config,
                                     std::unique_ptr<ClickHouseClient> client)
    : config_(config), client_(std::move(client)) {}

ClickHouseShipper::~ClickHouseShipper() {
  Stop(std::chrono::milliseconds(0));
  if (fd_ >= 0) close(fd_);
}

void ClickHouseShipper::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void ClickHouseShipper::Stop(std::chrono::milliseconds drain) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    drain_deadline_ = std::chrono::steady_clock::now() + drain;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ClickHouseShipperStats ClickHouseShipper::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void ClickHouseShipper::LoadCheckpoint() {
  std::ifstream in(config_.log_path + ".clickhouse");
  uint64_t dev = 0, ino = 0;
  int64_t off = 0;
  if (in >> dev >> ino >> off && dev == dev_ && ino == ino_ && off >= 0) offset_ = off;
}

void ClickHouseShipper::SaveCheckpoint() {
  const std::string path = config_.log_path + ".clickhouse";
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << dev_ << ' ' << ino_ << ' ' << offset_ << '\n';
    if (!out) return;  // the block ids still prevent duplicates after a restart
  }
  std::rename(tmp.c_str(), path.c_str());
}

bool ClickHouseShipper::OpenCurrent() {
  const int fd = open(config_.log_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return false;
  }
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  offset_ = 0;
  LoadCheckpoint();
  return true;
}

bool ClickHouseShipper::ShipOnce(bool* failed) {
  *failed = false;
  if (fd_ < 0 && !OpenCurrent()) return false;
  struct stat st;
  if (fstat(fd_, &st) != 0) return false;
  const int64_t size = st.st_size;
  if (size < offset_) offset_ = 0;  // truncated under us: start over (ids dedupe)
  if (size == offset_) {
    // Everything of this file is shipped: has the path moved on to a new file?
    struct stat now;
    if (stat(config_.log_path.c_str(), &now) == 0 &&
        (static_cast<uint64_t>(now.st_ino) != ino_ || static_cast<uint64_t>(now.st_dev) != dev_)) {
      OpenCurrent();
      return true;
    }
    std::lock_guard<std::mutex> lock(mu_);
    stats_.lag_bytes = 0;
    return false;
  }
  // Read up to block_lines complete lines (at most 16 MiB at a time).
  const size_t want = static_cast<size_t>(std::min<int64_t>(size - offset_, 16 << 20));
  buffer_.resize(want + ClickHouseSchema::kLinePadding);
  const ssize_t got = pread(fd_, buffer_.data(), want, offset_);
  if (got <= 0) return false;
  std::string_view data(buffer_.data(), static_cast<size_t>(got));
  size_t end = 0;
  int64_t lines = 0;
  for (size_t nl; lines < config_.block_lines && (nl = data.find('\n', end)) != data.npos;
       end = nl + 1) {
    ++lines;
  }
  if (lines == 0) return false;  // a line still being written
  const std::string base = BlockIdHash(config_.origin.host + '\x1f' + config_.origin.replica +
                                       '\x1f' + std::to_string(ino_)) +
                           "-" + std::to_string(offset_);
  std::map<std::string_view, std::string> rows;
  int64_t malformed = 0;
  int64_t row_count = 0;
  std::string line;  // a padded copy: the parser reads past the line's end
  for (size_t pos = 0; pos < end;) {
    const size_t nl = data.find('\n', pos);
    std::string_view text = data.substr(pos, nl - pos);
    pos = nl + 1;
    if (text.empty()) continue;
    line.assign(text);
    line.append(ClickHouseSchema::kLinePadding, ' ');
    const std::string_view table = TableOfLine(text);
    Status s = ClickHouseSchema::AppendRowFromLine(std::string_view(line.data(), text.size()),
                                                   config_.origin, base + "-" + std::string(table),
                                                   &rows[table]);
    if (s.ok()) {
      ++row_count;
    } else {
      ++malformed;
    }
  }
  const std::string& db = client_->uri().database;
  int64_t present = 0;
  for (const auto& [table, body] : rows) {
    if (body.empty()) continue;
    const std::string id = base + "-" + std::string(table);
    if (verify_next_) {
      auto there = client_->Execute("SELECT count() FROM " + db + "." + std::string(table) +
                                    " WHERE block_id = " + ClickHouseQuote(id));
      if (!there.ok()) {
        *failed = true;
        if (config_.warn) config_.warn("ClickHouse sink: " + there.status().message());
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.insert_failures;
        stats_.healthy = false;
        stats_.lag_bytes = size - offset_;
        return false;
      }
      if (std::atoll(there->c_str()) > 0) {
        present += std::count(body.begin(), body.end(), '\n');
        continue;
      }
    }
    auto r =
        client_->Execute("INSERT INTO " + db + "." + std::string(table) + " FORMAT JSONEachRow",
                         body, "input_format_skip_unknown_fields=1&insert_distributed_sync=1");
    if (!r.ok()) {
      *failed = true;
      verify_next_ = true;  // the insert may have landed without our seeing the answer
      if (config_.warn) config_.warn("ClickHouse sink: " + r.status().message());
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.insert_failures;
      stats_.healthy = false;
      stats_.lag_bytes = size - offset_;
      return false;
    }
  }
  // Every table of the block is in: move on. (A failure above re-sends the
  // whole block; the tables already in are recognised by their ids.)
  verify_next_ = false;
  offset_ += static_cast<int64_t>(end);
  SaveCheckpoint();
  std::lock_guard<std::mutex> lock(mu_);
  if (!stats_.healthy && config_.warn) config_.warn("ClickHouse sink: shipping again");
  stats_.healthy = true;
  stats_.rows_shipped += row_count - present;
  stats_.rows_already_present += present;
  stats_.blocks_inserted += 1;
  stats_.malformed_lines += malformed;
  stats_.lag_bytes = size - offset_;
  return true;
}

void ClickHouseShipper::Run() {
  std::chrono::milliseconds backoff = config_.poll;
  for (;;) {
    bool failed = false;
    const bool shipped = ShipOnce(&failed);
    std::unique_lock<std::mutex> lock(mu_);
    if (stop_) {
      // Draining: keep shipping while there is something and time is left.
      if (!shipped || failed || std::chrono::steady_clock::now() >= drain_deadline_) return;
      continue;
    }
    if (shipped) {
      backoff = config_.poll;
      continue;
    }
    const auto wait = failed ? backoff : config_.poll;
    if (failed) backoff = std::min(backoff * 2, config_.max_backoff);
    cv_.wait_for(lock, wait, [this] { return stop_; });
  }
}

}  // namespace yoloscope
