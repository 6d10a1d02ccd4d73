#!/usr/bin/env bash
# End-to-end benchmark of `yoloscope analyze` against DuckDB, the readers
# alone, pandas and jq, measured in the same run on the same file
# (docs/benchmarks.md records the numbers).
#
#   bench/analyze/run_bench.sh [SIZE]        SIZE of the generated log: 1G (default), 5G, 500M
#
# Environment: YOLOSCOPE_BUILD_DIR (default build/), YOLOSCOPE_BIN (default
# $YOLOSCOPE_BUILD_DIR/apps/yoloscope/yoloscope), LOGGEN (default
# $YOLOSCOPE_BUILD_DIR/bench/loggen/ys_loggen), READ_BENCH (default
# $YOLOSCOPE_BUILD_DIR/bench/loggen/ys_read_bench), BENCH_DIR (default
# /tmp/ys_analyze_bench: the log and outputs), THREADS (threads for
# yoloscope, DuckDB and the readers alike; default: all cores), ROUNDS (runs
# of each fast tool, alternated; default 3: the median and the best are
# reported), SKIP_PANDAS=1 / SKIP_JQ=1 / SKIP_DUCKDB=1 to leave a baseline
# out, VIA_STDIN=1 to feed yoloscope the log on stdin (the streaming reader
# instead of the memory-mapped one).
#
# Besides wall time it reports CPU time (user + sys): on a machine shared with
# other work the wall clock measures the neighbours too. The load average is
# printed before and after: the final numbers want an idle machine.
#
# Measures, each with /usr/bin/time (wall time, CPU time, peak RSS):
#   yoloscope analyze --format json LOG     (everything: summary, stages, findings, series, alerts)
#   DuckDB read_ndjson + quantile_cont      (only six stages' percentiles; bench/analyze/duckdb_quantiles.mjs,
#                                            DuckDB from deps/duckdb: scripts/setup.sh bench-deps)
#   ys_read_bench LOG                       (yoloscope's readers alone, counting sinks)
#   pandas_percentiles.py LOG               (only the per-stage percentiles, chunked read; once)
#   jq -c '.total_ms' LOG | wc -l           (jq doing far less: one field, no statistics; once)
# The goals of issue 16: analyze >= 2x DuckDB and >= 0.7x the readers alone
# (wall time, same threads), peak RSS <= 256 MB on a 5 GB log (run with 5G).
# The file is read once beforehand so that every tool starts from the page cache.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${YOLOSCOPE_BUILD_DIR:-$root/build}"
size="${1:-1G}"
work="${BENCH_DIR:-/tmp/ys_analyze_bench}"
threads="${THREADS:-$(nproc)}"
rounds="${ROUNDS:-3}"
read_bench="${READ_BENCH:-$build/bench/loggen/ys_read_bench}"
duckdb_dir="$root/deps/duckdb/node_modules/@duckdb/node-api"
yoloscope="${YOLOSCOPE_BIN:-$build/apps/yoloscope/yoloscope}"
loggen="${LOGGEN:-$build/bench/loggen/ys_loggen}"
python=/usr/bin/python3

die() { echo "run_bench: $*" >&2; exit 1; }
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
if [ ! -x "$yoloscope" ] || [ ! -x "$loggen" ] || [ ! -x "$read_bench" ]; then
  echo "building yoloscope, ys_loggen and ys_read_bench in $build" >&2
  cmake --build "$build" --target yoloscope loggen read_bench -j"$(nproc)" >/dev/null
fi
if [ "${SKIP_DUCKDB:-0}" != 1 ] && [ ! -d "$duckdb_dir" ]; then
  die "DuckDB is missing: run scripts/setup.sh bench-deps (or SKIP_DUCKDB=1)"
fi
mkdir -p "$work"
log="$work/requests_$size.jsonl"

if [ ! -s "$log" ]; then
  echo "generating $size log with ys_loggen -> $log" >&2
  # A one-hour-scale service with a few incidents, so that findings, series and
  # change points all have work to do.
  "$loggen" --size "$size" --seed 7 --out "$log" \
    --condition cold_start@0+30 --condition memory_squeeze@600+120 \
    --condition queue_saturation@1500+90 --condition throttling@2400+120 \
    --condition error_burst@3000+30
fi
bytes=$(stat -c %s "$log")
rm -f "$work/yoloscope.json" "$work/pandas.json" "$work/duckdb.json" "$work/jq.txt" "$work"/time_*.txt
cat "$log" > /dev/null  # warm the page cache for every tool alike.

# measure NAME CMD...: runs CMD under /usr/bin/time; appends "wall cpu rss_mb"
# to $work/runs_NAME.
measure() {
  local name=$1; shift
  local tfile="$work/time_$name.txt"
  if ! /usr/bin/time -f "%e %U %S %M" -o "$tfile" "$@"; then die "$name failed (see $tfile)"; fi
  local wall user sys rss
  read -r wall user sys rss < <(tail -1 "$tfile")
  awk -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" \
    'BEGIN{printf "%.3f %.2f %.0f\n", w, u+s, r/1024}' >> "$work/runs_$name"
}
# summarize NAME: sets secs_NAME (median wall), best_NAME, cpu_NAME (median), rss_NAME (max).
summarize() {
  local name=$1 f="$work/runs_$1"
  printf -v "secs_$name" '%s' "$(cut -d' ' -f1 "$f" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')"
  printf -v "best_$name" '%s' "$(cut -d' ' -f1 "$f" | sort -n | head -1)"
  printf -v "cpu_$name" '%s' "$(cut -d' ' -f2 "$f" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')"
  printf -v "rss_$name" '%s' "$(cut -d' ' -f3 "$f" | sort -n | tail -1)"
}
rm -f "$work"/runs_*
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

echo "file: $log ($(awk -v b="$bytes" 'BEGIN{printf "%.2f GB", b/1e9}')), $(nproc) cores, threads $threads, $rounds rounds, load average $load_before" >&2

for round in $(seq 1 "$rounds"); do
  if [ "${VIA_STDIN:-0}" = 1 ]; then
    measure yoloscope sh -c "'$yoloscope' analyze --format json --progress never --threads $threads - < '$log' > '$work/yoloscope.json'"
  else
    measure yoloscope sh -c "'$yoloscope' analyze --format json --progress never --threads $threads '$log' > '$work/yoloscope.json'"
  fi
  if [ "${SKIP_DUCKDB:-0}" != 1 ]; then
    measure duckdb sh -c "node '$root/bench/analyze/duckdb_quantiles.mjs' '$log' $threads > '$work/duckdb.json'"
  fi
  measure readers sh -c "'$read_bench' --threads $threads '$log' > '$work/read_bench.txt'"
  line="round $round:"
  for f in "$work"/runs_*; do line+=" ${f##*/runs_} $(tail -n1 "$f" | cut -d' ' -f1)s"; done
  echo "$line, load $(cut -d' ' -f1 /proc/loadavg)" >&2
done
summarize yoloscope
summarize readers
[ "${SKIP_DUCKDB:-0}" != 1 ] && summarize duckdb
if [ "${SKIP_JQ:-0}" != 1 ]; then
  measure jq sh -c "jq -c '.total_ms' '$log' | wc -l > '$work/jq.txt'"
  summarize jq
fi
if [ "${SKIP_PANDAS:-0}" != 1 ]; then
  "$python" -c 'import pandas' 2>/dev/null || die "pandas is missing (apt-get install python3-pandas)"
  measure pandas sh -c "'$python' '$root/bench/analyze/pandas_percentiles.py' '$log' > '$work/pandas.json'"
  summarize pandas
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

gbps() { awk -v b="$bytes" -v s="$1" 'BEGIN{ if (s > 0) printf "%.2f", b/1e9/s; else print "inf" }'; }
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-1}" 'BEGIN{ if (b > 0) printf "%.*f", d, a/b; else print "inf" }'; }

echo
echo "load average: $load_before before, $load_after after; $(nproc) cores; threads $threads"
printf '%-40s %9s %9s %9s %9s %9s\n' "tool" "wall s" "best s" "cpu s" "GB/s" "RSS MB"
row() { printf '%-40s %9s %9s %9s %9s %9s\n' "$1" "$2" "$3" "$4" "$(gbps "$2")" "$5"; }
row "yoloscope analyze --format json" "$secs_yoloscope" "$best_yoloscope" "$cpu_yoloscope" "$rss_yoloscope"
[ -n "${secs_duckdb:-}" ] && row "DuckDB quantile_cont, six stages" "$secs_duckdb" "$best_duckdb" "$cpu_duckdb" "$rss_duckdb"
row "ys_read_bench (readers alone)" "$secs_readers" "$best_readers" "$cpu_readers" "$rss_readers"
[ -n "${secs_pandas:-}" ] && row "pandas per-stage percentiles" "$secs_pandas" "$secs_pandas" "$cpu_pandas" "$rss_pandas"
[ -n "${secs_jq:-}" ] && row "jq -c '.total_ms' | wc -l" "$secs_jq" "$secs_jq" "$cpu_jq" "$rss_jq"
echo
echo "yoloscope: $(gbps "$secs_yoloscope") GB/s (median wall); peak RSS $rss_yoloscope MB (goal <= 256 on 5 GB)"
if [ -n "${secs_duckdb:-}" ]; then
  echo "vs DuckDB:  $(ratio "$secs_duckdb" "$secs_yoloscope")x faster by median wall, $(ratio "$best_duckdb" "$best_yoloscope")x by best (goal >= 2x)"
fi
echo "vs readers: $(ratio "$secs_readers" "$secs_yoloscope" 2)x the readers' speed by median wall, $(ratio "$best_readers" "$best_yoloscope" 2)x by best, $(ratio "$cpu_readers" "$cpu_yoloscope" 2)x by CPU (goal >= 0.7x)"
if [ -n "${secs_pandas:-}" ]; then
  echo "vs pandas:  $(ratio "$secs_pandas" "$secs_yoloscope")x faster by wall time"
fi
if [ -n "${secs_jq:-}" ]; then
  echo "vs jq:      $(ratio "$secs_jq" "$secs_yoloscope")x faster by wall time"
fi

# Agreement: yoloscope's histogram percentiles vs the exact ones of pandas
# and DuckDB (DuckDB interpolates between neighbours; pandas takes the higher).
for exact in pandas duckdb; do
  [ -s "$work/$exact.json" ] || continue
  "$python" - "$work/yoloscope.json" "$work/$exact.json" "$exact" <<'PY'
import json, sys
ys = {s["stage"]: s for s in json.load(open(sys.argv[1]))["stages"]}
pd = {s["stage"]: s for s in json.load(open(sys.argv[2]))["stages"]}
name = sys.argv[3]
worst = 0.0
for stage, p in pd.items():
    y = ys.get(stage)
    if y is None:
        print(f"stage {stage} missing from yoloscope"); continue
    if y["count"] != p["count"]:
        print(f"stage {stage}: count {y['count']} vs {name} {p['count']}")
    for k in ("mean_ms", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"):
        if p[k] > 0:
            worst = max(worst, abs(y[k] - p[k]) / p[k])
print(f"largest relative difference from {name}'s exact percentiles: {worst * 100:.2f}%")
PY
done
findings=$("$python" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(", ".join(f["severity"]+":"+f["kind"] for f in r["findings"]))' "$work/yoloscope.json")
echo "findings: $findings"
