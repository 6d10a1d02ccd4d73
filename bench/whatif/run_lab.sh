#!/usr/bin/env bash
# The what-if lab proof (issue 18, docs/what-if.md "Prediction against
# reality"): for each scenario A here, `yoloscope lab whatif` runs A for
# real, predicts each B from A's log alone, runs B for real and compares.
# Each A and each B runs REPEAT times (default 3) and the medians are
# compared. Run on an idle machine; it prints the load average before and
# after.
#   bench/whatif/run_lab.sh [BUILD_DIR] [OUT_DIR] [REPEAT]
# REUSE=1: run nothing, predict again from the logs an earlier run left in
# OUT_DIR (lab whatif --reuse-logs), e.g. after a change of the model.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../../build}"
out="${2:-/tmp/ys_whatif_lab}"
repeat="${3:-3}"
bin="$build/apps/yoloscope/yoloscope"
mkdir -p "$out"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
rc=0
run() {  # run SCENARIO B... ; TAG names the output (default: the scenario)
  local scenario="$1"
  shift
  local tag="${TAG:-$scenario}"
  local args=()
  for b in "$@"; do args+=(--what-if "$b"); done
  "$bin" lab whatif "$here/$scenario.yaml" "${args[@]}" --skip-s 2.5 --repeat "$repeat" \
    --models "$build/models" --work-dir "$out/$tag" ${REUSE:+--reuse-logs} |
    tee "$out/$tag${REUSE:+.reused}.txt" || rc=1
}
run sim_light max_batch=1 max_queue_delay_us=0 instances=2 rate=x2
run sim_knee max_batch=8 instances=2 rate=x1.1
run sim_overload max_batch=8 queue_size=64 rate=x0.5
run cpu_light max_batch=1 max_queue_delay_us=0 rate=x1.5
# Not one of the pairs held to the goals: at x1.2 the knee's device is ~99 %
# busy, where 1 % of service time moves the latency by ~20 % and the model
# flags its prediction "sensitive" (docs/what-if.md, "Sensitivity"). Run to
# show what that means; its verdict does not set the exit status.
if [ "${SENSITIVE_PAIR:-1}" = 1 ]; then
  rc_goals=$rc
  TAG=sim_knee_x1.2 run sim_knee rate=x1.2
  rc=$rc_goals
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $rc
