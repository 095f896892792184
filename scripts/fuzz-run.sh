#!/bin/sh
# Run fuzz targets under libFuzzer, one after the other, each for the given time, logging to
# fuzz/logs/<target>.log (final stats included). Usage, from the repository root:
#   scripts/fuzz-run.sh SECONDS TARGET...
# Targets: dissect (every dissector, picked by the first input byte), registry, decode, worker,
# criteria, x509, capture_file.
# A crash stops that target's run and leaves the input in fuzz/artifacts/<target>/; the script
# goes on with the next target and exits non-zero at the end.
set -u
seconds=$1
shift
mkdir -p fuzz/logs
status=0
for target in "$@"; do
    mkdir -p "fuzz/corpus/$target"
    echo "== $target: ${seconds}s"
    if ! (cd fuzz && RUSTC_BOOTSTRAP=1 nice -n 10 cargo fuzz run "$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1) \
        >"fuzz/logs/$target.log" 2>&1; then
        echo "   $target FAILED: see fuzz/logs/$target.log and fuzz/artifacts/$target/"
        status=1
    fi
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "fuzz/logs/$target.log" | sed 's/^/   /'
done
exit $status
