# Shared helpers of the bench/fleet scripts (sourced, not run): a
# clickhouse-server of our own, config under a directory, on loopback.
#
# start_clickhouse DIR HTTP_PORT TCP_PORT: starts it (sets ch_pid, ch_http),
# waits until it answers (30 s); at nice CH_NICE (default 0).
# restart_clickhouse DIR: the same server again, after a kill, on its data. stop_clickhouse: SIGTERM and wait.
# clickhouse_cpu_s: CPU seconds (user + sys) it has used so far.
ch_pid=""
start_clickhouse() {
  local dir="$1"
  ch_http="$2"
  local tcp="$3"
  command -v clickhouse-server >/dev/null ||
    { echo "needs clickhouse-server (apt-get install clickhouse-server)" >&2; return 2; }
  rm -rf "$dir" && mkdir -p "$dir"/{data,tmp,flags,logs}
  cat >"$dir/users.xml" <<XML
<?xml version="1.0"?><yandex><profiles><default></default></profiles><users><default><password></password>
<networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
<quotas><default></default></quotas></yandex>
XML
  cat >"$dir/config.xml" <<XML
<?xml version="1.0"?><yandex><logger><level>warning</level><log>$dir/logs/server.log</log>
<errorlog>$dir/logs/err.log</errorlog><console>0</console></logger>
<listen_host>127.0.0.1</listen_host><http_port>$ch_http</http_port><tcp_port>$tcp</tcp_port>
<path>$dir/data/</path><tmp_path>$dir/tmp/</tmp_path><flags_path>$dir/flags/</flags_path>
<users_config>$dir/users.xml</users_config><default_profile>default</default_profile>
<default_database>default</default_database><mark_cache_size>67108864</mark_cache_size></yandex>
XML
  launch_clickhouse "$dir"
}
# restart_clickhouse DIR: starts it again on the config and data that
# start_clickhouse left in DIR (after a kill), and waits until it answers.
restart_clickhouse() { launch_clickhouse "$1"; }
# launch_clickhouse DIR: runs clickhouse-server on DIR/config.xml (sets
# ch_pid) and waits up to 30 s until it answers on $ch_http.
launch_clickhouse() {
  local dir="$1"
  # CH_NICE: run it that much nicer (a stand-in for a ClickHouse on another
  # host when it shares the cores with what is being measured).
  nice -n "${CH_NICE:-0}" clickhouse-server --config-file="$dir/config.xml" >/dev/null 2>&1 &
  ch_pid=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$ch_http/?query=SELECT+1" >/dev/null && return 0
    sleep 0.1
  done
  echo "clickhouse-server did not answer on $ch_http (see $dir/logs/err.log)" >&2
  return 1
}
stop_clickhouse() {
  if [[ -n "$ch_pid" ]]; then
    kill "$ch_pid" 2>/dev/null || true
    wait "$ch_pid" 2>/dev/null || true
    ch_pid=""
  fi
}
clickhouse_cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$ch_pid/stat"
}
