#include "fleet/clickhouse_schema.h"

#include <simdjson.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>

#include "common/time_format.h"
#include "reqlog/json_line_serializer.h"
#include "reqlog/log_schema.h"

namespace yoloscope {
namespace {

// Columns every table has, then each table's typed columns.
constexpr const char* kCommonColumns =
    "day Date, ts DateTime, ts_us Int64, host String, replica String, block_id String, "
    "model String, gpu_id Int32, ";
constexpr const char* kRequestColumns =
    "request_id String, status String, batch_id Int64, batch_size Int32, "
    "queue_len Int32, input_w Int32, input_h Int32, queue_ms Nullable(Float64), "
    "preprocess_ms Nullable(Float64), inference_ms Nullable(Float64), "
    "postprocess_ms Nullable(Float64), total_ms Nullable(Float64), ";
constexpr const char* kBatchColumns =
    "batch_id Int64, batch_size Int32, instance Int32, status String, "
    "inference_ms Nullable(Float64), h2d_ms Nullable(Float64), d2h_ms Nullable(Float64), "
    "mem_used_mb Nullable(Float64), mem_total_mb Nullable(Float64), ";
constexpr const char* kGpuColumns =
    "gpu_util Nullable(Float64), mem_used_mb Nullable(Float64), mem_total_mb Nullable(Float64), "
    "mem_other_processes_mb Nullable(Float64), sm_clock_mhz Nullable(Float64), ";

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
    std::string columns = kCommonColumns;
    if (table == "requests") columns += kRequestColumns;
    if (table == "batches") columns += kBatchColumns;
    if (table == "gpu") columns += kGpuColumns;
    columns += "record String";
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

const std::string& ClickHouseSchema::ColumnList(std::string_view table) {
  static const auto* kLists = [] {
    auto* lists = new std::map<std::string, std::string, std::less<>>;
    for (const std::string& t : Tables()) {
      std::string columns = kCommonColumns;
      if (t == "requests") columns += kRequestColumns;
      if (t == "batches") columns += kBatchColumns;
      if (t == "gpu") columns += kGpuColumns;
      columns += "record String";
      // "name Type, name Type, ..." -> "(name, name, ...)"
      std::string list = "(";
      for (size_t p = 0; p < columns.size();) {
        const size_t space = columns.find(' ', p);
        if (list.size() > 1) list += ", ";
        list.append(columns, p, space - p);
        const size_t comma = columns.find(", ", space);
        p = comma == std::string::npos ? columns.size() : comma + 2;
      }
      (*lists)[t] = list + ")";
    }
    return lists;
  }();
  return kLists->find(table)->second;
}

void ClickHouseSchema::AppendRowBinary(const LogRecord& r, std::string_view line,
                                       const FleetRowOrigin& origin, std::string_view block_id,
                                       std::string* out) {
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
