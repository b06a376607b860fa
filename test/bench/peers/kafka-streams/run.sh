#!/usr/bin/env bash
# Runs the Kafka Streams peer of npm run bench:pipeline (see README.md), building it first when the jar is missing or
# older than its sources. Arguments pass through: --brokers HOST:PORT --input TOPIC --output TOPIC --events N
# [--guarantee exactly_once|at_least_once] [--threads T]. The last stdout line is the result, as JSON.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
jar="$here/target/pipeline-peer.jar"

stale() {
  [ -f "$jar" ] && [ -d "$here/target/lib" ] || return 0
  [ -n "$(find "$here/pom.xml" "$here/src" -newer "$jar" -print -quit)" ]
}

if stale; then
  echo "[peer] building $jar with Maven" >&2
  # The build's output goes to target/build.log (shown on failure): stdout carries only the result.
  mkdir -p "$here/target"
  mvn -q -B -f "$here/pom.xml" package -DskipTests >"$here/target/build.log" 2>&1 || { cat "$here/target/build.log" >&2; exit 1; }
  touch "$jar"
fi

# RocksDB state under target/state (ignored by git; each run removes its own directory there when it ends).
exec java -Xms256m -Xmx1g -Djava.awt.headless=true -jar "$jar" --state-dir "$here/target/state" "$@"
