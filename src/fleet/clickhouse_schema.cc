#include "fleet/clickhouse_schema.h"

#include <simdjson.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iterator>
#include <map>

#include "common/time_format.h"
#include "reqlog/json_line_serializer.h"
#include "reqlog/log_schema.h"

namespace yoloscope {
namespace {

constexpr std::string_view kF = "Nullable(Float64)";

// Columns every table has, then each table's typed columns. The late
// columns (added after the first schema) end their table's typed columns,
// where `db init` adds them to older tables (ADD COLUMN ... AFTER), so an
// upgraded table has the columns of a new one in the same order.
constexpr ClickHouseColumn kCommonColumns[] = {
    {"day", "Date"},       {"ts", "DateTime"},     {"ts_us", "Int64"},  {"host", "String"},
    {"replica", "String"}, {"block_id", "String"}, {"model", "String"}, {"gpu_id", "Int32"}};
constexpr ClickHouseColumn kRequestColumns[] = {
    {"request_id", "String"},  {"status", "String"},       {"batch_id", "Int64"},
    {"batch_size", "Int32"},   {"queue_len", "Int32"},     {"input_w", "Int32"},
    {"input_h", "Int32"},      {"queue_ms", kF},           {"preprocess_ms", kF},
    {"inference_ms", kF},      {"postprocess_ms", kF},     {"total_ms", kF},
    {"decode_ms", kF, true},   {"h2d_ms", kF, true},       {"d2h_ms", kF, true},
    {"mem_used_mb", kF, true}, {"mem_total_mb", kF, true}, {"gpu_util", kF, true}};
constexpr ClickHouseColumn kBatchColumns[] = {
    {"batch_id", "Int64"}, {"batch_size", "Int32"}, {"instance", "Int32"}, {"status", "String"},
    {"inference_ms", kF},  {"h2d_ms", kF},          {"d2h_ms", kF},        {"mem_used_mb", kF},
    {"mem_total_mb", kF},  {"busy_ms", kF, true}};
constexpr ClickHouseColumn kGpuColumns[] = {{"gpu_util", kF},
                                            {"mem_used_mb", kF},
                                            {"mem_total_mb", kF},
                                            {"mem_other_processes_mb", kF},
                                            {"sm_clock_mhz", kF}};
// Bits of FleetTableColumns::late_missing, in the order of the late columns above.
enum RequestLate { kDecode = 0, kH2d, kD2h, kMemUsed, kMemTotal, kGpuUtil };
enum BatchLate { kBusy = 0 };

// A late column's DEFAULT: the record's value (NULL when the record has
// none), for the rows written before the column (and by writers that do not
// name it).
std::string LateDefault(std::string_view name) {
  const std::string n(name);
  return "if(visitParamHas(record, '" + n + "'), toNullable(visitParamExtractFloat(record, '" + n +
         "')), NULL)";
}

std::string ColumnDdl(const ClickHouseColumn& c) {
  std::string ddl = std::string(c.name) + " " + std::string(c.type);
  if (c.late) ddl += " DEFAULT " + LateDefault(c.name);
  return ddl;
}

// "requests_local" -> "requests".
std::string_view BaseTable(std::string_view table) {
  constexpr std::string_view kLocal = "_local";
  if (table.size() > kLocal.size() && table.substr(table.size() - kLocal.size()) == kLocal) {
    table.remove_suffix(kLocal.size());
  }
  return table;
}

void Key(const char* name, std::string* out) {
  out->push_back(',');
  out->push_back('"');
  out->append(name);
  out->append("\":");
}

void Int(const char* name, const std::optional<int64_t>& v, int64_t missing, std::string* out) {
  Key(name, out);
  out->append(std::to_string(v.value_or(missing)));
}

void Num(const char* name, const std::optional<double>& v, std::string* out) {
  Key(name, out);
  if (!v || !std::isfinite(*v)) {
    out->append("null");
    return;
  }
  char buf[32];
  const int n = std::snprintf(buf, sizeof(buf), "%.17g", *v);
  out->append(buf, static_cast<size_t>(n));
}

void Str(const char* name, std::string_view v, std::string* out) {
  Key(name, out);
  AppendJsonString(v, out);
}

// "2026-12-06 14:00:00" and "2026-12-06" (UTC) of a Unix-microsecond time.
void DayAndSecond(int64_t ts_us, std::string* day, std::string* second) {
  const int64_t s = ts_us >= 0 ? ts_us / 1'000'000 : (ts_us - 999'999) / 1'000'000;
  const std::time_t t = static_cast<std::time_t>(s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  *day = buf;
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  *second = buf;
}

// RowBinary: fixed-width little-endian numbers (x86-64 and aarch64 are
// little-endian), strings as a LEB128 length and the bytes, Nullable as a
// 1 (NULL) or 0 byte before the value.
template <typename T>
void PutFixed(T v, std::string* out) {
  static_assert(std::endian::native == std::endian::little);
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out->append(bytes, sizeof(T));
}

void PutString(std::string_view v, std::string* out) {
  for (uint64_t n = v.size();; n >>= 7) {
    if (n < 0x80) {
      out->push_back(static_cast<char>(n));
      break;
    }
    out->push_back(static_cast<char>((n & 0x7f) | 0x80));
  }
  out->append(v);
}

void PutNullable(const std::optional<double>& v, std::string* out) {
  if (!v || !std::isfinite(*v)) {
    out->push_back(1);
    return;
  }
  out->push_back(0);
  PutFixed<double>(*v, out);
}

std::string Engine(const ClickHouseUri& uri, const std::string& table) {
  (void)table;
  (void)uri;
  return "ENGINE = MergeTree() PARTITION BY day ORDER BY (model, gpu_id, ts_us)";
}

}  // namespace

// The record as written, with the row's origin added as its last two keys
// ("host", "replica"; JSON-escaped), so that `analyze` can break the fleet
// down by replica. A record that does not end in '}' is returned as is.
constexpr const char* kRecordWithOrigin =
    "if(substring(record, length(record), 1) = '}', concat(substring(record, 1, length(record) - "
    "1), ',\"host\":\"', replaceAll(replaceAll(host, '\\\\', '\\\\\\\\'), '\"', "
    "'\\\\\"'), '\",\"replica\":\"', replaceAll(replaceAll(replica, '\\\\', "
    "'\\\\\\\\'), '\"', '\\\\\"'), '\"}'), record)";

const std::vector<std::string>& ClickHouseSchema::Tables() {
  static const std::vector<std::string> kTables = {"requests", "batches", "gpu", "other"};
  return kTables;
}

std::string_view ClickHouseSchema::TableFor(RecordKind kind) {
  switch (kind) {
    case RecordKind::kRequest:
      return "requests";
    case RecordKind::kBatch:
      return "batches";
    case RecordKind::kGpu:
      return "gpu";
    default:
      return "other";
  }
}

const std::vector<ClickHouseColumn>& ClickHouseSchema::Columns(std::string_view table) {
  static const auto* kColumns = [] {
    auto* columns = new std::map<std::string, std::vector<ClickHouseColumn>, std::less<>>;
    for (const std::string& t : Tables()) {
      std::vector<ClickHouseColumn>& list = (*columns)[t];
      list.assign(std::begin(kCommonColumns), std::end(kCommonColumns));
      if (t == "requests")
        list.insert(list.end(), std::begin(kRequestColumns), std::end(kRequestColumns));
      if (t == "batches")
        list.insert(list.end(), std::begin(kBatchColumns), std::end(kBatchColumns));
      if (t == "gpu") list.insert(list.end(), std::begin(kGpuColumns), std::end(kGpuColumns));
      list.push_back({"record", "String"});
    }
    return columns;
  }();
  auto it = kColumns->find(BaseTable(table));
  static const std::vector<ClickHouseColumn> kNone;
  return it == kColumns->end() ? kNone : it->second;
}

FleetTableColumns ClickHouseSchema::AllColumns(std::string_view table) {
  return FleetTableColumns{std::string(BaseTable(table)), 0};
}

bool FleetTableColumns::Has(std::string_view column) const {
  int late = 0;
  for (const ClickHouseColumn& c : ClickHouseSchema::Columns(table)) {
    const bool here = !c.late || HasLate(late);
    if (c.late) ++late;
    if (c.name == column) return here;
  }
  return false;
}

std::string ClickHouseSchema::MissingLateColumns(const FleetTableColumns& columns) {
  std::string out;
  int late = 0;
  for (const ClickHouseColumn& c : Columns(columns.table)) {
    if (!c.late || columns.HasLate(late++)) continue;
    if (!out.empty()) out += ", ";
    out += c.name;
  }
  return out;
}

StatusOr<ClickHouseColumnTypes> ClickHouseSchema::ReadColumnTypes(const ClickHouseClient& client) {
  YS_ASSIGN_OR_RETURN(
      std::string body,
      client.Execute("SELECT table, name, type FROM system.columns WHERE database = " +
                     ClickHouseQuote(client.uri().database) + " FORMAT TabSeparatedRaw"));
  ClickHouseColumnTypes types;
  for (size_t p = 0; p < body.size();) {
    size_t nl = body.find('\n', p);
    if (nl == std::string::npos) nl = body.size();
    const std::string_view row(body.data() + p, nl - p);
    p = nl + 1;
    const size_t t1 = row.find('\t');
    const size_t t2 = t1 == row.npos ? row.npos : row.find('\t', t1 + 1);
    if (t2 == row.npos) continue;
    types[std::string(row.substr(0, t1))][std::string(row.substr(t1 + 1, t2 - t1 - 1))] =
        std::string(row.substr(t2 + 1));
  }
  return types;
}

StatusOr<FleetTableColumns> ClickHouseSchema::MatchColumns(std::string_view database,
                                                           std::string_view table,
                                                           const ClickHouseColumnTypes& types) {
  const std::string name = std::string(database) + "." + std::string(table);
  auto it = types.find(table);
  if (it == types.end() || Columns(table).empty()) {
    return NotFoundError("table " + name +
                         " doesn't exist (create the schema with `yoloscope db init`)");
  }
  FleetTableColumns out = AllColumns(table);
  int late = 0;
  for (const ClickHouseColumn& c : Columns(table)) {
    const int bit = c.late ? late++ : -1;
    auto col = it->second.find(std::string(c.name));
    if (col == it->second.end()) {
      if (bit >= 0) {
        out.late_missing |= 1u << bit;
        continue;
      }
      return FailedPreconditionError(
          "table " + name + " has no column " + std::string(c.name) + " " + std::string(c.type) +
          ", which every version of the fleet schema has: not a table `yoloscope db init` made "
          "(rename or drop it, then run `yoloscope db init`)");
    }
    if (col->second != c.type) {
      return FailedPreconditionError("table " + name + ": column " + std::string(c.name) + " is " +
                                     col->second + ", the fleet schema's is " +
                                     std::string(c.type) +
                                     " (change it with ALTER TABLE ... MODIFY COLUMN, or drop it "
                                     "and run `yoloscope db init`)");
    }
  }
  return out;
}

StatusOr<std::map<std::string, FleetTableColumns, std::less<>>> ClickHouseSchema::ReadColumns(
    const ClickHouseClient& client) {
  YS_ASSIGN_OR_RETURN(ClickHouseColumnTypes types, ReadColumnTypes(client));
  std::map<std::string, FleetTableColumns, std::less<>> out;
  for (const std::string& table : Tables()) {
    YS_ASSIGN_OR_RETURN(out[table], MatchColumns(client.uri().database, table, types));
  }
  return out;
}

StatusOr<std::vector<std::string>> ClickHouseSchema::UpgradeStatements(
    const ClickHouseUri& uri, const ClickHouseColumnTypes& types, std::vector<std::string>* added) {
  std::vector<std::string> names;  // local tables first, then the Distributed ones
  for (const std::string& table : Tables()) {
    names.push_back(uri.cluster.empty() ? table : table + "_local");
  }
  if (!uri.cluster.empty()) names.insert(names.end(), Tables().begin(), Tables().end());
  std::vector<std::string> statements;
  std::vector<std::string> what;
  for (const std::string& name : names) {
    YS_ASSIGN_OR_RETURN(FleetTableColumns have, MatchColumns(uri.database, name, types));
    std::string_view previous;
    int late = 0;
    for (const ClickHouseColumn& c : Columns(name)) {
      if (c.late && !have.HasLate(late)) {
        statements.push_back("ALTER TABLE " + uri.database + "." + name + " ADD COLUMN " +
                             ColumnDdl(c) + " AFTER " + std::string(previous));
        what.push_back(uri.database + "." + name + "." + std::string(c.name));
      }
      if (c.late) ++late;
      previous = c.name;
    }
  }
  if (added != nullptr) *added = std::move(what);
  return statements;
}

std::vector<std::string> ClickHouseSchema::CreateStatements(const ClickHouseUri& uri) {
  // No ON CLUSTER: it needs ZooKeeper's distributed DDL queue ("DDL background
  // thread is not initialized" without one), which a plain 18.16 install
  // lacks. `db init` is run against every shard instead; each gets the
  // local tables and the Distributed tables over the cluster. Sharded by
  // block id: an insert block goes whole to one shard, as one insert there
  // (with rand() a block was split over the shards, and an insert could
  // land on one and fail on another).
  std::vector<std::string> out;
  out.push_back("CREATE DATABASE IF NOT EXISTS " + uri.database);
  for (const std::string& table : Tables()) {
    std::string columns;
    for (const ClickHouseColumn& c : Columns(table)) {
      if (!columns.empty()) columns += ", ";
      columns += ColumnDdl(c);
    }
    const std::string local = uri.cluster.empty() ? table : table + "_local";
    out.push_back("CREATE TABLE IF NOT EXISTS " + uri.database + "." + local + " (" + columns +
                  ") " + Engine(uri, table));
    if (!uri.cluster.empty()) {
      out.push_back("CREATE TABLE IF NOT EXISTS " + uri.database + "." + table + " AS " +
                    uri.database + "." + local + " ENGINE = Distributed(" + uri.cluster + ", " +
                    uri.database + ", " + local + ", cityHash64(block_id))");
    }
  }
  return out;
}

bool ClickHouseSchema::AppendRow(const LogRecord& r, std::string_view line,
                                 const FleetRowOrigin& origin, std::string_view block_id,
                                 std::string* out) {
  return AppendRow(r, line, origin, block_id, AllColumns(TableFor(r.kind)), out);
}

bool ClickHouseSchema::AppendRow(const LogRecord& r, std::string_view line,
                                 const FleetRowOrigin& origin, std::string_view block_id,
                                 const FleetTableColumns& columns, std::string* out) {
  if (!r.ts_us) return false;
  std::string day, second;
  DayAndSecond(*r.ts_us, &day, &second);
  out->append("{\"day\":\"").append(day).append("\",\"ts\":\"").append(second).append("\"");
  Int("ts_us", r.ts_us, 0, out);
  Str("host", origin.host, out);
  Str("replica", origin.replica, out);
  Str("block_id", block_id, out);
  Str("model", r.model, out);
  Int("gpu_id", r.gpu_id, -2, out);
  switch (r.kind) {
    case RecordKind::kRequest:
      Str("request_id", r.request_id, out);
      Str("status", r.status, out);
      Int("batch_id", r.batch_id, -1, out);
      Int("batch_size", r.batch_size, 0, out);
      Int("queue_len", r.queue_len, -1, out);
      Int("input_w", r.input_w, 0, out);
      Int("input_h", r.input_h, 0, out);
      Num("queue_ms", r.queue_ms, out);
      Num("preprocess_ms", r.preprocess_ms, out);
      Num("inference_ms", r.inference_ms, out);
      Num("postprocess_ms", r.postprocess_ms, out);
      Num("total_ms", r.total_ms, out);
      if (columns.HasLate(kDecode)) Num("decode_ms", r.decode_ms, out);
      if (columns.HasLate(kH2d)) Num("h2d_ms", r.h2d_ms, out);
      if (columns.HasLate(kD2h)) Num("d2h_ms", r.d2h_ms, out);
      if (columns.HasLate(kMemUsed)) Num("mem_used_mb", r.mem_used_mb, out);
      if (columns.HasLate(kMemTotal)) Num("mem_total_mb", r.mem_total_mb, out);
      if (columns.HasLate(kGpuUtil)) Num("gpu_util", r.gpu_util, out);
      break;
    case RecordKind::kBatch:
      Int("batch_id", r.batch_id, -1, out);
      Int("batch_size", r.batch_size, 0, out);
      Int("instance", r.instance, -1, out);
      Str("status", r.status, out);
      Num("inference_ms", r.inference_ms, out);
      Num("h2d_ms", r.h2d_ms, out);
      Num("d2h_ms", r.d2h_ms, out);
      Num("mem_used_mb", r.mem_used_mb, out);
      Num("mem_total_mb", r.mem_total_mb, out);
      if (columns.HasLate(kBusy)) Num("busy_ms", r.busy_ms, out);
      break;
    case RecordKind::kGpu:
      Num("gpu_util", r.gpu_util, out);
      Num("mem_used_mb", r.mem_used_mb, out);
      Num("mem_total_mb", r.mem_total_mb, out);
      Num("mem_other_processes_mb", r.mem_other_processes_mb, out);
      Num("sm_clock_mhz", r.sm_clock_mhz, out);
      break;
    default:
      break;
  }
  Str("record", line, out);
  out->append("}\n");
  return true;
}

Status ClickHouseSchema::ParseLine(std::string_view line, LogRecord* out) {
  namespace od = simdjson::ondemand;
  static_assert(kLinePadding >= simdjson::SIMDJSON_PADDING);
  // One parser per thread: the shipper has one thread, `db load` another.
  thread_local od::parser parser;
  od::document doc;
  if (parser
          .iterate(
              simdjson::padded_string_view(line.data(), line.size(), line.size() + kLinePadding))
          .get(doc)) {
    return InvalidArgumentError("not JSON");
  }
  od::object object;
  if (doc.get_object().get(object)) return InvalidArgumentError("not a JSON object");
  LogRecord& r = *out;
  r = LogRecord{};
  std::string_view ts_text;
  auto num = [](od::value v, std::optional<double>* dst) {
    double d;
    if (!v.get_double().get(d)) *dst = d;
  };
  auto integer = [](od::value v, std::optional<int64_t>* dst) {
    int64_t i;
    if (!v.get_int64().get(i)) *dst = i;
  };
  auto text = [](od::value v, std::string_view* dst) {
    std::string_view sv;
    if (!v.get_string().get(sv)) *dst = sv;
  };
  // String views point into the parser's buffer: valid until the next
  // iterate, i.e. through AppendRow below.
  for (auto field_result : object) {
    od::field field;
    if (std::move(field_result).get(field)) return InvalidArgumentError("invalid JSON");
    std::string_view key;
    if (field.unescaped_key().get(key)) return InvalidArgumentError("invalid JSON key");
    od::value v = field.value();
    if (key == "event") {
      std::string_view e;
      text(v, &e);
      r.kind = e == logschema::kEventRequest ? RecordKind::kRequest
               : e == logschema::kEventBatch ? RecordKind::kBatch
               : e == logschema::kEventGpu   ? RecordKind::kGpu
                                             : RecordKind::kOther;
    } else if (key == "ts") {
      text(v, &ts_text);
    } else if (key == "request_id") {
      text(v, &r.request_id);
    } else if (key == "model") {
      text(v, &r.model);
    } else if (key == "status") {
      text(v, &r.status);
    } else if (key == "gpu_id") {
      integer(v, &r.gpu_id);
    } else if (key == "batch_id") {
      integer(v, &r.batch_id);
    } else if (key == "batch_size") {
      integer(v, &r.batch_size);
    } else if (key == "instance") {
      integer(v, &r.instance);
    } else if (key == "queue_len") {
      integer(v, &r.queue_len);
    } else if (key == "input_w") {
      integer(v, &r.input_w);
    } else if (key == "input_h") {
      integer(v, &r.input_h);
    } else if (key == "queue_ms") {
      num(v, &r.queue_ms);
    } else if (key == "preprocess_ms") {
      num(v, &r.preprocess_ms);
    } else if (key == "inference_ms") {
      num(v, &r.inference_ms);
    } else if (key == "postprocess_ms") {
      num(v, &r.postprocess_ms);
    } else if (key == "total_ms") {
      num(v, &r.total_ms);
    } else if (key == "decode_ms") {
      num(v, &r.decode_ms);
    } else if (key == "busy_ms") {
      num(v, &r.busy_ms);
    } else if (key == "h2d_ms") {
      num(v, &r.h2d_ms);
    } else if (key == "d2h_ms") {
      num(v, &r.d2h_ms);
    } else if (key == "gpu_util") {
      num(v, &r.gpu_util);
    } else if (key == "mem_used_mb") {
      num(v, &r.mem_used_mb);
    } else if (key == "mem_total_mb") {
      num(v, &r.mem_total_mb);
    } else if (key == "mem_other_processes_mb") {
      num(v, &r.mem_other_processes_mb);
    } else if (key == "sm_clock_mhz") {
      num(v, &r.sm_clock_mhz);
    }
  }
  if (ts_text.empty()) return InvalidArgumentError("no ts");
  StatusOr<int64_t> ts = ParseTimestampUs(ts_text);
  if (!ts.ok()) return InvalidArgumentError("ts: " + ts.status().message());
  r.ts_us = *ts;
  return Status::Ok();
}

Status ClickHouseSchema::AppendRowFromLine(std::string_view line, const FleetRowOrigin& origin,
                                           std::string_view block_id, std::string* out) {
  LogRecord r;
  YS_RETURN_IF_ERROR(ParseLine(line, &r));
  AppendRow(r, line, origin, block_id, out);
  return Status::Ok();
}

std::string ClickHouseSchema::ColumnList(const FleetTableColumns& columns) {
  std::string list = "(";
  int late = 0;
  for (const ClickHouseColumn& c : Columns(columns.table)) {
    if (c.late && !columns.HasLate(late++)) continue;
    if (list.size() > 1) list += ", ";
    list += c.name;
  }
  return list + ")";
}

void ClickHouseSchema::AppendRowBinary(const LogRecord& r, std::string_view line,
                                       const FleetRowOrigin& origin, std::string_view block_id,
                                       const FleetTableColumns& columns, std::string* out) {
  const int64_t ts_us = r.ts_us.value_or(0);
  const int64_t seconds = ts_us >= 0 ? ts_us / 1'000'000 : 0;
  PutFixed<uint16_t>(static_cast<uint16_t>(seconds / 86'400), out);  // day Date
  PutFixed<uint32_t>(static_cast<uint32_t>(seconds), out);           // ts DateTime
  PutFixed<int64_t>(ts_us, out);
  PutString(origin.host, out);
  PutString(origin.replica, out);
  PutString(block_id, out);
  PutString(r.model, out);
  PutFixed<int32_t>(static_cast<int32_t>(r.gpu_id.value_or(-2)), out);
  auto i32 = [out](const std::optional<int64_t>& v, int64_t missing) {
    PutFixed<int32_t>(static_cast<int32_t>(v.value_or(missing)), out);
  };
  switch (r.kind) {
    case RecordKind::kRequest:
      PutString(r.request_id, out);
      PutString(r.status, out);
      PutFixed<int64_t>(r.batch_id.value_or(-1), out);
      i32(r.batch_size, 0);
      i32(r.queue_len, -1);
      i32(r.input_w, 0);
      i32(r.input_h, 0);
      PutNullable(r.queue_ms, out);
      PutNullable(r.preprocess_ms, out);
      PutNullable(r.inference_ms, out);
      PutNullable(r.postprocess_ms, out);
      PutNullable(r.total_ms, out);
      if (columns.HasLate(kDecode)) PutNullable(r.decode_ms, out);
      if (columns.HasLate(kH2d)) PutNullable(r.h2d_ms, out);
      if (columns.HasLate(kD2h)) PutNullable(r.d2h_ms, out);
      if (columns.HasLate(kMemUsed)) PutNullable(r.mem_used_mb, out);
      if (columns.HasLate(kMemTotal)) PutNullable(r.mem_total_mb, out);
      if (columns.HasLate(kGpuUtil)) PutNullable(r.gpu_util, out);
      break;
    case RecordKind::kBatch:
      PutFixed<int64_t>(r.batch_id.value_or(-1), out);
      i32(r.batch_size, 0);
      i32(r.instance, -1);
      PutString(r.status, out);
      PutNullable(r.inference_ms, out);
      PutNullable(r.h2d_ms, out);
      PutNullable(r.d2h_ms, out);
      PutNullable(r.mem_used_mb, out);
      PutNullable(r.mem_total_mb, out);
      if (columns.HasLate(kBusy)) PutNullable(r.busy_ms, out);
      break;
    case RecordKind::kGpu:
      PutNullable(r.gpu_util, out);
      PutNullable(r.mem_used_mb, out);
      PutNullable(r.mem_total_mb, out);
      PutNullable(r.mem_other_processes_mb, out);
      PutNullable(r.sm_clock_mhz, out);
      break;
    default:
      break;
  }
  PutString(line, out);
}

StatusOr<std::string> ClickHouseSchema::WhereClause(const ClickHouseUri& uri) {
  std::string where;
  auto bound = [&](const std::string& text, const char* op) -> Status {
    if (text.empty()) return Status::Ok();
    YS_ASSIGN_OR_RETURN(int64_t us, ParseTimestampUs(text));
    where +=
        std::string(where.empty() ? " WHERE " : " AND ") + "ts_us " + op + " " + std::to_string(us);
    return Status::Ok();
  };
  Status s = bound(uri.since, ">=");
  if (!s.ok()) return InvalidArgumentError("since=" + uri.since + ": " + s.message());
  s = bound(uri.until, "<");
  if (!s.ok()) return InvalidArgumentError("until=" + uri.until + ": " + s.message());
  // The condition applies to every table: it may name the columns they
  // share (day, ts, ts_us, host, replica, model, gpu_id).
  if (!uri.where.empty()) {
    where += std::string(where.empty() ? " WHERE " : " AND ") + "(" + uri.where + ")";
  }
  return where;
}

StatusOr<std::string> ClickHouseSchema::SelectRecords(const ClickHouseUri& uri) {
  YS_ASSIGN_OR_RETURN(std::string where, WhereClause(uri));
  std::string sql = "SELECT record FROM (";
  for (size_t i = 0; i < Tables().size(); ++i) {
    if (i > 0) sql += " UNION ALL ";
    sql += "SELECT ts_us, " + std::string(kRecordWithOrigin) + " AS record FROM " + uri.database +
           "." + Tables()[i] + where;
  }
  sql += ") ORDER BY ts_us FORMAT TabSeparatedRaw";
  return sql;
}

}  // namespace yoloscope
