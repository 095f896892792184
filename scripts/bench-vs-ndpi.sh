#!/usr/bin/env bash
# flowsieve next to nDPI's ndpiReader, side by side in one run (issue 14, "speed and memory stay
# ahead"): packets/s of `flowsieve replay` (full pipeline and --decode-only) and of ndpiReader on
# the same captures, on one pinned core, in alternating rounds; callgrind instructions and heap
# allocations per packet of both (deterministic, unlike wall time on a busy machine); bytes per
# tracked flow (examples/flow-memory.rs) and the no-allocation-once-warm test (tests/no_alloc.rs).
#
#   scripts/bench-vs-ndpi.sh NDPIREADER [SET...]
#
# NDPIREADER is an ndpiReader you built yourself (docs/BENCHMARKS.md says how; this script does
# not build nDPI). Each SET is a capture file, or a directory whose *.pcap/*.pcapng files are
# replayed one after the other as one run (ndpiReader reads them through a playlist). Without a
# SET: the whole nDPI corpus ($FLOWSIEVE_CORPUS, default ../shared/corpus/ndpi, directory pcap/)
# and its three largest captures one by one.
#
# Environment: ROUNDS (5) alternated rounds per set; PASSES (10) passes over the set in each run
# (ndpiReader -l, flowsieve --repeat: every pass is new flows for both); CPU (1) the core everything is pinned to;
# CONFIG (examples/weak-tls.json); CALLGRIND=0 skips the valgrind runs; MEMORY=0 skips
# flow-memory, MEMORY_ARGS ("1000000 10000000 100000") are its arguments; ALLOC=0 skips
# tests/no_alloc.rs; KEEP=DIR keeps the raw outputs (tool output, callgrind files) in DIR.
#
# Both tools time the same thing: from the first packet read to the last flow ended, with the
# captures read from the page cache (ndpiReader: "Packet Processing Time", its setup (nDPI's
# automata) excluded; flowsieve: the replay summary, its classifier built before). packets/s are
# the frames in the captures over that time, the same numerator for both, and over the CPU time
# (user + system) of the process minus that of the same tool on an empty capture: on a machine
# busy with other work the CPU figures hold, the wall ones do not. Callgrind's figures are
# deterministic and the ones to compare.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 2
fi
NDPI=$(command -v "$1" || true)
shift
[ -n "$NDPI" ] && [ -x "$NDPI" ] || { echo "ndpiReader not found or not executable" >&2; exit 2; }
ROUNDS=${ROUNDS:-5}
PASSES=${PASSES:-10}
CPU=${CPU:-1}
CONFIG=${CONFIG:-examples/weak-tls.json}
CALLGRIND=${CALLGRIND:-1}
MEMORY=${MEMORY:-1}
MEMORY_ARGS=${MEMORY_ARGS:-1000000 10000000 100000}
ALLOC=${ALLOC:-1}
CORPUS=${FLOWSIEVE_CORPUS:-../shared/corpus/ndpi}
FS=target/release/flowsieve

if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP"
    WORK=$(cd "$KEEP" && pwd)
else
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi

if [ $# -eq 0 ]; then
    [ -d "$CORPUS/pcap" ] || { echo "no SET given and no corpus at $CORPUS/pcap (set FLOWSIEVE_CORPUS)" >&2; exit 2; }
    # shellcheck disable=SC2012 # plain file names, no newlines
    set -- "$CORPUS/pcap" $(ls -S "$CORPUS"/pcap/*.pcap* | head -3)
fi

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b + 0 == 0) print "nan"; else printf "%.2f", a / b }'; }
# Numbers with thousands separators: 1234567 -> 1,234,567
sep() { printf "%s" "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|[,.]\)/\1,\2\3/; ta'; }

echo "== bench-vs-ndpi $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -r), $(nproc) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "flowsieve: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || echo ' (src modified)'), config $CONFIG"
echo "ndpiReader: $NDPI, $("$NDPI" -h 2>/dev/null | sed -n 's/^Welcome to nDPI \(.*\)/nDPI \1/p' | head -1)"
echo "pinned to CPU $CPU (taskset), $ROUNDS alternated rounds per set, $PASSES passes over the set per run"
echo
echo "-- building flowsieve (release)"
cargo build --release --locked --quiet

# CPU seconds (user + system) of a command, written to FILE.time
timed() { # file command...
    local f=$1
    shift
    /usr/bin/time -f '%U %S' -o "$f.time" "$@" >"$f" 2>&1
}
cpu_of() { awk '{ print $1 + $2 }' "$1.time"; }
# ndpiReader's summary lines ("IP packets: N of M packets total", "Packet Processing Time: N msec")
run_ndpi() { # input out -> "frames ip_packets flows msec cpu_s", summed over the -l loops
    timed "$2" taskset -c "$CPU" "$NDPI" -l "$PASSES" -i "$1" || { echo "ndpiReader failed, output in $2:" >&2; tail -5 "$2" >&2; exit 1; }
    awk -v cpu="$(cpu_of "$2")" '/IP packets:/ { ip += $3; total += $5 }
         /Unique flows:/ { flows += $3 }
         /Packet Processing Time:/ { ms += $4 }
         END { if (total == "" || ms == "") exit 1; print total, ip, flows, ms, cpu }' "$2" ||
        { echo "ndpiReader printed no summary, output in $2" >&2; exit 1; }
}
# flowsieve's summary line ("replayed N file(s): P packets, F flows (...), B bytes in S s, R packets/s")
run_fs() { # out extra-args... -> "packets flows seconds skipped cpu_s"
    local out=$1
    shift
    timed "$out" taskset -c "$CPU" "$FS" replay -q --repeat "$PASSES" --config "$CONFIG" "$@" || { echo "flowsieve failed:" >&2; tail -5 "$out" >&2; exit 1; }
    awk -v cpu="$(cpu_of "$out")" '/^replayed/ { p = $4; f = $6; for (i = 1; i <= NF; i++) if ($i == "packets/s") r = $(i - 1) }
         /^skipped:/ { s = $2 + $4 + $6 + $9 }
         END { if (p == "") exit 1; print p, f, (r + 0 > 0 ? p / r : 0), s, cpu }' "$out" ||
        { echo "flowsieve printed no summary, output in $out" >&2; exit 1; }
}
# A capture with no packets: what each tool's CPU time costs before the first packet (nDPI's
# automata, flowsieve's classifier) is measured on it and taken off the CPU figures.
EMPTY=$WORK/empty.pcap
printf '\324\303\262\241\002\000\004\000\000\000\000\000\000\000\000\000\377\377\000\000\001\000\000\000' >"$EMPTY"

# Callgrind: instructions and malloc/calloc/realloc calls of a whole process. The packet work is
# the difference between a run on the captures and a run on the empty capture (same startup:
# nDPI's automata, flowsieve's classifier; works on stripped binaries too).
callgrind_counts() { # file -> "instructions allocations"
    awk '/^c?fn=\(/ { kind = substr($1, 1, index($1, "=") - 1); id = substr($1, index($1, "=") + 1)
                       if (NF > 1) { n = $0; sub(/^[^ ]* /, "", n); name[id] = n }
                       if (kind == "cfn") callee = name[id] }
         /^calls=/ { n = substr($1, 7); if (callee ~ /^(malloc|calloc|realloc|aligned_alloc|posix_memalign|memalign)$/) allocs += n }
         /^summary:/ { ir = $2 } /^totals:/ { ir = $2 }
         END { print ir + 0, allocs + 0 }' "$1"
}
callgrind() { # out -> "instructions allocations"
    local out=$1
    shift
    rm -f "$out"
    taskset -c "$CPU" valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >"$out.log" 2>&1 ||
        { echo "valgrind failed, see $out.log" >&2; exit 1; }
    callgrind_counts "$out"
}
if [ "$CALLGRIND" = 1 ]; then
    command -v valgrind >/dev/null || { echo "valgrind not installed (CALLGRIND=0 skips it)" >&2; exit 2; }
    echo "-- callgrind on the empty capture (startup and exit, taken off every callgrind figure below)"
    read -r nd0_ir nd0_al <<<"$(callgrind "$WORK/cg.ndpi0" "$NDPI" -q -i "$EMPTY")"
    read -r fu0_ir fu0_al <<<"$(callgrind "$WORK/cg.full0" "$FS" replay -q --config "$CONFIG" "$EMPTY")"
    read -r de0_ir de0_al <<<"$(callgrind "$WORK/cg.dec0" "$FS" replay -q --decode-only --config "$CONFIG" "$EMPTY")"
    echo "ndpiReader $(sep "$nd0_ir") instructions, $nd0_al allocations; flowsieve $(sep "$fu0_ir"), $fu0_al (decode-only $(sep "$de0_ir"), $de0_al)"
fi

set_no=0
SUMMARY=()
for set in "$@"; do
    set_no=$((set_no + 1))
    files=()
    if [ -d "$set" ]; then
        while IFS= read -r f; do files+=("$f"); done < <(find "$set" -maxdepth 1 -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | sort)
        label="$set/ (${#files[@]} captures, one after the other)"
    else
        files=("$set")
        label=$set
    fi
    [ ${#files[@]} -gt 0 ] || { echo "no captures in $set" >&2; exit 2; }
    list="$WORK/set$set_no.playlist"
    for f in "${files[@]}"; do readlink -f "$f"; done >"$list"
    # A playlist of one file is still a playlist to ndpiReader; give it the file itself.
    ndpi_in=$list
    [ ${#files[@]} -eq 1 ] && ndpi_in=${files[0]}

    echo
    echo "=== set $set_no: $label"
    echo "packets/s: wall = by each tool's own timer; cpu = per CPU-second (user + system, minus the same"
    echo "tool's CPU time on an empty capture). x = flowsieve full / ndpiReader; f/d = full / decode-only."
    printf "%-6s %21s %21s %21s %13s %11s\n" "" "ndpiReader" "flowsieve full" "flowsieve decode" "x" "f/d"
    printf "%-6s %10s %10s %10s %10s %10s %10s %6s %6s %5s %5s\n" round wall cpu wall cpu wall cpu wall cpu wall cpu
    cols=()
    for round in $(seq 1 "$ROUNDS"); do
        # Alternate the order so neither tool always runs first after a pause
        if [ $((round % 2)) = 1 ]; then order="ndpi0 ndpi fs0 full dec"; else order="dec full fs0 ndpi ndpi0"; fi
        for tool in $order; do
            case $tool in
            ndpi)
                r=$(run_ndpi "$ndpi_in" "$WORK/ndpi.$set_no.$round.out")
                read -r frames nd_ip nd_flows nd_ms nd_cpu <<<"$r"
                ;;
            ndpi0)
                timed "$WORK/ndpi0.out" taskset -c "$CPU" "$NDPI" -l "$PASSES" -i "$EMPTY" || true
                nd0_cpu=$(cpu_of "$WORK/ndpi0.out")
                ;;
            full)
                r=$(run_fs "$WORK/full.$set_no.$round.out" "${files[@]}")
                read -r fs_packets fs_flows fs_full_s fs_skipped fs_full_cpu <<<"$r"
                ;;
            dec)
                r=$(run_fs "$WORK/dec.$set_no.$round.out" --decode-only "${files[@]}")
                read -r _ _ fs_dec_s _ fs_dec_cpu <<<"$r"
                ;;
            fs0)
                r=$(run_fs "$WORK/fs0.out" "$EMPTY")
                read -r _ _ _ _ fs0_cpu <<<"$r"
                ;;
            esac
        done
        # frames / seconds, "nan" when the time is 0 or less (timer resolution, CPU time noise)
        rate() { awk -v n="$frames" -v s="$1" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "nan" }'; }
        row=(
            "$(rate "$(awk -v ms="$nd_ms" 'BEGIN { print ms / 1000 }')")"
            "$(rate "$(awk -v a="$nd_cpu" -v b="$nd0_cpu" 'BEGIN { print a - b }')")"
            "$(rate "$fs_full_s")"
            "$(rate "$(awk -v a="$fs_full_cpu" -v b="$fs0_cpu" 'BEGIN { print a - b }')")"
            "$(rate "$fs_dec_s")"
            "$(rate "$(awk -v a="$fs_dec_cpu" -v b="$fs0_cpu" 'BEGIN { print a - b }')")"
        )
        row+=("$(ratio "${row[2]}" "${row[0]}")" "$(ratio "${row[3]}" "${row[1]}")" "$(ratio "${row[2]}" "${row[4]}")" "$(ratio "${row[3]}" "${row[5]}")")
        cols+=("${row[*]}")
        printf "%-6s %10s %10s %10s %10s %10s %10s %6s %6s %5s %5s\n" "$round" "${row[@]}"
    done
    med=()
    for c in $(seq 1 10); do
        med+=("$(printf "%s\n" "${cols[@]}" | awk -v c="$c" '$c != "nan" { print $c }' | median)")
    done
    printf "%-6s %10.0f %10.0f %10.0f %10.0f %10.0f %10.0f %6.2f %6.2f %5.2f %5.2f\n" median "${med[@]}"
    pass_frames=$((frames / PASSES)) pass_nd_flows=$((nd_flows / PASSES)) pass_fs_flows=$((fs_flows / PASSES))
    echo "$frames frames in $PASSES passes ($pass_frames a pass). ndpiReader: $nd_ip IP packets of $frames, $nd_flows flows,"
    echo "timer in whole ms. flowsieve: $fs_packets packets into the flow table + $fs_skipped skipped, $fs_flows flows."
    echo "CPU time on the empty capture (taken off): ndpiReader ${nd0_cpu} s, flowsieve ${fs0_cpu} s (last round)."
    SUMMARY+=("set $set_no ($frames frames) packets/s, median of $ROUNDS: ndpiReader $(printf %.0f "${med[0]}") wall / $(printf %.0f "${med[1]}") per CPU-s; flowsieve full $(printf %.0f "${med[2]}") / $(printf %.0f "${med[3]}") (x${med[6]} / x${med[7]}); decode-only $(printf %.0f "${med[4]}") / $(printf %.0f "${med[5]}") (full/decode ${med[8]} / ${med[9]})")

    if [ "$CALLGRIND" = 1 ]; then
        echo "-- callgrind (deterministic: instructions and heap allocations do not depend on the load)"
        read -r nd_ir nd_al <<<"$(callgrind "$WORK/cg.ndpi.$set_no" "$NDPI" -q -i "$ndpi_in")"
        read -r fu_ir fu_al <<<"$(callgrind "$WORK/cg.full.$set_no" "$FS" replay -q --config "$CONFIG" "${files[@]}")"
        read -r de_ir de_al <<<"$(callgrind "$WORK/cg.dec.$set_no" "$FS" replay -q --decode-only --config "$CONFIG" "${files[@]}")"
        per() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (a - b) / n }'; }
        printf "%-22s %18s %18s %18s\n" "" "instructions/frame" "allocations/frame" "allocations/flow"
        printf "%-22s %18s %18s %18s\n" ndpiReader "$(per "$nd_ir" "$nd0_ir" "$pass_frames")" "$(per "$nd_al" "$nd0_al" "$pass_frames")" "$(per "$nd_al" "$nd0_al" "$pass_nd_flows")"
        printf "%-22s %18s %18s %18s\n" "flowsieve full" "$(per "$fu_ir" "$fu0_ir" "$pass_frames")" "$(per "$fu_al" "$fu0_al" "$pass_frames")" "$(per "$fu_al" "$fu0_al" "$pass_fs_flows")"
        printf "%-22s %18s %18s %18s\n" "flowsieve decode-only" "$(per "$de_ir" "$de0_ir" "$pass_frames")" "$(per "$de_al" "$de0_al" "$pass_frames")" "$(per "$de_al" "$de0_al" "$pass_fs_flows")"
        cg_r_nd=$(ratio "$((nd_ir - nd0_ir))" "$((fu_ir - fu0_ir))")
        cg_r_dec=$(ratio "$((de_ir - de0_ir))" "$((fu_ir - fu0_ir))")
        echo "ndpiReader executes ${cg_r_nd}x flowsieve's instructions per frame; flowsieve decode-only/full = $cg_r_dec"
        echo "(callgrind, one pass, whole process minus the empty-capture run; allocations = malloc/calloc/realloc calls."
        echo " ndpiReader ran with -q here. flowsieve's are for new flows and for reading the files; a packet"
        echo " of a known flow allocates nothing: tests/no_alloc.rs below.)"
        SUMMARY+=("set $set_no callgrind instructions/frame: ndpiReader $(per "$nd_ir" "$nd0_ir" "$pass_frames"), flowsieve full $(per "$fu_ir" "$fu0_ir" "$pass_frames") (x$cg_r_nd fewer), decode-only $(per "$de_ir" "$de0_ir" "$pass_frames") (decode/full $cg_r_dec); allocations/flow ndpiReader $(per "$nd_al" "$nd0_al" "$pass_nd_flows"), flowsieve $(per "$fu_al" "$fu0_al" "$pass_fs_flows")")
    fi
done

if [ "$MEMORY" = 1 ]; then
    echo
    echo "=== memory per tracked flow: flow-memory $MEMORY_ARGS"
    cargo build --release --locked --quiet --example flow-memory
    # shellcheck disable=SC2086 # MEMORY_ARGS is a list of arguments
    FLOWSIEVE_CORPUS=$CORPUS taskset -c "$CPU" target/release/examples/flow-memory $MEMORY_ARGS | tee "$WORK/flow-memory.out"
    per_flow=$(sed -n 's/.* = \([0-9]*\) bytes per tracked \([A-Z]*\) flow.*/\2 \1 B/p' "$WORK/flow-memory.out" | paste -sd, - | sed 's/,/, /g')
    SUMMARY+=("memory per tracked flow (RSS growth / flows): $per_flow (budget 512 B)")
    nd_flow=$(sed -n 's/.*Flow Memory (per flow): *\([^ ]* [^ ]*\).*/\1/p' "$(ls "$WORK"/ndpi.*.out | head -1)" | head -1)
    [ -n "$nd_flow" ] && SUMMARY+=("ndpiReader's own figure: sizeof(struct ndpi_flow_struct) = $nd_flow per flow, before its flow-table entry and the per-protocol allocations")
fi

if [ "$ALLOC" = 1 ]; then
    echo
    echo "=== allocations per packet once warm: cargo test --release --test no_alloc"
    if cargo test --release --locked --quiet --test no_alloc 2>&1 | tee "$WORK/no_alloc.out" | grep -E '^test |test result'; then
        if grep -q 'test result: ok' "$WORK/no_alloc.out"; then
            SUMMARY+=("allocations per warm packet: 0 (tests/no_alloc.rs passed: known flows, TLS and GTP-U, counted by a global allocator)")
        else
            SUMMARY+=("allocations per warm packet: tests/no_alloc.rs FAILED")
        fi
    else
        SUMMARY+=("allocations per warm packet: tests/no_alloc.rs did not run")
    fi
fi

echo
echo "=== summary ($(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg))"
printf -- "- %s\n" "${SUMMARY[@]}"
echo "Wall-clock figures depend on what else the machine runs; the callgrind instruction ratio does not."
