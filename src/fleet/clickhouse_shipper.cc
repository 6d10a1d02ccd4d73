#include "fleet/clickhouse_shipper.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <set>

#include "fleet/clickhouse_loader.h"

namespace yoloscope {
StatusOr<std::unique_ptr<ClickHouseShipper>> ClickHouseShipper::Create(
    const ClickHouseShipperConfig& config) {
  if (config.log_path.empty()) {
    return InvalidArgumentError("the ClickHouse sink needs the request log (its spool)");
  }
  if (config.block_lines < 1) return InvalidArgumentError("block_lines must be >= 1");
  if (config.insert_interval.count() < 0) {
    return InvalidArgumentError("insert_interval must be >= 0");
  }
  if (config.nice < 0 || config.nice > 19) {
    return InvalidArgumentError("the shipper's nice must be 0..19, got " +
                                std::to_string(config.nice));
  }
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
  int64_t off = 0, pending = -1;
  if (!(in >> dev >> ino >> off) || dev != dev_ || ino != ino_ || off < 0) return;
  offset_ = off;
  // A block that was being sent: its extent (the same lines, the same id).
  if (in >> pending && pending > off) pending_end_ = pending;
}

void ClickHouseShipper::SaveCheckpoint() {
  const std::string path = config_.log_path + ".clickhouse";
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << dev_ << ' ' << ino_ << ' ' << offset_;
    if (pending_end_ >= 0) out << ' ' << pending_end_;
    out << '\n';
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
  pending_end_ = -1;
  LoadCheckpoint();
  return true;
}

bool ClickHouseShipper::ShipOnce(bool* failed) {
  *failed = false;
  if (fd_ < 0 && !OpenCurrent()) return false;
  struct stat st;
  if (fstat(fd_, &st) != 0) return false;
  const int64_t size = st.st_size;
  if (size < offset_ || (pending_end_ >= 0 && size < pending_end_)) {
    offset_ = 0;  // truncated under us: start over (ids dedupe)
    pending_end_ = -1;
  }
  if (size == offset_) {
    // Everything of this file is shipped: has the path moved on to a new file?
    struct stat now;
    if (stat(config_.log_path.c_str(), &now) == 0 &&
        (static_cast<uint64_t>(now.st_ino) != ino_ || static_cast<uint64_t>(now.st_dev) != dev_)) {
      OpenCurrent();
      caught_up_ = false;
      return true;
    }
    std::lock_guard<std::mutex> lock(mu_);
    stats_.lag_bytes = 0;
    return false;
  }
  // A block sent before whose fate is unknown is sent again with exactly
  // its lines; a new one takes up to block_lines complete lines (at most
  // 16 MiB at a time).
  const size_t want = pending_end_ >= 0
                          ? static_cast<size_t>(pending_end_ - offset_)
                          : static_cast<size_t>(std::min<int64_t>(size - offset_, 16 << 20));
  if (buffer_size_ < want + ClickHouseSchema::kLinePadding) {
    // Grown, never cleared: zero-filling up to 16 MiB per block was an
    // eighth of the shipper's CPU.
    buffer_size_ = want + ClickHouseSchema::kLinePadding;
    buffer_ = std::make_unique_for_overwrite<char[]>(buffer_size_);
  }
  const ssize_t got = pread(fd_, buffer_.get(), want, offset_);
  if (got <= 0) return false;
  std::string_view data(buffer_.get(), static_cast<size_t>(got));
  size_t end = 0;
  if (pending_end_ >= 0) {
    if (static_cast<size_t>(got) != want) return false;
    end = want;
  } else {
    int64_t lines = 0;
    for (size_t nl; lines < config_.block_lines && (nl = data.find('\n', end)) != data.npos;
         end = nl + 1) {
      ++lines;
    }
    if (lines == 0) return false;  // a line still being written
    // The block's extent is fixed from here until it is in: recorded before
    // the first insert, so that a restart re-sends exactly these lines.
    pending_end_ = offset_ + static_cast<int64_t>(end);
    SaveCheckpoint();
  }
  // The id names the extent (a block is never mistaken for a longer or
  // shorter one that starts at the same place) and the block's first line
  // (a new log file that reuses a deleted one's inode has other lines: its
  // blocks are never mistaken for the old file's).
  const std::string base =
      BlockIdHash(config_.origin.host + '\x1f' + config_.origin.replica + '\x1f' +
                  std::to_string(ino_) + '\x1f' + std::string(data.substr(0, data.find('\n')))) +
      "-" + std::to_string(offset_) + "-" + std::to_string(pending_end_);
  auto fail = [&](const Status& status) {
    *failed = true;
    verify_next_ = true;    // an insert may have landed without our seeing the answer
    columns_stale_ = true;  // and the tables may have changed (`db init` run meanwhile)
    if (config_.warn) config_.warn("ClickHouse sink: " + status.message());
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.insert_failures;
    stats_.healthy = false;
    stats_.lag_bytes = size - offset_;
    return false;
  };
  // The columns each table has (at start and after a failure): rows name
  // those, so a table of an older schema keeps taking them.
  if (columns_stale_) {
    auto columns = ClickHouseSchema::ReadColumns(*client_);
    if (!columns.ok()) return fail(columns.status());
    std::string missing;
    for (const auto& [table, c] : *columns) {
      const std::string m = ClickHouseSchema::MissingLateColumns(c);
      if (!m.empty()) {
        missing +=
            (missing.empty() ? "" : "; ") + client_->uri().database + "." + table + " without " + m;
      }
    }
    if (missing != missing_warned_ && config_.warn) {
      config_.warn(missing.empty()
                       ? "ClickHouse sink: the tables have every column now"
                       : "ClickHouse sink: tables of an older schema (" + missing +
                             "): shipping without those columns, the values stay in `record` "
                             "(`yoloscope db init` adds them)");
    }
    missing_warned_ = missing;
    columns_ = std::move(columns).value();
    columns_stale_ = false;
  }
  std::map<std::string_view, TableBlock> blocks;
  int64_t malformed = 0;
  int64_t row_count = 0;
  for (size_t pos = 0; pos < end;) {
    const size_t nl = data.find('\n', pos);
    std::string_view text = data.substr(pos, nl - pos);
    pos = nl + 1;
    if (text.empty()) continue;
    auto table = ParseRow(text);
    if (!table.ok()) {
      ++malformed;
      continue;
    }
    TableBlock& block = blocks[*table];
    if (block.id.empty()) block.id = base + "-" + std::string(*table);  // once, not per row
    ClickHouseSchema::AppendRowBinary(record_, text, config_.origin, block.id, Columns(*table),
                                      &block.body);
    block.lines.push_back(text);
    ++row_count;
  }
  const std::string& db = client_->uri().database;
  int64_t present = 0;
  for (auto& [table, block] : blocks) {
    if (block.lines.empty()) continue;
    const std::string& id = block.id;
    const std::string qualified = db + "." + std::string(table);
    const std::string* body = &block.body;
    std::string missing_rows;
    if (verify_next_) {
      // Is the block there, whole or in part? (Through a Distributed table
      // an insert can land on some shards and fail on others.)
      auto there = client_->Execute("SELECT count() FROM " + qualified +
                                    " WHERE block_id = " + ClickHouseQuote(id));
      if (!there.ok()) return fail(there.status());
      const int64_t n = std::atoll(there->c_str());
      const int64_t rows = static_cast<int64_t>(block.lines.size());
      if (n >= rows) {
        present += rows;
        continue;
      }
      if (n > 0) {
        // Part of it: send the lines that are not there, under the same id.
        auto records = client_->Execute("SELECT record FROM " + qualified + " WHERE block_id = " +
                                        ClickHouseQuote(id) + " FORMAT TabSeparatedRaw");
        if (!records.ok()) return fail(records.status());
        std::multiset<std::string_view> in;
        for (size_t p = 0, q; p < records->size(); p = q + 1) {
          q = records->find('\n', p);
          if (q == std::string::npos) q = records->size();
          in.insert(std::string_view(*records).substr(p, q - p));
        }
        for (std::string_view line : block.lines) {
          auto it = in.find(line);
          if (it != in.end()) {
            in.erase(it);
            ++present;
          } else {
            if (ParseRow(line).ok()) {
              ClickHouseSchema::AppendRowBinary(record_, line, config_.origin, id, Columns(table),
                                                &missing_rows);
            }
          }
        }
        body = &missing_rows;
        if (body->empty()) continue;
      }
    }
    auto r =
        client_->Execute("INSERT INTO " + qualified + " " +
                             ClickHouseSchema::ColumnList(Columns(table)) + " FORMAT RowBinary",
                         *body, "insert_distributed_sync=1");
    if (!r.ok()) return fail(r.status());
  }
  // Every table of the block is in: move on. (A failure above re-sends the
  // whole block; the tables already in are recognised by their ids.)
  verify_next_ = false;
  offset_ = pending_end_;
  pending_end_ = -1;
  SaveCheckpoint();
  caught_up_ = offset_ >= size;
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

const FleetTableColumns& ClickHouseShipper::Columns(std::string_view table) const {
  auto it = columns_.find(table);
  if (it != columns_.end()) return it->second;
  static const FleetTableColumns kNone;  // never: ReadColumns has every table
  return kNone;
}

StatusOr<std::string_view> ClickHouseShipper::ParseRow(std::string_view line) {
  line_.assign(line);  // a padded copy: the parser reads past the line's end
  line_.append(ClickHouseSchema::kLinePadding, ' ');
  YS_RETURN_IF_ERROR(
      ClickHouseSchema::ParseLine(std::string_view(line_.data(), line.size()), &record_));
  return ClickHouseSchema::TableFor(record_.kind);
}

void ClickHouseShipper::Run() {
  constexpr int kDrainRetries = 3;
  pthread_setname_np(pthread_self(), "ys-ch-shipper");
  // Raising a thread's own nice needs no privilege. Relative to the
  // process's: serve started under `nice -n 5` ships at 5 + nice (capped
  // at 19).
  errno = 0;
  const int base = getpriority(PRIO_PROCESS, 0);
  const int want = std::min(19, (errno == 0 ? base : 0) + config_.nice);
  if (config_.nice > 0 && setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), want) != 0 &&
      config_.warn) {
    config_.warn("ClickHouse sink: could not lower the shipper thread's priority (nice " +
                 std::to_string(want) + "): " + std::strerror(errno));
  }
  errno = 0;
  const int now_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.nice = errno == 0 ? now_nice : 0;
  }
  std::chrono::milliseconds backoff = config_.poll;
  int drain_failures = 0;
  for (;;) {
    bool failed = false;
    const bool shipped = ShipOnce(&failed);
    timespec cpu{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    std::unique_lock<std::mutex> lock(mu_);
    stats_.cpu_seconds = static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) * 1e-9;
    if (stop_) {
      // Draining: keep shipping while there is something and time is left.
      // A failure is retried a few times (a ClickHouse that has just come
      // back may refuse a first statement); one that stays away is not
      // waited for: what is left stays in the log for the next start.
      const auto now = std::chrono::steady_clock::now();
      if (now >= drain_deadline_ || (!shipped && !failed)) return;
      if (failed) {
        if (++drain_failures >= kDrainRetries) return;
        cv_.wait_until(lock, std::min(now + config_.poll, drain_deadline_));
      } else {
        drain_failures = 0;
      }
      continue;
    }
    if (shipped) {
      backoff = config_.poll;
      // Behind (a back-fill, or more than a block's lines): the next block
      // now. Caught up (the block took every line there was when it was
      // read): the next one after `insert_interval`, so that ClickHouse gets
      // fewer, larger inserts (each one is a part to write and later merge).
      if (caught_up_) cv_.wait_for(lock, config_.insert_interval, [this] { return stop_; });
      continue;
    }
    const auto wait = failed ? backoff : config_.poll;
    if (failed) backoff = std::min(backoff * 2, config_.max_backoff);
    cv_.wait_for(lock, wait, [this] { return stop_; });
  }
}

}  // namespace yoloscope
