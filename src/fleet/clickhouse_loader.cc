#include "fleet/clickhouse_loader.h"

#include <cstdlib>

namespace yoloscope {

std::string BlockIdHash(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<size_t>(i)] = kHex[h & 15];
  return out;
}

StatusOr<std::unique_ptr<ClickHouseLoader>> ClickHouseLoader::Create(
    const ClickHouseClient* client, const ClickHouseLoaderConfig& config) {
  if (client == nullptr) return InvalidArgumentError("ClickHouseLoader: no client");
  if (config.block_rows < 1) return InvalidArgumentError("block_rows must be >= 1");
  if (config.block_prefix.empty()) return InvalidArgumentError("block_prefix is required");
  return std::unique_ptr<ClickHouseLoader>(new ClickHouseLoader(client, config));
}

std::string ClickHouseLoader::BlockId(const std::string& table, int64_t n) const {
  return config_.block_prefix + "-" + table + "-" + std::to_string(n);
}

Status ClickHouseLoader::Add(const LogRecord& record, std::string_view line) {
  if (columns_.empty()) {
    // Which columns the tables have (once): rows name only those, so an
    // older table (without the late columns) takes them too.
    YS_ASSIGN_OR_RETURN(columns_, ClickHouseSchema::ReadColumns(*client_));
  }
  const std::string_view table = ClickHouseSchema::TableFor(record.kind);
  auto it = pending_.find(table);
  if (it == pending_.end()) it = pending_.emplace(std::string(table), Pending{}).first;
  Pending& p = it->second;
  if (p.count >= config_.block_rows) YS_RETURN_IF_ERROR(InsertBlock(it->first, &p));
  if (!ClickHouseSchema::AppendRow(record, line, config_.origin, BlockId(it->first, p.next_block),
                                   columns_.find(table)->second, &p.rows)) {
    ++stats_.records_without_time;
    return Status::Ok();
  }
  ++p.count;
  if (p.count >= config_.block_rows) return InsertBlock(it->first, &p);
  return Status::Ok();
}

Status ClickHouseLoader::Flush() {
  for (auto& [table, p] : pending_) {
    if (p.count > 0) YS_RETURN_IF_ERROR(InsertBlock(table, &p));
  }
  return Status::Ok();
}

Status ClickHouseLoader::InsertBlock(const std::string& table, Pending* p) {
  const std::string id = BlockId(table, p->next_block);
  const std::string qualified = client_->uri().database + "." + table;
  // Sent before? (an earlier run, or an insert whose answer was lost)
  YS_ASSIGN_OR_RETURN(std::string present,
                      client_->Execute("SELECT count() FROM " + qualified +
                                       " WHERE block_id = " + ClickHouseQuote(id)));
  if (std::atoll(present.c_str()) > 0) {
    ++stats_.blocks_already_present;
    stats_.rows_already_present += p->count;
  } else {
    YS_RETURN_IF_ERROR(
        client_
            ->Execute("INSERT INTO " + qualified + " " +
                          ClickHouseSchema::ColumnList(columns_.find(table)->second) +
                          " FORMAT JSONEachRow",
                      p->rows, "insert_distributed_sync=1")
            .status());
    ++stats_.blocks_inserted;
    stats_.rows_inserted += p->count;
  }
  p->rows.clear();
  p->count = 0;
  ++p->next_block;
  return Status::Ok();
}

}  // namespace yoloscope
