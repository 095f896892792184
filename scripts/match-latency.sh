#!/bin/sh
# Match-to-kernel latency (issue 7, measurement 6): many TLS 1.1 handshakes through the weak-TLS
# lab in network namespaces, `flowsieve run` with an nftset action, once with the AF_PACKET ring
# and once with libpcap; prints median, p90, p99 and max from `flowsieve status`.
# Needs root, ip, nft, openssl. FLOWSIEVE_LATENCY_FLOWS=N sets the number of connections (200).
# The lab removes its namespaces when the test ends, failed or not.
set -eu
cd "$(dirname "$0")/.."
exec cargo test --release --test latency_live -- --ignored --nocapture --test-threads 1 match_to_kernel_latency
