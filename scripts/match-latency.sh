#!/bin/sh
# Match-to-kernel latency (issue 7, measurement 6): many TLS 1.1 handshakes through the weak-TLS
# lab in network namespaces, `flowsieve run` with an nftset action, once per capture mode (AF_PACKET
# TPACKET_V2 ring, TPACKET_V3 ring, libpcap); prints median, p90, p99 and max from `flowsieve status`.
# Needs root, ip, nft, openssl. FLOWSIEVE_LATENCY_FLOWS=N sets the number of connections (200);
# FLOWSIEVE_LATENCY_CAPTURE=v2,v3,pcap (the default) picks the modes and their order;
# FLOWSIEVE_LATENCY_RT=1 runs the agent SCHED_FIFO (chrt -f 20): on a machine busy with other work
# the figures then show the capture path, not the wait for a CPU. The VM's steal time during the
# handshakes is printed too: a vCPU the hypervisor takes away runs nothing, RT or not.
# The lab removes its namespaces when the test ends, failed or not.
set -eu
cd "$(dirname "$0")/.."
exec cargo test --release --test latency_live -- --ignored --nocapture --test-threads 1 match_to_kernel_latency
