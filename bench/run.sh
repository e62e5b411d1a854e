#!/usr/bin/env bash
# make bench: everything BENCHMARKS.md reports, in one run (about 10 minutes on 2 cores).
#   1. a corpus of realistic CloudTrail log files (examples/bench_corpus.rs), generated once;
#   2. criterion benchmarks of the hot paths (benches/hot_paths.rs);
#   3. the whole pipeline on one core: `trail-insights replay` vs `gzip -dc` vs the Python
#      reference (bench/pipeline.py), with peak RSS;
#   4. the AWS path against DynamoDB Local + SeaweedFS: requests and capacity units per log file
#      and dollars per 100,000 events (examples/bench_aws.rs).
# Results: bench/results/{machine.txt,criterion.txt,pipeline.md,pipeline.json,aws.md,aws.json}.
# Environment: RUNS (3) repetitions per pipeline command; BENCH_SKIP="criterion aws" to skip parts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT=bench/results
CORPUS=target/bench-corpus
SKIP="${BENCH_SKIP:-}"
mkdir -p "$OUT" "$CORPUS"

for tool in taskset gzip python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done

cargo build --release --quiet --bin trail-insights --example bench_corpus --example bench_aws

{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) CPUs)"
  lscpu | grep -E '^(Architecture|L2 cache|L3 cache|Hypervisor vendor)' || true
  echo "memory: $(free -m | awk '/^Mem:/ {print $2 " MB"}')"
  echo "rustc: $(rustc -V)"
  echo "gzip: $(gzip --version | head -1)"
  echo "python: $(python3 --version)"
  echo "kernel: $(uname -sr)"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt"

# name, events per file, files
gen() {
  local dir="$CORPUS/$1"
  if [[ ! -f $dir/corpus.json ]]; then
    rm -rf "$dir"
    echo "generating corpus $1 ($3 file(s) of $2 events)"
    target/release/examples/bench_corpus "$dir" "$2" "$3"
  fi
}
gen 1k 1000 1
gen 100k 100000 1
gen 1m 1000000 1
gen 200x5k 5000 200

if [[ " $SKIP " != *" criterion "* ]]; then
  echo "== criterion: hot paths"
  cargo bench --quiet --bench hot_paths -- --warm-up-time 1 --measurement-time 3 2>&1 \
    | grep -v '^Gnuplot\|^$' | tee "$OUT/criterion.txt"
fi

echo "== whole pipeline, one core (taskset -c 0)"
python3 bench/pipeline.py target/release/trail-insights "$OUT" \
  "$CORPUS/1k" "$CORPUS/100k" "$CORPUS/1m" "$CORPUS/200x5k"

if [[ " $SKIP " != *" aws "* ]]; then
  echo "== AWS path: DynamoDB Local + SeaweedFS"
  scripts/install-tools.sh ddb s3
  scripts/local-aws.sh up
  eval "$(scripts/local-aws.sh env)"
  target/release/examples/bench_aws "$OUT"
fi
echo "results in $OUT/"
