#!/usr/bin/env bash
# Starts (or stops) Debian's clickhouse-server from a private config dir on free loopback ports, for tests.
# Usage: clickhouse.sh start | stop | env. `start` prints CLICKHOUSE_URL=http://127.0.0.1:port.
# Debian ships 18.16: no DateTime64/TTL/Map, so vigil stores epoch-ms UInt64 and drops daily partitions.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

dir="$VIGIL_INFRA_DIR/clickhouse"
bin=${CLICKHOUSE_SERVER_BIN:-/usr/sbin/clickhouse-server}

clickhouse_ready() {
  kill -0 "$2" 2>/dev/null || { log "clickhouse-server exited"; return 2; }
  [ "$(curl -fsS "http://127.0.0.1:$1/ping" 2>/dev/null)" = "Ok." ]
}

# Starts the server on the ports in $dir/ports, keeping any data already in $dir/data (tests restart it mid-run).
launch() {
  local http tcp inter
  read -r http tcp inter < "$dir/ports"
  mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas" "$dir/log"
  # keep_alive_timeout 10 s, not 3: @clickhouse/client drops an idle socket after 2.5 s (idle_socket_ttl) by a timer,
  # and on a loaded 2-core machine the timer fires late — a socket the server had closed at 3 s was reused, and the
  # insert's EPIPE was logged into a notebook's output (CI at 9d1bc2d). 3 s was the server's default before 23.11.
  cat > "$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/log/server.log</log><errorlog>$dir/log/error.log</errorlog><size>10M</size><count>1</count></logger>
  <http_port>$http</http_port>
  <tcp_port>$tcp</tcp_port>
  <interserver_http_port>$inter</interserver_http_port>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>256</max_connections>
  <keep_alive_timeout>10</keep_alive_timeout>
  <max_concurrent_queries>64</max_concurrent_queries>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
</yandex>
XML
  cat > "$dir/users.xml" <<'XML'
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage><log_queries>0</log_queries></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
  nohup "$bin" --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 &
  echo $! > "$dir/pid"
  wait_for 60 "ClickHouse on port $http" clickhouse_ready "$http" "$(cat "$dir/pid")"
}

case "${1:-}" in
  start)
    for attempt in 1 2 3; do
      stop_pidfile "$dir/pid"; rm -rf "$dir"; mkdir -p "$dir"
      echo "$(free_port) $(free_port) $(free_port)" > "$dir/ports"
      if launch; then
        read -r http _ < "$dir/ports"
        log "ClickHouse $(curl -fsS "http://127.0.0.1:$http/?query=SELECT%20version()" 2>/dev/null) up at http://127.0.0.1:$http"
        echo "CLICKHOUSE_URL=http://127.0.0.1:$http"; exit 0
      fi
      log "ClickHouse start attempt $attempt failed (port taken?)"; tail -n 20 "$dir/log/stdout.log" "$dir/log/error.log" >&2 || true
      stop_pidfile "$dir/pid"
    done
    exit 1 ;;
  restart) # same ports, same data: used by tests that take ClickHouse away and bring it back
    launch ;;
  stop) stop_pidfile "$dir/pid"; log "ClickHouse stopped" ;;
  env) read -r http _ < "$dir/ports"; echo "CLICKHOUSE_URL=http://127.0.0.1:$http" ;;
  *) echo "usage: $0 start|stop|restart|env" >&2; exit 2 ;;
esac
