#!/usr/bin/env bash
# Invoke the real handler under `cargo lambda watch` against the local servers.
# Usage: scripts/invoke-local.sh [EVENT_FILE]   (default events/s3-put.json)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
event="${1:-events/s3-put.json}"
port="${INVOKE_PORT:-9000}"
eval "$(scripts/local-aws.sh env)"
export PATH="$root/.tools/cl/bin:$PATH"
export TABLE_NAME="${TABLE_NAME:-ti-local}" DESTINATION_BUCKET="${DESTINATION_BUCKET:-insights-bucket}"
export DESTINATION_PREFIX="${DESTINATION_PREFIX:-trail-insights/}"
cargo run --quiet --bin trail-insights -- setup --table "$TABLE_NAME" --bucket trail-bucket --bucket "$DESTINATION_BUCKET"
cargo run --quiet --example put_sample_logs -- trail-bucket
log="$root/.tools/run/watch.log"
mkdir -p "$(dirname "$log")"
setsid cargo lambda watch -A 127.0.0.1 -P "$port" --ignore-changes >"$log" 2>&1 &
watch_pid=$!
trap 'kill -TERM -- -"$watch_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.2
done
cargo lambda invoke trail-insights-lambda --data-file "$event" -A 127.0.0.1 -P "$port"
echo
echo "function log: $log" >&2
