#!/usr/bin/env bash
# Runs each intake fuzz target (type detection, the PDF path, the image
# path) for a bounded time: FUZZ_SECONDS each (default 60).
#   fuzz/run.sh                 all three
#   fuzz/run.sh pdf             one
# Installs cargo-fuzz when absent. The machine has only stable Rust:
# RUSTC_BOOTSTRAP=1 lets it take the -Z flags cargo-fuzz passes.
# A crash is saved under fuzz/artifacts/TARGET/; add it to
# intake/tests/fuzz-regressions/ once fixed (intake/tests/regressions.rs
# replays every file there).
set -euo pipefail
cd "$(dirname "$0")"
secs=${FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(detect pdf image)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
python3 seeds.py corpus
status=0
for t in "${targets[@]}"; do
  echo "== fuzz target $t for ${secs}s"
  mkdir -p "corpus/$t" "artifacts/$t"
  log="artifacts/$t.log"
  set +e
  cargo fuzz run --release "$t" "corpus/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=30 -max_len=262144 -print_final_stats=1 > "$log" 2>&1
  rc=$?
  set -e
  grep -E '^(Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY)' "$log" || true
  if [ "$rc" -ne 0 ]; then
    tail -n 30 "$log"
    echo "!! $t failed (exit $rc): see $log and fuzz/artifacts/$t/"
    status=1
  fi
done
exit "$status"
