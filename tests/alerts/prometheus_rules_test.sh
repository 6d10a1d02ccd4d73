#!/bin/sh
# Validates deploy/prometheus with Debian's promtool (package prometheus) and
# amtool (prometheus-alertmanager): rule syntax, the config, and the rule unit
# tests (input series -> expected alerts). Exit 77 (ctest: skipped) when
# promtool is not installed.
set -eu
src=${1:?usage: prometheus_rules_test.sh SOURCE_DIR}
if ! command -v promtool >/dev/null 2>&1; then
  echo "SKIPPED: promtool not found (install Debian's prometheus package to test deploy/prometheus)"
  exit 77
fi
cd "$src/deploy/prometheus"
promtool check rules rules/yoloscope-recording.yml rules/yoloscope-alerts.yml
promtool check config prometheus.yml
promtool test rules tests/yoloscope-alerts.test.yml
# The fleet example: histograms summed across replicas, fleet alerts.
promtool check rules fleet/rules/yoloscope-fleet.yml
(cd fleet && promtool check config prometheus.yml && promtool test rules tests/yoloscope-fleet.test.yml)
if command -v amtool >/dev/null 2>&1; then
  amtool check-config alertmanager.yml
else
  echo "note: amtool not found; alertmanager.yml not checked"
fi
