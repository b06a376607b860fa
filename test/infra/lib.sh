# Shared helpers for the scripts that start real services for tests: free ports, readiness polls with deadlines.
# Sourced, not run.

VIGIL_INFRA_DIR=${VIGIL_INFRA_DIR:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.vigil-infra"}
mkdir -p "$VIGIL_INFRA_DIR"

log() { printf '[infra %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# A loopback port nobody listens on right now. Another process may still take it before we bind, so callers retry.
free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"
}

# wait_for SECONDS DESCRIPTION COMMAND... — polls COMMAND until it succeeds or the deadline passes; exit status 2
# from COMMAND means it can never succeed (the process died), so stop waiting.
wait_for() {
  local deadline=$(( $(date +%s) + $1 )); local what=$2; shift 2
  local rc
  while true; do
    "$@" >/dev/null 2>&1 && return 0
    rc=$?
    [ "$rc" -eq 2 ] && return 1
    if [ "$(date +%s)" -ge "$deadline" ]; then log "timed out waiting for $what"; return 1; fi
    sleep 0.3
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_pidfile() {
  local pidfile=$1
  [ -f "$pidfile" ] || return 0
  local pid; pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}
