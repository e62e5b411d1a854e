#!/usr/bin/env bash
# The measured effect of each detector knob: examples/tune (both benchmarks, on counts) at the
# defaults and at a lower and a higher value of each knob, one Markdown table row per run.
# Usage: scripts/knob-effects.sh [SERIES_DIR]   (default ../shared/datasets/cloud-monitoring)
set -euo pipefail
cd "$(dirname "$0")/.."
series=${1:-../shared/datasets/cloud-monitoring}
cargo build --release --quiet --example tune
tune=target/release/examples/tune
runs=(default: SENSITIVITY:low SENSITIVITY:high START_ALPHA:1e-8 START_ALPHA:1e-4
  SINGLE_MINUTE_COUNT:6 SINGLE_MINUTE_COUNT:24 SUSTAINED_EVENTS:0 SUSTAINED_EVENTS:30
  MIN_RATIO:2 MIN_RATIO:6 NOVELTY_MARGIN:0.25 NOVELTY_MARGIN:1 END_ALPHA:1e-5 END_ALPHA:1e-2
  END_MIN_COUNT:1 END_MIN_COUNT:4 END_QUIET_MINUTES:2 END_QUIET_MINUTES:10
  MAX_INSIGHT_HOURS:12 MAX_INSIGHT_HOURS:48 SEASONAL_MIN_EVENTS:50 SEASONAL_MIN_EVENTS:200
  WARMUP_HOURS:24 WARMUP_HOURS:72 TAIL_RETURN_WEEKS:20 TAIL_RETURN_WEEKS:0)
echo "| knob | value | real: rise windows found | real: false insights | synthetic: target spikes found | synthetic: false outside spike-like | synthetic: spike-like |"
echo "|---|---|---|---|---|---|---|"
for r in "${runs[@]}"; do
  k=${r%%:*} v=${r#*:}
  if [ "$k" = default ]; then out=$(TUNE_SERIES="$series" "$tune"); else out=$(env "$k=$v" TUNE_SERIES="$series" "$tune"); fi
  real=$(grep "^real all" <<<"$out")
  syn=$(grep "^synthetic" <<<"$out")
  found=$(sed -E 's/.*recall [0-9.]+ \(([0-9]+\/[0-9]+)\).*/\1/' <<<"$real")
  false_real=$(sed -E 's/.*false\/series-week [0-9.]+ \(([0-9]+)\).*/\1/' <<<"$real")
  target=$(sed -E 's/.*target recall [0-9.]+ \(([0-9]+\/[0-9]+)\).*/\1/' <<<"$syn")
  others=$(sed -E 's/.*others ([0-9]+).*/\1/' <<<"$syn")
  spike=$(sed -E 's/.*spike-like ([0-9]+).*/\1/' <<<"$syn")
  echo "| \`$k\` | $v | $found | $false_real | $target | $others | $spike |"
done
