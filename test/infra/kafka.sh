#!/usr/bin/env bash
# Starts (or stops) a single-node Apache Kafka broker in KRaft mode on free loopback ports, for tests.
# The broker jars come from Maven Central via test/infra/kafka/pom.xml (the version is pinned there and in
# docker-compose.yml). Usage: kafka.sh start | stop | kill | restart | env | resolve. `start` prints
# KAFKA_BROKERS=host:port; `kill` SIGKILLs the running broker and `restart` starts it again on the same ports and data
# (the fault suite's broker crash). By default every append is fsynced (log.flush.interval.messages=1) so that a
# SIGKILLed single broker loses nothing it acknowledged, as a replicated cluster would not: the fault suite, which
# kills the broker, keeps it. VIGIL_KAFKA_FLUSH=os runs Kafka's production default instead (the OS page cache
# flushes; durability comes from replication), which is what the benchmarks and the integration tests use (npm run
# test:integration: the gateway loop prints latencies, which should measure vigil, not one fsync per append on
# this disk).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

dir="$VIGIL_INFRA_DIR/kafka"
libs="$VIGIL_INFRA_DIR/kafka-libs"
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")

resolve_jars() {
  if [ -f "$libs/.version" ] && [ "$(cat "$libs/.version")" = "$version" ]; then return; fi
  log "resolving Kafka $version jars with Maven"
  rm -rf "$libs"
  mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies -DoutputDirectory="$libs" -DincludeScope=runtime >&2
  echo "$version" > "$libs/.version"
}

# Ready means listening; a broker that died (bad config) fails the wait at once instead of at the deadline.
kafka_ready() {
  kill -0 "$2" 2>/dev/null || { log "Kafka exited"; return 2; }
  port_open "$1"
}

start_once() {
  local port ctrl
  port=$(free_port); ctrl=$(free_port)
  [ "$port" != "$ctrl" ] || return 1
  rm -rf "$dir"; mkdir -p "$dir/data"
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctrl
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
  case "${VIGIL_KAFKA_FLUSH:-each}" in
    each) echo "log.flush.interval.messages=1" >> "$dir/server.properties" ;;
    os) ;;
    *) log "VIGIL_KAFKA_FLUSH must be 'each' (tests; fsync per append) or 'os' (benchmarks; Kafka's default)"; return 1 ;;
  esac
  cat > "$dir/log4j2.properties" <<'LOG'
rootLogger.level=WARN
rootLogger.appenderRef.file.ref=file
appender.file.type=File
appender.file.name=file
appender.file.fileName=${sys:kafka.logs.dir}/server.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
# What the transaction coordinator does with each transaction (markers written or skipped, state loaded after a
# restart): what explains a transaction left open on a partition.
logger.txn.name=kafka.coordinator.transaction
logger.txn.level=INFO
logger.txn2.name=org.apache.kafka.coordinator.transaction
logger.txn2.level=INFO
LOG
  local java_opts=(-Xms256m -Xmx512m -XX:+UseSerialGC -Djava.awt.headless=true
    "-Dkafka.logs.dir=$dir" "-Dlog4j2.configurationFile=$dir/log4j2.properties")
  local cluster_id
  cluster_id=$(java "${java_opts[@]}" -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
  java "${java_opts[@]}" -cp "$libs/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" >"$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; return 1; }
  nohup java "${java_opts[@]}" -cp "$libs/*" kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 &
  echo $! > "$dir/pid"
  if wait_for 90 "Kafka on port $port" kafka_ready "$port" "$(cat "$dir/pid")"; then
    echo "127.0.0.1:$port" > "$dir/brokers"
    return 0
  fi
  stop_pidfile "$dir/pid"; return 1
}

# The same broker again (same config, ports and data) after `kill`.
restart_same() {
  local java_opts=(-Xms256m -Xmx512m -XX:+UseSerialGC -Djava.awt.headless=true
    "-Dkafka.logs.dir=$dir" "-Dlog4j2.configurationFile=$dir/log4j2.properties")
  nohup java "${java_opts[@]}" -cp "$libs/*" kafka.Kafka "$dir/server.properties" >>"$dir/stdout.log" 2>&1 &
  echo $! > "$dir/pid"
  local port; port=$(cut -d: -f2 "$dir/brokers")
  wait_for 90 "Kafka on port $port" kafka_ready "$port" "$(cat "$dir/pid")"
}

case "${1:-}" in
  start)
    resolve_jars
    for attempt in 1 2 3; do
      if start_once; then log "Kafka $version up at $(cat "$dir/brokers")"; echo "KAFKA_BROKERS=$(cat "$dir/brokers")"; exit 0; fi
      log "Kafka start attempt $attempt failed (port taken?); see $dir/stdout.log"; tail -n 20 "$dir/stdout.log" >&2 || true
    done
    exit 1 ;;
  resolve) resolve_jars ;;
  stop) stop_pidfile "$dir/pid"; log "Kafka stopped" ;;
  kill) kill -9 "$(cat "$dir/pid")" 2>/dev/null || true; log "Kafka killed (SIGKILL)" ;;
  restart) restart_same; log "Kafka restarted at $(cat "$dir/brokers")" ;;
  env) echo "KAFKA_BROKERS=$(cat "$dir/brokers")" ;;
  *) echo "usage: $0 start|stop|kill|restart|env|resolve" >&2; exit 2 ;;
esac
