#!/bin/sh
# NFQUEUE benchmark (issue 16): added latency per queued packet (median, p99) in tap and inline
# mode and packets/s one queue's worker processes, side by side with one AF_PACKET ring worker
# on the same traffic, in the weak-TLS lab's namespaces. Needs root, ip, nft, iptables (nft
# backend), openssl, python3, ping. FLOWSIEVE_BENCH_ROUNDS=N sets the rounds of 200 pings with
# and without the queue rule (10); FLOWSIEVE_BENCH_RT=1 runs the agent SCHED_FIFO (chrt -f 20)
# so a busy machine shows less of its own scheduling in the figures.
set -eu
cd "$(dirname "$0")/.."
exec cargo test --release --test nfqueue_live -- --ignored --nocapture --test-threads 1 nfqueue_benchmark
