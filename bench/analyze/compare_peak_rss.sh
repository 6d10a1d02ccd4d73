#!/usr/bin/env bash
# Before/after comparison of `yoloscope analyze` builds on one log: throughput
# and peak RSS, the file read directly (memory-mapped windows) and through
# stdin, runs of the builds alternated so that both see the same machine load.
#
#   bench/analyze/compare_peak_rss.sh LOG ROUNDS BIN [BIN...]
#
#   LOG     a JSONL log (make one with bench/analyze/run_bench.sh 5G, or
#           ys_loggen --size 5G --seed 7 --out LOG)
#   ROUNDS  runs per build and input mode (best-of and median are reported)
#   BIN     yoloscope binaries to compare, e.g. a copy of the old build and the new one
#
# Environment: THREADS (yoloscope --threads, default 0 = all cores), MODES
# ("file stdin" by default; "file" alone skips stdin).
#
# Per run: /usr/bin/time wall, user + sys CPU and maximum RSS (ru_maxrss, the
# kernel's high-water mark: what "peak RSS" means in docs/benchmarks.md).
# The log is read once first so every run starts from the page cache. On a
# shared machine wall time includes the neighbours: compare medians and
# best-of, and the CPU seconds, which load does not inflate much.
set -euo pipefail

[ $# -ge 3 ] || { sed -n '2,20p' "$0"; exit 2; }
log=$1
rounds=$2
shift 2
bins=("$@")
threads="${THREADS:-0}"
modes="${MODES:-file stdin}"
[ -x /usr/bin/time ] || { echo "compare_peak_rss: /usr/bin/time is missing" >&2; exit 1; }
[ -s "$log" ] || { echo "compare_peak_rss: $log is missing or empty" >&2; exit 1; }
bytes=$(stat -c %s "$log")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat "$log" > /dev/null

echo "log: $log ($(awk -v b="$bytes" 'BEGIN{printf "%.2f GB", b/1e9}')), $(nproc) cores, --threads $threads, $rounds rounds"
# One line per run in $tmp/runs: bin-index mode wall cpu rss_mb
for round in $(seq 1 "$rounds"); do
  for i in "${!bins[@]}"; do
    for mode in $modes; do
      bin=${bins[$i]}
      if [ "$mode" = stdin ]; then
        cmd=(sh -c "'$bin' analyze --format json --progress never --threads $threads - < '$log' > /dev/null")
      else
        cmd=("$bin" analyze --format json --progress never --threads "$threads" "$log")
      fi
      /usr/bin/time -f "%e %U %S %M" -o "$tmp/t" "${cmd[@]}" > /dev/null
      read -r wall user sys rss_kb < "$tmp/t"
      load=$(cut -d' ' -f1 /proc/loadavg)
      awk -v i="$i" -v m="$mode" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss_kb" \
        'BEGIN{printf "%s %s %s %.2f %.0f\n", i, m, w, u+s, r/1024}' >> "$tmp/runs"
      printf 'round %d  %-40s %-5s wall %6.2f s  %5.2f GB/s  cpu %6.2f s  peak RSS %4.0f MB  load %s\n' \
        "$round" "$bin" "$mode" "$wall" "$(awk -v b="$bytes" -v w="$wall" 'BEGIN{print b/1e9/w}')" \
        "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" "$(awk -v r="$rss_kb" 'BEGIN{print r/1024}')" "$load"
    done
  done
done

echo
printf '%-40s %-5s %10s %10s %10s %10s %10s\n' build mode "best GB/s" "med GB/s" "med cpu s" "max RSS" "med RSS"
for i in "${!bins[@]}"; do
  for mode in $modes; do
    awk -v i="$i" -v m="$mode" -v b="$bytes" -v name="${bins[$i]}" '
      $1 == i && $2 == m { n++; w[n] = $3; c[n] = $4; r[n] = $5 }
      function sort(a, k,   x, y, t) { for (x = 1; x <= k; x++) for (y = x + 1; y <= k; y++) if (a[y] < a[x]) { t = a[x]; a[x] = a[y]; a[y] = t } }
      function med(a, k) { return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
      END {
        if (!n) exit
        sort(w, n); sort(c, n); sort(r, n)
        printf "%-40s %-5s %10.2f %10.2f %10.2f %7.0f MB %7.0f MB\n", name, m, b / 1e9 / w[1], b / 1e9 / med(w, n), med(c, n), r[n], med(r, n)
      }' "$tmp/runs"
  done
done
