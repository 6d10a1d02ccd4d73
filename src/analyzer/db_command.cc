#include "analyzer/db_command.h"

#include <unistd.h>

#include <memory>

#include "analyzer/readers/input_source.h"
#include "analyzer/readers/jsonl_parser.h"
#include "fleet/clickhouse_client.h"
#include "fleet/clickhouse_loader.h"
#include "fleet/clickhouse_schema.h"
#include "fleet/clickhouse_uri.h"

namespace yoloscope {
namespace {

constexpr size_t kMaxProblems = 10;

// Reads `source` line by line into `line` (each line followed by the
// parser's padding); calls `fn(line_view, capacity, line_number)`.
template <typename Fn>
Status ForEachLine(InputSource* source, Fn fn) {
  std::string pending;
  std::string line;
  char buf[1 << 16];
  int64_t number = 0;
  auto emit = [&](std::string_view text) -> Status {
    ++number;
    line.assign(text);
    const size_t n = line.size();
    line.resize(n + JsonlParser::kPadding, ' ');
    return fn(std::string_view(line.data(), n), line.size(), number);
  };
  for (;;) {
    YS_ASSIGN_OR_RETURN(size_t got, source->Read(buf, sizeof(buf)));
    if (got == 0) break;
    pending.append(buf, got);
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view text(pending.data() + start, nl - start);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      YS_RETURN_IF_ERROR(emit(text));
    }
    pending.erase(0, start);
  }
  if (!pending.empty()) YS_RETURN_IF_ERROR(emit(pending));
  return Status::Ok();
}

}  // namespace

Status RunDbInit(const DbInitConfig& config, DbInitResult* result) {
  YS_ASSIGN_OR_RETURN(ClickHouseUri uri, ClickHouseUri::Parse(config.uri));
  YS_ASSIGN_OR_RETURN(auto client, ClickHouseClient::Create(uri, ClickHouseClientConfig{}));
  for (const std::string& sql : ClickHouseSchema::CreateStatements(uri)) {
    YS_RETURN_IF_ERROR(client->Execute(sql).status());
  }
  // Tables made by an older version: add the columns they lack (or refuse,
  // naming table and column, before changing anything).
  YS_ASSIGN_OR_RETURN(ClickHouseColumnTypes types, ClickHouseSchema::ReadColumnTypes(*client));
  std::vector<std::string> added;
  YS_ASSIGN_OR_RETURN(std::vector<std::string> alters,
                      ClickHouseSchema::UpgradeStatements(uri, types, &added));
  for (size_t i = 0; i < alters.size(); ++i) {
    Status s = client->Execute(alters[i]).status();
    if (!s.ok()) return s.WithContext("adding column " + added[i]);
    if (result != nullptr) result->columns_added.push_back(added[i]);
  }
  return Status::Ok();
}

StatusOr<DbLoadResult> RunDbLoad(const DbLoadConfig& config) {
  if (config.files.empty()) return InvalidArgumentError("db load: no log files given");
  YS_ASSIGN_OR_RETURN(ClickHouseUri uri, ClickHouseUri::Parse(config.uri));
  YS_ASSIGN_OR_RETURN(auto client, ClickHouseClient::Create(uri, ClickHouseClientConfig{}));
  YS_ASSIGN_OR_RETURN(auto parser, JsonlParser::Create({}));
  std::string host = config.host;
  if (host.empty()) {
    char name[256] = {};
    host = gethostname(name, sizeof(name) - 1) == 0 ? name : "unknown";
  }
  const std::string replica = config.replica.empty() ? "default" : config.replica;
  DbLoadResult result;
  for (const std::string& file : config.files) {
    YS_ASSIGN_OR_RETURN(auto source, InputSource::Open(file));
    ClickHouseLoaderConfig lc;
    lc.block_rows = config.block_rows;
    lc.origin.host = host;
    lc.origin.replica = replica;
    // Same host, replica and file (name and size): same block ids, so a
    // second load of it is recognised block by block.
    lc.block_prefix = BlockIdHash(host + '\x1f' + replica + '\x1f' + file + '\x1f' +
                                  std::to_string(source->file_size()));
    YS_ASSIGN_OR_RETURN(auto loader, ClickHouseLoader::Create(client.get(), lc));
    LogRecord record;
    Status st = ForEachLine(
        source.get(), [&](std::string_view line, size_t capacity, int64_t number) -> Status {
          ++result.lines;
          const JsonlParser::Outcome outcome = parser->Parse(line, capacity, &record);
          if (outcome == JsonlParser::Outcome::kBlank) return Status::Ok();
          if (outcome != JsonlParser::Outcome::kRecord) {
            ++result.malformed_lines;
            if (result.problems.size() < kMaxProblems) {
              result.problems.push_back(file + ":" + std::to_string(number) + ": " +
                                        std::string(parser->why()));
            }
            return Status::Ok();
          }
          return loader->Add(record, line);
        });
    if (st.ok()) st = loader->Flush();
    result.rows_inserted += loader->stats().rows_inserted;
    result.rows_already_present += loader->stats().rows_already_present;
    result.records_without_time += loader->stats().records_without_time;
    if (!st.ok()) return st.WithContext(file);
  }
  return result;
}

}  // namespace yoloscope
