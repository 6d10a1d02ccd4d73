#!/usr/bin/env bash
# `analyze` of the same records from ClickHouse vs from the JSONL file
# (issue 17; docs/fleet.md "Push-down"): for each request count in COUNTS
# (default "1000000 3000000"), a `ys_loggen` log (seed 7, a queue-saturation
# incident) is loaded into a ClickHouse started here (`yoloscope db load`),
# then `yoloscope analyze --format json` runs ROUNDS times (default 3) on the
# file, on clickhouse://... (the records pulled back) and on
# clickhouse://...?pushdown=1 (the aggregates in SQL), interleaved, with 2
# threads; prints the median wall time, CPU and peak RSS of our process and
# ClickHouse's CPU over each run, the load time, and checks that the file and
# the pull have the same findings and request count, and that the push-down
# has the same requests and per-stage counts and p99 as the pull.
#
#   bench/fleet/analyze_clickhouse.sh        (environment: bench/server/common.sh)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../server/common.sh"
rounds="${ROUNDS:-3}"
counts="${COUNTS:-1000000 3000000}"
loggen="${LOGGEN:-$build/bench/loggen/ys_loggen}"
command -v clickhouse-server >/dev/null || { echo "needs clickhouse-server" >&2; exit 2; }
ch_http=$((port + 110)) ch_tcp=$((port + 111))
rm -rf "$out/cha" && mkdir -p "$out/cha"/{data,tmp,flags,logs}
cat >"$out/cha/users.xml" <<XML
<?xml version="1.0"?><yandex><profiles><default></default></profiles><users><default><password></password>
<networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
<quotas><default></default></quotas></yandex>
XML
cat >"$out/cha/config.xml" <<XML
<?xml version="1.0"?><yandex><logger><level>warning</level><log>$out/cha/logs/server.log</log>
<errorlog>$out/cha/logs/err.log</errorlog><console>0</console></logger>
<listen_host>127.0.0.1</listen_host><http_port>$ch_http</http_port><tcp_port>$ch_tcp</tcp_port>
<path>$out/cha/data/</path><tmp_path>$out/cha/tmp/</tmp_path><flags_path>$out/cha/flags/</flags_path>
<users_config>$out/cha/users.xml</users_config><default_profile>default</default_profile>
<default_database>default</default_database><mark_cache_size>67108864</mark_cache_size></yandex>
XML
clickhouse-server --config-file="$out/cha/config.xml" >/dev/null 2>&1 &
ch_pid=$!
trap 'kill $ch_pid 2>/dev/null || true; wait $ch_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$ch_http/?query=SELECT+1" >/dev/null && break; sleep 0.1; done

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
machine_note
for n in $counts; do
  log="$out/cha_$n.jsonl"
  [[ -s "$log" ]] || "$loggen" --requests "$n" --seed 7 --out "$log" --condition queue_saturation@600+90
  db="clickhouse://127.0.0.1:$ch_http/b$n"
  "$yoloscope" db init "$db" >/dev/null
  t0=$(date +%s.%N)
  "$yoloscope" db load "$db" "$log" --host bench >/dev/null
  t1=$(date +%s.%N)
  cat "$log" >/dev/null
  rm -f "$out/cha_times_$n" "$out/cha_chcpu_$n"
  ch_cpu() { awk '{print $14 + $15}' "/proc/$ch_pid/stat"; }
  for r in $(seq 1 "$rounds"); do
    for src in file clickhouse pushdown; do
      input="$log"; [[ $src == clickhouse ]] && input="$db"; [[ $src == pushdown ]] && input="$db?pushdown=1"
      c0=$(ch_cpu)
      /usr/bin/time -f "$src %e %U %S %M" -a -o "$out/cha_times_$n" \
        "$yoloscope" analyze --threads 2 --format json "$input" >"$out/cha_$src.json"
      echo "$src $(( $(ch_cpu) - c0 ))" >>"$out/cha_chcpu_$n"
    done
  done
  same=$(jq -r '[.summary.requests, ([.findings[].kind] | join(","))] | @tsv' "$out/cha_file.json")
  same_ch=$(jq -r '[.summary.requests, ([.findings[].kind] | join(","))] | @tsv' "$out/cha_clickhouse.json")
  echo "$n requests ($(du -h "$log" | cut -f1) JSONL): db load $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s"
  for src in file clickhouse pushdown; do
    w=$(awk -v s="$src" '$1 == s {print $2}' "$out/cha_times_$n" | median)
    c=$(awk -v s="$src" '$1 == s {print $3 + $4}' "$out/cha_times_$n" | median)
    m=$(awk -v s="$src" '$1 == s {print $5 / 1024}' "$out/cha_times_$n" | median)
    k=$(awk -v s="$src" -v hz="$(getconf CLK_TCK)" '$1 == s {print $2 / hz}' "$out/cha_chcpu_$n" | median)
    printf '  analyze from %-10s median wall %6.2f s  CPU %6.2f s  peak RSS %5.0f MB  ClickHouse CPU %6.2f s\n' "$src" "$w" "$c" "$m" "$k"
  done
  [[ "$same" == "$same_ch" ]] && echo "  same requests and findings: $same" || echo "  DIFFERENT: file $same / clickhouse $same_ch"
  stages='[.summary.requests, (.stages[] | "\(.stage):\(.count):\(.p99_ms)")] | join(" ")'
  if [[ "$(jq -r "$stages" "$out/cha_clickhouse.json")" == "$(jq -r "$stages" "$out/cha_pushdown.json")" ]]; then
    echo "  push-down: same requests and per-stage counts and p99 as the pull"
  else
    echo "  push-down DIFFERS: $(jq -r "$stages" "$out/cha_pushdown.json") / pull $(jq -r "$stages" "$out/cha_clickhouse.json")"
  fi
done
machine_note
