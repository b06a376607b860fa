#!/usr/bin/env bash
# Installs, on a fresh Debian 12 machine, the system packages vigil's tests need: ClickHouse (Debian's 18.16),
# HAProxy, redis-server and rsyslog-kafka (the enforcement tests start their own instances on free loopback ports),
# docker-compose (to validate docker-compose.yml), Jupyter's headless runner for the notebooks (nbconvert, nbclient,
# ipykernel at /usr/bin/python3; the TypeScript kernel tslab comes from npm), and checks Java 17 + Maven for the
# Kafka broker. Idempotent.
set -euo pipefail
need=()
command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ] || need+=(clickhouse-server)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v curl >/dev/null 2>&1 || need+=(curl)
[ -x /usr/sbin/haproxy ] || need+=(haproxy)
# nginx (auth_request, realip and syslog built in): the gateway loop's second gateway; the tests start their own.
[ -x /usr/sbin/nginx ] || need+=(nginx)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# rsyslog with its Kafka output, for the gateway loop (HAProxy's log → Kafka); the tests start their own rsyslogd.
ls /usr/lib/*/rsyslog/omkafka.so >/dev/null 2>&1 || need+=(rsyslog-kafka)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
/usr/bin/python3 -c 'import nbconvert' >/dev/null 2>&1 || need+=(jupyter-nbconvert)
/usr/bin/python3 -c 'import nbclient' >/dev/null 2>&1 || need+=(python3-nbclient)
/usr/bin/python3 -c 'import ipykernel' >/dev/null 2>&1 || need+=(python3-ipykernel)
/usr/bin/python3 -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi
# kubernetes-validate (PyPI, pinned; it carries the Kubernetes schemas, so validation runs offline) for
# test/integration/kubernetes.test.ts, in a virtual environment of its own: it needs a newer jsonschema than the
# Debian one nbconvert uses. The test looks for it at this path.
kv=/opt/vigil/kubernetes-validate-1.37.0
if [ ! -x "$kv/bin/kubernetes-validate" ]; then
  echo "installing: kubernetes-validate 1.37.0 into $kv"
  /usr/bin/python3 -m venv "$kv"
  "$kv/bin/pip" install -q --disable-pip-version-check kubernetes-validate==1.37.0
fi
# Resolve the Kafka broker jars now, so the first test run does not pay for it.
bash "$(dirname "$0")/kafka.sh" resolve
