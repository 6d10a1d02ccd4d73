#include "analyzer/clickhouse_pushdown.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "fleet/clickhouse_client.h"
#include "fleet/clickhouse_schema.h"

namespace yoloscope {
namespace {

// The aggregator's request outcomes (log_aggregator.cc IsOkStatus /
// IsRejection) on the `status` column. A request with no status is served
// (the `error` text of a record without status is not consulted).
constexpr const char* kOk =
    "(status = '' OR status IN ('ok', '200', '\xE6\x88\x90\xE5\x8A\x9F', "
    "'\xE6\xAD\xA3\xE5\xB8\xB8') OR lower(status) IN ('ok', 'success', 'succeeded', "
    "'successful'))";
constexpr const char* kRejected =
    "(status IN ('503', '429') OR positionCaseInsensitive(status, 'queue_full') > 0 OR "
    "positionCaseInsensitive(status, 'queue full') > 0 OR positionCaseInsensitive(status, "
    "'overload') > 0 OR positionCaseInsensitive(status, 'reject') > 0 OR "
    "positionCaseInsensitive(status, 'too_many') > 0 OR positionCaseInsensitive(status, 'too "
    "many') > 0 OR positionCaseInsensitive(status, 'resource_exhausted') > 0 OR "
    "positionCaseInsensitive(status, 'unavailable') > 0 OR positionCaseInsensitive(status, "
    "'busy') > 0)";
// Input size class (work_key.h SizeClass) of input_w/input_h.
constexpr const char* kSizeClass =
    "multiIf(greatest(input_w, input_h) <= 0, 0, greatest(input_w, input_h) <= 320, 1, "
    "greatest(input_w, input_h) <= 640, 2, greatest(input_w, input_h) <= 1280, 3, "
    "greatest(input_w, input_h) <= 1920, 4, greatest(input_w, input_h) <= 2560, 5, "
    "greatest(input_w, input_h) <= 4096, 6, 7)";

std::string Cls() { return std::string("multiIf(") + kOk + ", 0, " + kRejected + ", 1, 2)"; }

// log_aggregator.cc ResolveGpu on the gpu_id column (-2: not logged).
std::string Gpu(int max_gpus) {
  return "if(gpu_id >= " + std::to_string(max_gpus) +
         ", -3, if(gpu_id >= 0 OR gpu_id = -1, gpu_id, -2))";
}

std::string And(const std::string& where, const std::string& cond) {
  return where.empty() ? " WHERE " + cond : where + " AND " + cond;
}

// The TabSeparated rows of a result, fields unescaped.
std::vector<std::vector<std::string>> Rows(const std::string& body) {
  std::vector<std::vector<std::string>> rows;
  size_t p = 0;
  while (p < body.size()) {
    size_t nl = body.find('\n', p);
    if (nl == std::string::npos) nl = body.size();
    std::vector<std::string> row(1);
    for (size_t i = p; i < nl; ++i) {
      const char c = body[i];
      if (c == '\t') {
        row.emplace_back();
      } else if (c == '\\' && i + 1 < nl) {
        const char e = body[++i];
        row.back().push_back(e == 't' ? '\t' : e == 'n' ? '\n' : e == '0' ? '\0' : e);
      } else {
        row.back().push_back(c);
      }
    }
    if (nl > p) rows.push_back(std::move(row));
    p = nl + 1;
  }
  return rows;
}

int64_t I(const std::string& s) { return std::strtoll(s.c_str(), nullptr, 10); }
double D(const std::string& s) { return std::strtod(s.c_str(), nullptr); }

RunningStat Stat(int64_t n, double sum, double min, double max) {
  RunningStat r;
  if (n <= 0) return r;
  r.n = n;
  r.sum = sum;
  r.min = min;
  r.max = max;
  return r;
}

}  // namespace

std::string ClickHousePushDown::BucketSql(const std::string& ms, int bits) {
  // BucketIndex: 0 below 1 us, the top bucket from 2^32 us, else
  // 1 + (exponent << bits) + top `bits` mantissa bits of the double us
  // = 1 + (raw >> (52 - bits)) - (1023 << bits) for a positive double.
  const std::string us = "(" + ms + ") * 1000.";
  return "if(" + us + " < 1, 0, if(" + us + " >= 4294967296, " + std::to_string(32 << bits) +
         ", toInt32(bitShiftRight(reinterpretAsUInt64(" + "reinterpretAsString(" + us + ")), " +
         std::to_string(52 - bits) + ")) - " + std::to_string(1023 << bits) + " + 1))";
}

Status ClickHousePushDown::Fill(const ClickHouseUri& uri, LogAggregator* agg,
                                std::vector<std::string>* statements) {
  YS_ASSIGN_OR_RETURN(std::string where, ClickHouseSchema::WhereClause(uri));
  YS_ASSIGN_OR_RETURN(auto client, ClickHouseClient::Create(uri, ClickHouseClientConfig{}));
  // Which columns the tables have: the late ones of `requests` (decode_ms,
  // h2d_ms, d2h_ms and the device fields) are read from `record` when the
  // table is older than them.
  YS_ASSIGN_OR_RETURN(auto columns, ClickHouseSchema::ReadColumns(*client));
  const FleetTableColumns& request_columns = columns.at("requests");
  const std::string db = uri.database + ".";
  const std::string gpu = Gpu(agg->config_.max_gpus);
  const std::string cls = Cls();
  const int fine = LatencyHistogram::kFineBits;
  auto query = [&](const std::string& sql) -> StatusOr<std::vector<std::vector<std::string>>> {
    if (statements != nullptr) statements->push_back(sql);
    YS_ASSIGN_OR_RETURN(std::string body, client->Execute(sql + " FORMAT TabSeparated"));
    return Rows(body);
  };

  // Records per table.
  {
    std::string sql;
    for (size_t t = 0; t < ClickHouseSchema::Tables().size(); ++t) {
      if (t > 0) sql += " UNION ALL ";
      sql += "SELECT " + std::to_string(t) +
             ", count(), min(ts_us), max(ts_us), sum(toFloat64(ts_us)) FROM " + db +
             ClickHouseSchema::Tables()[t] + where;
    }
    YS_ASSIGN_OR_RETURN(auto rows, query(sql));
    for (const auto& r : rows) {
      const int64_t n = I(r[1]);
      agg->records_ += n;
      const int64_t t = I(r[0]);
      if (t == 1) agg->batches_ += n;
      if (t == 2) agg->gpu_samples_ += n;
      if (t == 3) agg->other_records_ += n;
      agg->any_ts_.Merge(Stat(n, D(r[4]), D(r[2]), D(r[3])));
    }
    agg->field_counts_[static_cast<size_t>(LogField::kTs)] = agg->records_;
  }

  // The time buckets (the time series, the windows' equal-work cells), at
  // the resolution TimeBucketStore would reach: the finest rung of its
  // ladder at which the distinct buckets and equal-work cells fit.
  TimeBucketStore& store = agg->time_;
  constexpr int kLevels = 40;
  std::string union_ts;
  for (size_t t = 0; t < ClickHouseSchema::Tables().size(); ++t) {
    if (t > 0) union_ts += " UNION ALL ";
    union_ts += "SELECT ts_us FROM " + db + ClickHouseSchema::Tables()[t] + where;
  }
  // Work samples: served requests with inference_ms or total_ms, batches
  // with a status that is ok and an inference_ms.
  const std::string samples =
      "SELECT ts_us, model, " + gpu + " AS g, batch_size AS bs, " + kSizeClass +
      " AS sc, 0 AS src FROM " + db + "requests" +
      And(where, cls + " = 0 AND (inference_ms >= 0 OR total_ms >= 0)") +
      " UNION ALL SELECT ts_us, model, " + gpu + " AS g, batch_size AS bs, 0 AS sc, 1 AS src FROM " +
      db + "batches" + And(where, std::string(kOk) + " AND inference_ms >= 0");
  // The distinct buckets and cells at a rung: both shrink as the rung
  // grows, so each bound is found by a binary search (one cheap statement
  // on the typed columns per probe, instead of counting at every rung).
  auto count_at = [&](int l, bool cells) -> StatusOr<int64_t> {
    const std::string res = std::to_string(TimeBucketStore::LadderUs(l));
    const std::string sql =
        cells ? "SELECT uniqExact((intDiv(ts_us, " + res + "), model, g, bs, sc, src)) FROM (" +
                    samples + ")"
              : "SELECT uniqExact(intDiv(ts_us, " + res + ")) FROM (" + union_ts + ")";
    YS_ASSIGN_OR_RETURN(auto rows, query(sql));
    if (rows.empty() || rows[0].empty()) return InternalError("ClickHouse returned no count");
    return I(rows[0][0]);
  };
  // The finest rung at which the log's span is at most max_buckets buckets
  // fits whatever the records; search below it.
  int hi = 0;
  const double span_us = agg->any_ts_.n ? agg->any_ts_.max - agg->any_ts_.min : 0.0;
  while (hi < kLevels - 1 &&
         span_us / static_cast<double>(TimeBucketStore::LadderUs(hi)) + 2 > store.max_buckets_) {
    ++hi;
  }
  int lo = 0;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    YS_ASSIGN_OR_RETURN(int64_t n, count_at(mid, false));
    if (n <= store.max_buckets_ || n <= 1) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  int level = lo;
  for (;; ++level) {
    YS_ASSIGN_OR_RETURN(int64_t cells, count_at(level, true));
    if (cells <= store.max_cells_ || level == kLevels - 1) break;
  }
  store.level_ = level;
  store.buckets_.clear();
  store.cached_[0] = store.cached_[1] = nullptr;
  const std::string k = "intDiv(ts_us, " + std::to_string(TimeBucketStore::LadderUs(level)) + ")";

  // Requests by outcome and group (GPU, model, replica).
  {
    YS_ASSIGN_OR_RETURN(
        auto rows,
        query("SELECT model, " + gpu + " AS g, host, replica, " + cls +
              " AS cls, count(), min(ts_us), max(ts_us), sum(toFloat64(ts_us)), "
              "countIf(batch_size > 0), sumIf(toFloat64(batch_size), batch_size > 0), "
              "minIf(batch_size, batch_size > 0), maxIf(batch_size, batch_size > 0), "
              "sumIf(1 / batch_size, batch_size > 0), minIf(1 / batch_size, batch_size > 0), "
              "maxIf(1 / batch_size, batch_size > 0), countIf(status != ''), "
              "countIf(request_id != ''), countIf(model != ''), countIf(gpu_id != -2) FROM " +
              db + "requests" + where + " GROUP BY model, g, host, replica, cls"));
    for (const auto& r : rows) {
      const int64_t n = I(r[5]), c = I(r[4]);
      const RunningStat ts = Stat(n, D(r[8]), D(r[6]), D(r[7]));
      const int64_t nb = I(r[9]);
      const RunningStat bs = Stat(nb, D(r[10]), D(r[11]), D(r[12]));
      const RunningStat inv = Stat(nb, D(r[13]), D(r[14]), D(r[15]));
      agg->requests_ += n;
      agg->request_ts_.Merge(ts);
      if (c == 0) agg->served_ts_.Merge(ts);
      if (c != 0) agg->errors_ += n;
      if (c == 1) agg->refused_ += n;
      agg->field_counts_[static_cast<size_t>(LogField::kStatus)] += I(r[16]);
      agg->field_counts_[static_cast<size_t>(LogField::kRequestId)] += I(r[17]);
      agg->field_counts_[static_cast<size_t>(LogField::kModel)] += I(r[18]);
      agg->field_counts_[static_cast<size_t>(LogField::kGpuId)] += I(r[19]);
      agg->field_counts_[static_cast<size_t>(LogField::kBatchSize)] += nb;
      std::vector<GroupStats*> groups = {&agg->by_gpu_[I(r[1])], &agg->by_model_[r[0]]};
      if (!r[2].empty() || !r[3].empty()) groups.push_back(&agg->by_replica_[r[2] + "/" + r[3]]);
      for (GroupStats* g : groups) {
        g->requests += n;
        if (c != 0) g->errors += n;
        g->ts_us.Merge(ts);
        g->batch_size.Merge(bs);
        g->inverse_batch_size.Merge(inv);
      }
    }
  }

  // Errors by status.
  {
    YS_ASSIGN_OR_RETURN(auto rows, query("SELECT status, count() FROM " + db + "requests" +
                                         And(where, cls + " != 0") + " GROUP BY status"));
    for (const auto& r : rows) agg->errors_by_status_[r[0].empty() ? "error" : r[0]] += I(r[1]);
  }

  // Per-stage latency of served requests (stages 0-7), the latency of
  // refused and failed ones (8), and the memory and utilisation that request
  // records carry (9-11), per group. decode/h2d/d2h and the device fields
  // come from their columns; a table older than those columns has them only
  // in `record` (then this is the one statement that reads it).
  {
    auto col = [](const char* c) { return "ifNull(" + std::string(c) + ", -1)"; };
    auto rec = [&](const char* f) {
      if (request_columns.Has(f)) return col(f);
      return "if(visitParamHas(record, '" + std::string(f) +
             "'), visitParamExtractFloat(record, '" + f + "'), -1)";
    };
    const std::string inner =
        "SELECT model, " + gpu + " AS g, host, replica, " + cls + " AS cls, " + col("queue_ms") +
        " AS s0, " + rec("decode_ms") + " AS s1, " + col("preprocess_ms") + " AS s2, " +
        rec("h2d_ms") + " AS s3, " + col("inference_ms") + " AS s4, " + rec("d2h_ms") + " AS s5, " +
        col("postprocess_ms") + " AS s6, " + col("total_ms") + " AS s7, " + k + " AS k, " +
        rec("mem_used_mb") +
        " AS s9, " + rec("mem_total_mb") + " AS s10, " + rec("gpu_util") + " AS s11 FROM " + db +
        "requests" + where;
    YS_ASSIGN_OR_RETURN(
        auto rows,
        // Stages 100 and 101: decode + preprocess and h2d + d2h of every
        // request per time bucket (b = the bucket), for the windows.
        query("SELECT if(x.1 >= 100, '', model) AS o_model, if(x.1 >= 100, 0, g) AS o_g, "
              "if(x.1 >= 100, '', host) AS o_host, if(x.1 >= 100, '', replica) AS o_replica, "
              "if(x.1 >= 100, 0, cls) AS o_cls, x.1 AS stage, if(stage >= 100, k, if(stage >= 9, "
              "0, " +
              BucketSql("x.2", fine) + ")) AS b, count(), sum(x.2), min(x.2), max(x.2) FROM (" +
              inner +
              ") ARRAY JOIN arrayFilter(y -> y.2 >= 0, arrayConcat(if(cls = 0, [(0, s0), (1, "
              "s1), (2, s2), (3, s3), (4, s4), (5, s5), (6, s6), (7, s7), (9, s9), (10, s10), (11, "
              "s11)], [(8, if(s7 >= 0, s7, s4)), (9, s9), (10, s10), (11, s11)]), [(100, if(s1 >= 0 "
              "OR s2 >= 0, if(s1 >= 0, s1, 0) + if(s2 >= 0, s2, 0), -1)), (101, if(s3 >= 0 OR s5 >= "
              "0, if(s3 >= 0, s3, 0) + if(s5 >= 0, s5, 0), -1))])) AS x "
              "GROUP BY o_model, o_g, o_host, o_replica, o_cls, stage, b"));
    constexpr LogField kStageFields[] = {
        LogField::kQueueMs,     LogField::kDecodeMs, LogField::kPreprocessMs,  LogField::kH2dMs,
        LogField::kInferenceMs, LogField::kD2hMs,    LogField::kPostprocessMs, LogField::kTotalMs};
    for (const auto& r : rows) {
      const int64_t c = I(r[4]), stage = I(r[5]), n = I(r[7]);
      const int b = static_cast<int>(std::min<int64_t>(I(r[6]), 1 << 20));
      const double sum = D(r[8]), min = D(r[9]), max = D(r[10]);
      if (stage >= 100) {
        TimeBucket& bucket = store.buckets_[I(r[6])];
        (stage == 100 ? bucket.pre_ms : bucket.xfer_ms).Merge(Stat(n, sum, min, max));
        continue;
      }
      std::vector<GroupStats*> groups = {&agg->by_gpu_[I(r[1])], &agg->by_model_[r[0]]};
      if (!r[2].empty() || !r[3].empty()) groups.push_back(&agg->by_replica_[r[2] + "/" + r[3]]);
      if (stage < kNumLogStages) {
        agg->stages_[static_cast<size_t>(stage)].RecordBucket(b, n, sum, min, max);
        agg->field_counts_[static_cast<size_t>(kStageFields[stage])] += n;
        for (GroupStats* g : groups) {
          if (stage == static_cast<int>(LogStage::kTotal))
            g->total.RecordBucket(b, n, sum, min, max);
          if (stage == static_cast<int>(LogStage::kInference))
            g->inference.RecordBucket(b, n, sum, min, max);
        }
      } else if (stage == kNumLogStages) {
        (c == 1 ? agg->refused_latency_ : agg->failed_latency_).RecordBucket(b, n, sum, min, max);
      } else {
        const RunningStat st = Stat(n, sum, min, max);
        for (GroupStats* g : groups) {
          (stage == 9 ? g->mem_used : stage == 10 ? g->mem_total : g->gpu_util).Merge(st);
        }
        const LogField f = stage == 9    ? LogField::kMemUsed
                           : stage == 10 ? LogField::kMemTotal
                                         : LogField::kGpuUtil;
        agg->field_counts_[static_cast<size_t>(f)] += n;
      }
    }
  }

  // Equal-work baselines: served requests by model x gpu x batch x size
  // class (inference_ms, else total_ms), and served batch records.
  {
    YS_ASSIGN_OR_RETURN(
        auto rows,
        query("SELECT model, g, bs, sc, m, " + BucketSql("v", fine) +
              " AS b, count(), sum(v), min(v), max(v) FROM (SELECT model, " + gpu +
              " AS g, batch_size AS bs, " + kSizeClass +
              " AS sc, ifNull(inference_ms, -1) AS inf_v, ifNull(total_ms, -1) AS tot, if(inf_v >= "
              "0, 0, 1) AS m, if(inf_v >= 0, inf_v, tot) AS v FROM " +
              db + "requests" + And(where, cls + " = 0") +
              ") WHERE v >= 0 GROUP BY model, g, bs, sc, m, b"));
    for (const auto& r : rows) {
      WorkKey key;
      key.model_hash = ModelHash(r[0]);
      key.gpu_id = static_cast<int32_t>(I(r[1]));
      key.batch_size = static_cast<int32_t>(std::clamp<int64_t>(I(r[2]), 0, 1 << 20));
      key.size_class = static_cast<int16_t>(I(r[3]));
      WorkStats& w = agg->FindOrAddWork(key, r[0]);
      (I(r[4]) == 0 ? w.inference : w.total)
          .RecordBucket(static_cast<int>(I(r[5])), I(r[6]), D(r[7]), D(r[8]), D(r[9]));
    }
    YS_ASSIGN_OR_RETURN(
        auto batches,
        query("SELECT model, " + gpu + " AS g, batch_size, " + BucketSql("inference_ms", fine) +
              " AS b, count(), sum(inference_ms), min(inference_ms), max(inference_ms) FROM " + db +
              "batches" +
              And(where, std::string(kOk) + " AND inference_ms IS NOT NULL AND inference_ms >= 0") +
              " GROUP BY model, g, batch_size, b"));
    for (const auto& r : batches) {
      WorkKey key;
      key.model_hash = ModelHash(r[0]);
      key.gpu_id = static_cast<int32_t>(I(r[1]));
      key.batch_size = static_cast<int32_t>(std::clamp<int64_t>(I(r[2]), 0, 1 << 20));
      key.from_batch_record = 1;
      const int b = static_cast<int>(I(r[3]));
      const int64_t n = I(r[4]);
      agg->FindOrAddWork(key, r[0]).inference.RecordBucket(b, n, D(r[5]), D(r[6]), D(r[7]));
      agg->batch_inference_.RecordBucket(b, n, D(r[5]), D(r[6]), D(r[7]));
    }
  }

  // Batch sizes and queue lengths (exact distributions).
  {
    auto bump = [](std::vector<int64_t>* v, int64_t index, size_t slots, int64_t n) {
      if (v->empty()) v->assign(slots + 1, 0);
      (*v)[index < 0 ? 0 : std::min(static_cast<size_t>(index), slots)] += n;
    };
    YS_ASSIGN_OR_RETURN(auto rb, query("SELECT batch_size, count() FROM " + db + "requests" +
                                       And(where, "batch_size > 0") + " GROUP BY batch_size"));
    for (const auto& r : rb) bump(&agg->batch_size_requests_, I(r[0]), 1024, I(r[1]));
    YS_ASSIGN_OR_RETURN(auto bb, query("SELECT batch_size, count() FROM " + db + "batches" +
                                       And(where, "batch_size > 0") + " GROUP BY batch_size"));
    for (const auto& r : bb) bump(&agg->batch_size_batches_, I(r[0]), 1024, I(r[1]));
    YS_ASSIGN_OR_RETURN(auto rq, query("SELECT queue_len, count() FROM " + db + "requests" +
                                       And(where, "queue_len >= 0") + " GROUP BY queue_len"));
    for (const auto& r : rq) {
      const int64_t q = I(r[0]), n = I(r[1]);
      bump(&agg->queue_len_, q, 4096, n);
      agg->queue_len_stat_.Merge(Stat(n, static_cast<double>(q) * static_cast<double>(n),
                                      static_cast<double>(q), static_cast<double>(q)));
      agg->queue_len_hist_.Record(static_cast<double>(q), n);
      agg->field_counts_[static_cast<size_t>(LogField::kQueueLen)] += n;
    }
  }

  // Device state by GPU from batch and gpu records.
  {
    auto stat = [](const char* c) {
      return std::string("countIf(") + c + " IS NOT NULL), sum(" + c + "), min(" + c + "), max(" +
             c + ")";
    };
    YS_ASSIGN_OR_RETURN(
        auto rows,
        query("SELECT " + gpu + " AS g, " + stat("mem_used_mb") + ", " + stat("mem_total_mb") +
              ", 0, 0, 0, 0 FROM " + db + "batches" + where + " GROUP BY g UNION ALL SELECT " +
              gpu + " AS g, " + stat("mem_used_mb") + ", " + stat("mem_total_mb") + ", " +
              stat("gpu_util") + " FROM " + db + "gpu" + where + " GROUP BY g"));
    for (const auto& r : rows) {
      GroupStats& g = agg->by_gpu_[I(r[0])];
      g.mem_used.Merge(Stat(I(r[1]), D(r[2]), D(r[3]), D(r[4])));
      g.mem_total.Merge(Stat(I(r[5]), D(r[6]), D(r[7]), D(r[8])));
      g.gpu_util.Merge(Stat(I(r[9]), D(r[10]), D(r[11]), D(r[12])));
    }
  }
  // The rest of the time buckets.
  {
    // Records per kind; batch sizes of batch records.
    {
      std::string sql;
      for (size_t t = 0; t < ClickHouseSchema::Tables().size(); ++t) {
        if (t > 0) sql += " UNION ALL ";
        // Only batch records have a batch_size column here.
        const std::string sizes =
            t == 1 ? "countIf(batch_size > 0), sumIf(toFloat64(batch_size), batch_size > 0), "
                     "minIf(batch_size, batch_size > 0), maxIf(batch_size, batch_size > 0)"
                   : "0, 0, 0, 0";
        sql += "SELECT " + std::to_string(t) + ", " + k + " AS k, count(), " + sizes + " FROM " +
               db + ClickHouseSchema::Tables()[t] + where + " GROUP BY k";
      }
      YS_ASSIGN_OR_RETURN(auto rows, query(sql));
      for (const auto& r : rows) {
        TimeBucket& b = store.buckets_[I(r[1])];
        const int64_t t = I(r[0]), n = I(r[2]);
        b.records += n;
        if (t == 1) {
          b.batches += n;
          b.batch_record_size.Merge(Stat(I(r[3]), D(r[4]), D(r[5]), D(r[6])));
        }
        if (t == 2) b.gpu_samples += n;
      }
    }

    // Requests: counts, outcomes, stage sums (decode + preprocess and h2d +
    // d2h come with the per-stage statement).
    {
      auto col = [](const char* c) { return "ifNull(" + std::string(c) + ", -1)"; };
      auto stat = [](const std::string& v, const std::string& cond) {
        return "countIf(" + cond + "), sumIf(" + v + ", " + cond + "), minIf(" + v + ", " + cond +
               "), maxIf(" + v + ", " + cond + ")";
      };
      YS_ASSIGN_OR_RETURN(
          auto rows,
          query("SELECT k, count(), countIf(cls != 0), countIf(cls = 1), min(ts_us), max(ts_us), "
                "sum(toFloat64(ts_us)), " +
                stat("s7", "cls = 0 AND s7 >= 0") + ", " + stat("s4", "cls = 0 AND s4 >= 0") +
                ", " + stat("s0", "s0 >= 0") + ", " +
                stat("s6", "s6 >= 0") + ", " + stat("toFloat64(queue_len)", "queue_len >= 0") +
                ", " + stat("toFloat64(batch_size)", "batch_size > 0") + " FROM (SELECT " + k +
                " AS k, ts_us, queue_len, batch_size, " + cls + " AS cls, " + col("queue_ms") +
                " AS s0, " + col("inference_ms") + " AS s4, " + col("postprocess_ms") + " AS s6, " +
                col("total_ms") + " AS s7 FROM " +
                db + "requests" + where + ") GROUP BY k"));
      for (const auto& r : rows) {
        TimeBucket& b = store.buckets_[I(r[0])];
        b.requests += I(r[1]);
        b.errors += I(r[2]);
        b.rejections += I(r[3]);
        b.request_ts.Merge(Stat(I(r[1]), D(r[6]), D(r[4]), D(r[5])));
        RunningStat* stats[] = {&b.total_ms, &b.inference_ms, &b.queue_ms,
                                &b.post_ms,  &b.queue_len,    &b.batch_size};
        for (size_t i = 0; i < std::size(stats); ++i) {
          const size_t c = 7 + 4 * i;
          stats[i]->Merge(Stat(I(r[c]), D(r[c + 1]), D(r[c + 2]), D(r[c + 3])));
        }
      }
    }

    // The windows' latency histograms (coarse buckets) of served requests.
    {
      const int coarse = LatencyHistogram::kCoarseBits;
      YS_ASSIGN_OR_RETURN(
          auto rows,
          query("SELECT " + k + " AS k, x.1 AS m, " + BucketSql("x.2", coarse) +
                " AS b, count(), sum(x.2), min(x.2), max(x.2) FROM " + db +
                "requests ARRAY JOIN arrayFilter(y -> y.2 >= 0, [(0, ifNull(total_ms, -1)), (1, "
                "ifNull(inference_ms, -1))]) AS x" +
                And(where, cls + " = 0") + " GROUP BY k, m, b"));
      for (const auto& r : rows) {
        TimeBucket& b = store.buckets_[I(r[0])];
        (I(r[1]) == 0 ? b.total_hist : b.inference_hist)
            .RecordBucket(static_cast<int>(I(r[2])), I(r[3]), D(r[4]), D(r[5]), D(r[6]));
      }
    }

    // Equal-work cells per bucket.
    {
      YS_ASSIGN_OR_RETURN(
          auto rows,
          query("SELECT k, model, g, bs, sc, src, m, count(), sum(v) FROM (SELECT " + k +
                " AS k, model, " + gpu + " AS g, batch_size AS bs, " + kSizeClass +
                " AS sc, 0 AS src, ifNull(inference_ms, -1) AS inf_v, ifNull(total_ms, -1) AS "
                "tot, if(inf_v >= 0, 0, 1) AS m, if(inf_v >= 0, inf_v, tot) AS v FROM " +
                db + "requests" + And(where, cls + " = 0") + " UNION ALL SELECT " + k +
                " AS k, model, " + gpu +
                " AS g, batch_size AS bs, 0 AS sc, 1 AS src, 0 AS inf_v, 0 AS tot, 0 AS m, "
                "assumeNotNull(inference_ms) AS v FROM " +
                db + "batches" + And(where, std::string(kOk) + " AND inference_ms >= 0") +
                ") WHERE v >= 0 GROUP BY k, model, g, bs, sc, src, m"));
      for (const auto& r : rows) {
        WorkKey key;
        key.model_hash = ModelHash(r[1]);
        key.gpu_id = static_cast<int32_t>(I(r[2]));
        key.batch_size = static_cast<int32_t>(std::clamp<int64_t>(I(r[3]), 0, 1 << 20));
        key.size_class = static_cast<int16_t>(I(r[4]));
        key.from_batch_record = static_cast<uint8_t>(I(r[5]));
        WorkCell& c = store.buckets_[I(r[0])].Cell(key);
        if (I(r[6]) == 0) {
          c.inference_n += I(r[7]);
          c.inference_sum += D(r[8]);
        } else {
          c.total_n += I(r[7]);
          c.total_sum += D(r[8]);
        }
      }
    }
    store.CountCells();
  }
  return Status::Ok();
}

}  // namespace yoloscope
