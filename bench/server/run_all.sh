#!/usr/bin/env bash
# Every number of docs/benchmarks.md's "Load generator", "Engine profile" and
# "Server" sections, in one run: http_max_rps.sh, engine_profiles.sh,
# identity_server.sh, cpu_backend.sh. Output to stdout and $BENCH_OUT.
#
#   bench/server/run_all.sh 2>&1 | tee /tmp/ys_server_bench.txt
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for script in http_max_rps.sh engine_profiles.sh identity_server.sh cpu_backend.sh; do
  echo "=== $script"
  "$here/$script"
  echo
done
