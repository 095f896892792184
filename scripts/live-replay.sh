#!/bin/bash
# Live capture at top speed (issue 7, measurement 3): replays the corpus into one end of a veth
# pair with tcpreplay --topspeed while `flowsieve run --workers 2` captures the other end, then
# prints packets sent, packets the agent received, kernel drops and flows detected, next to
# `flowsieve replay` of the same files with the same configuration, and next to `flowsieve replay`
# of what actually arrived (tcpdump records the receiving end with a 256 MiB buffer): live and
# that replay see the same packets in the same order, so their flows and detections must match.
# With more than one worker the fanout group asks the kernel to reassemble IP fragments first
# (PACKET_FANOUT_FLAG_DEFRAG, so a datagram's pieces reach one worker): live then sees fewer,
# whole packets where replay counts "IP fragments", and can find a few more flows.
#
#   sudo [WORKERS=N] scripts/live-replay.sh [PCAP_DIR] [CAPTURE]   (defaults: 2 workers,
#   the corpus's pcap/, afpacket)
#
# The corpus is $FLOWSIEVE_CORPUS when set, else the default of flowsieve::corpus_dir in
# src/lib.rs (the tests and examples use the same).
#
# FLOWSIEVE_RING=v2|v3 picks the AF_PACKET ring layout (`run --ring`, default v2).
#
# Needs root, ip, tcpdump, tcpreplay (Debian: apt-get install -y tcpreplay) and a release build
# (cargo build --release). Only Ethernet captures can be sent on a veth: files of other link
# types (raw IP, Linux cooked, BSD loopback, 802.11…) are left out of both runs and counted.
# "Detected" = flows matching `protocol != 0 && detection_guessed == false` (a log target counts
# them live; replay reports them as "matched an action").
# Everything lives in two namespaces named after this shell's pid; they are deleted on exit,
# failure or Ctrl-C included.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-${FLOWSIEVE_CORPUS:-../shared/corpus/ndpi}/pcap}
CAPTURE=${2:-afpacket}
RING=${FLOWSIEVE_RING:-v2}
BIN=$PWD/target/release/flowsieve
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 1; }
for tool in ip tcpdump tcpreplay; do
    command -v $tool >/dev/null || { echo "missing $tool" >&2; exit 1; }
done

TX=fs-live-tx-$$
RX=fs-live-rx-$$
WORK=$(mktemp -d /tmp/flowsieve-live-replay-$$.XXXX)
AGENT=
DUMP=
cleanup() {
    [ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null || true
    [ -n "$DUMP" ] && kill "$DUMP" 2>/dev/null && wait "$DUMP" 2>/dev/null || true
    ip netns del "$TX" 2>/dev/null || true
    ip netns del "$RX" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# The veth pair, created inside the namespaces; IPv6 off so the interfaces add no traffic of
# their own; the largest MTU, since some captures hold frames of many kilobytes (offloading).
ip netns add "$TX"
ip netns add "$RX"
for ns in "$TX" "$RX"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$TX" link add veth0 type veth peer name veth1 netns "$RX"
ip -n "$TX" link set veth0 mtu 65535 up
ip -n "$RX" link set veth1 mtu 65535 up
# A second pair nobody listens on, to find the files tcpreplay can send whole.
ip -n "$TX" link add probe0 type veth peer name probe1
ip -n "$TX" link set probe0 mtu 65535 up
ip -n "$TX" link set probe1 mtu 65535 up

# Which files are Ethernet, and which of those tcpreplay sends without a fatal error (it stops
# at a corrupt record, e.g. in the fuzzing captures).
: >"$WORK/files"
others=0
broken=0
for f in "$CORPUS"/*; do
    if ! tcpdump -nr "$f" -c 1 2>&1 >/dev/null | grep -q "link-type EN10MB"; then
        others=$((others + 1))
    elif ! ip netns exec "$TX" tcpreplay -q -i probe0 --topspeed "$f" >/dev/null 2>&1; then
        broken=$((broken + 1))
    else
        echo "$f" >>"$WORK/files"
    fi
done
mapfile -t FILES <"$WORK/files"
echo "corpus $CORPUS: ${#FILES[@]} Ethernet capture files sent; left out: $others of other link types" \
    "(raw IP, Linux cooked, loopback, ...), $broken that tcpreplay cannot send to the end"

cat >"$WORK/config.json" <<EOF
{
  "version": 1,
  "actions": { "detected": { "criteria": "protocol != 0 && detection_guessed == false;", "targets": ["log.detected"] } },
  "targets": { "log.detected": { "target_type": "log", "prefix": "detected", "path": "$WORK", "interval": 3600 } }
}
EOF

# Replay of the same files, same configuration.
"$BIN" replay --config "$WORK/config.json" --quiet "${FILES[@]}" >"$WORK/replay.txt" 2>&1 || true
echo "replay:    $(head -2 "$WORK/replay.txt" | paste -sd ' ')"

ip netns exec "$RX" "$BIN" run --config "$WORK/config.json" -I veth1 --capture "$CAPTURE" --workers "${WORKERS:-2}" \
    --ring "$RING" --control-socket "$WORK/sock" >"$WORK/agent.log" 2>&1 &
AGENT=$!
for _ in $(seq 100); do
    grep -q "flowsieve running" "$WORK/agent.log" && break
    sleep 0.1
done
grep -q "flowsieve running" "$WORK/agent.log" || { cat "$WORK/agent.log"; exit 1; }
# What arrives, recorded beside the agent (-B in KiB: room for the whole corpus, so tcpdump
# itself drops nothing; its own drop count is printed).
ip netns exec "$RX" tcpdump -q -i veth1 -B 262144 -s 0 -w "$WORK/received.pcap" 2>"$WORK/tcpdump.txt" &
DUMP=$!
for _ in $(seq 50); do
    grep -q "listening on" "$WORK/tcpdump.txt" && break
    sleep 0.1
done

ip netns exec "$TX" tcpreplay -i veth0 --topspeed "${FILES[@]}" >"$WORK/tcpreplay.txt" 2>&1 ||
    { tail -5 "$WORK/tcpreplay.txt"; exit 1; }
sent=$(grep -oP 'Actual: \K[0-9]+' "$WORK/tcpreplay.txt" | tail -1)
failed=$(grep -oP 'Failed packets:\s*\K[0-9]+' "$WORK/tcpreplay.txt" | tail -1)
echo "tcpreplay: $(grep -E 'Actual|Rated' "$WORK/tcpreplay.txt" | tr -s ' ' | paste -sd ';')"
sleep 2 # let the workers' idle tick and the enforcer publish their counters
kill -INT "$DUMP" && wait "$DUMP" 2>/dev/null || true
DUMP=

"$BIN" status --json --control-socket "$WORK/sock" >"$WORK/status.json"
python3 - "$WORK/status.json" "$sent" "${failed:-0}" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
w = s["workers"]
total = lambda k: sum(x[k] for x in w)
print(f"live:      {sys.argv[2]} packets sent ({sys.argv[3]} failed to send), "
      f"{total('packets')} packets processed by {len(w)} workers "
      f"(capture: {total('capture_received')} received, {total('capture_dropped')} dropped by the kernel), "
      f"{total('flows_created')} flows, "
      f"{sum(t['applied'] for t in s['targets'])} detected, {total('events_dropped')} events dropped")
for x in w:
    print(f"           worker {x['iface']}: {x['packets']} packets, {x['flows_created']} flows, "
          f"capture {x['capture_received']} received / {x['capture_dropped']} dropped")
EOF
echo "tcpdump:   $(grep -E 'captured|dropped by kernel' "$WORK/tcpdump.txt" | paste -sd ',')"
"$BIN" replay --config "$WORK/config.json" --quiet "$WORK/received.pcap" >"$WORK/replay-received.txt" 2>&1 || true
echo "replay of what arrived: $(head -2 "$WORK/replay-received.txt" | paste -sd ' ')"
