// The DuckDB baseline of bench/analyze/run_bench.sh: per-stage latency
// percentiles of a yoloscope.v1 JSON Lines log with DuckDB's read_ndjson and
// quantile_cont -- the numbers of the `stages` section of `yoloscope analyze
// --format json` (count, mean, p50, p90, p99, p99.9, max of each *_ms stage
// over served `request` records: status "ok" or none), nothing else. Six
// stages by default (DUCKDB_STAGES=queue,decode,... to change them).
//
// DuckDB comes from npm (@duckdb/node-api, pinned in deps/duckdb; install with
// `scripts/setup.sh bench-deps`). Node 20.
//
// usage: node bench/analyze/duckdb_quantiles.mjs LOG.jsonl THREADS > stages.json
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../../deps/duckdb/package.json"));
const { DuckDBInstance } = require("@duckdb/node-api");

const [log, threadsArg] = process.argv.slice(2);
if (!log) {
  console.error("usage: duckdb_quantiles.mjs LOG.jsonl [THREADS]");
  process.exit(2);
}
const threads = Number(threadsArg || 0) > 0 ? Number(threadsArg) : (await import("node:os")).cpus().length;
const stages = (process.env.DUCKDB_STAGES || "queue,decode,preprocess,inference,postprocess,total").split(",");

const instance = await DuckDBInstance.create(":memory:", { threads: String(threads) });
const conn = await instance.connect();
const columns = ["event: 'VARCHAR'", "status: 'VARCHAR'", ...stages.map((s) => `${s}_ms: 'DOUBLE'`)].join(", ");
const quoted = log.replaceAll("'", "''");
const selects = stages.map((s) => {
  const c = `${s}_ms`;
  const f = `FILTER (WHERE ${c} >= 0)`;
  return `count(${c}) ${f} AS ${s}_count, avg(${c}) ${f} AS ${s}_mean, ` +
    `quantile_cont(${c}, [0.5, 0.9, 0.99, 0.999]) ${f} AS ${s}_q, max(${c}) ${f} AS ${s}_max`;
});
const sql = `SELECT ${selects.join(", ")} FROM read_ndjson('${quoted}', columns = {${columns}}, ` +
  `format = 'newline_delimited') WHERE event = 'request' AND coalesce(status, 'ok') = 'ok'`;
const reader = await conn.runAndReadAll(sql);
const row = reader.getRowObjectsJS()[0];
const out = [];
for (const s of stages) {
  const count = Number(row[`${s}_count`]);
  if (!count) continue;
  const q = row[`${s}_q`];
  out.push({ stage: s, count, mean_ms: row[`${s}_mean`], p50_ms: q[0], p90_ms: q[1], p99_ms: q[2],
             p999_ms: q[3], max_ms: row[`${s}_max`] });
}
process.stdout.write(JSON.stringify({ stages: out, threads }, null, 1) + "\n");
