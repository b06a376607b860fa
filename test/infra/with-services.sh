#!/usr/bin/env bash
# Runs a command with a real Kafka broker and ClickHouse server for it: starts both on free loopback ports (unless
# KAFKA_BROKERS / CLICKHOUSE_URL already point at running ones, e.g. the docker-compose stack), exports their
# addresses, runs the command, and stops what it started. With CI=true a service that fails to start fails the run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

started=()
cleanup() {
  for s in "${started[@]}"; do bash "$here/$s.sh" stop || true; done
}
trap cleanup EXIT

if [ -z "${KAFKA_BROKERS:-}" ]; then
  t0=$(date +%s)
  line=$(bash "$here/kafka.sh" start) || { log "could not start Kafka"; exit 1; }
  started+=(kafka)
  export "${line?}"
  # The fault suite kills the broker and starts it again.
  export KAFKA_CONTROL_SCRIPT="$here/kafka.sh"
  log "Kafka ready in $(( $(date +%s) - t0 ))s"
fi
if [ -z "${CLICKHOUSE_URL:-}" ]; then
  t0=$(date +%s)
  line=$(bash "$here/clickhouse.sh" start) || { log "could not start ClickHouse"; exit 1; }
  started+=(clickhouse)
  export "${line?}"
  # Tests that take ClickHouse away and bring it back need to know how.
  export CLICKHOUSE_CONTROL_SCRIPT="$here/clickhouse.sh"
  log "ClickHouse ready in $(( $(date +%s) - t0 ))s"
fi
"$@"
