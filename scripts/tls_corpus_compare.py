#!/usr/bin/env python3
"""Compare flowsieve's TLS/QUIC facts with nDPI's truth.jsonl, per flow.

Usage: scripts/tls_corpus_compare.py FLOWSIEVE_JSONL TRUTH_JSONL [--show FIELD]

FLOWSIEVE_JSONL is the output of
  flowsieve replay --json --config examples/weak-tls.json "$FLOWSIEVE_CORPUS"/pcap/*
(the corpus: $FLOWSIEVE_CORPUS, else the default of flowsieve::corpus_dir in src/lib.rs)
Flows pair by capture, VLAN and 5-tuple in either direction. For each field, only flows where
nDPI has a value count; a flow flowsieve did not report counts as a disagreement.
"""
import json
import sys
from collections import defaultdict


def key(capture, proto, vlan, a, ap, b, bp):
    ends = sorted([(a, ap), (b, bp)])
    return (capture, proto, vlan or 0, ends[0], ends[1])


def ours_fields(rec):
    tls = rec.get("tls") or {}
    quic = rec.get("quic") or {}
    return {
        "ja3c": tls.get("ja3"),
        "ja3s": tls.get("ja3s"),
        "ja4": tls.get("ja4"),
        "cipher": tls.get("cipher_name"),
        "server_names": ",".join(tls.get("server_names") or []) or None,
        "alpn_advertised": ",".join(tls.get("alpn") or []) or None,
        "alpn_negotiated": tls.get("alpn_negotiated"),
        "quic_version": quic.get("version"),
        "hostname": tls.get("sni"),
        "ja4_ndpi": ndpi_ja4(tls),
    }


def is_ip(text):
    import ipaddress
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def ndpi_ja4(tls):
    """Our JA4 rewritten with nDPI 4.11's known departures from FoxIO's definition, to tell
    those apart from real disagreements: `i` only for an IP-literal SNI (`d` also without SNI),
    ALPN shown by its first two characters, and SHA-256 of the empty string (`e3b0c44298fc`)
    rather than zeros for an empty extension list."""
    ja4 = tls.get("ja4")
    if not ja4 or len(ja4) < 10:
        return ja4
    sni = tls.get("sni")
    letter = "i" if sni and is_ip(sni) else "d"
    alpn = (tls.get("alpn") or [None])[0]
    chars = ja4[8:10]
    if alpn and len(alpn) >= 2:
        chars = alpn[:2]
    a, b, c = ja4.split("_")
    if c == "000000000000":
        c = "e3b0c44298fc"
    return a[:3] + letter + a[4:8] + chars + "_" + b + "_" + c


def truth_fields(t):
    def join(v):
        if isinstance(v, list):
            return ",".join(v)
        return v
    return {
        "ja3c": t.get("ja3c"),
        "ja3s": t.get("ja3s"),
        "ja4": t.get("ja4"),
        "ja4_ndpi": t.get("ja4"),
        "cipher": t.get("cipher"),
        "server_names": join(t.get("server_names")),
        "alpn_advertised": join(t.get("alpn_advertised")),
        "alpn_negotiated": join(t.get("alpn_negotiated")),
        "quic_version": t.get("quic_version"),
        "hostname": t.get("hostname") if (t.get("tls_version") or t.get("quic_version")) else None,
    }


def main():
    ours_path, truth_path = sys.argv[1], sys.argv[2]
    show = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--show" else None
    ours = {}
    for line in open(ours_path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        proto = {6: "TCP", 17: "UDP"}.get(r["ip_protocol"], str(r["ip_protocol"]))
        k = key(r["capture"], proto, r["vlan_id"], r["local_ip"], r["local_port"], r["other_ip"], r["other_port"])
        ours[k] = r
    agree, total, missing = defaultdict(int), defaultdict(int), defaultdict(int)
    # The same, counting only flows whose hello flowsieve read (a `tls` object in its record).
    agree_read, total_read = defaultdict(int), defaultdict(int)
    diffs = defaultdict(list)
    for line in open(truth_path):
        t = json.loads(line)
        if not t.get("pcap_present", True):
            continue
        k = key(t["pcap"], t["l4"], t.get("vlan"), t["src_ip"], t["src_port"], t["dst_ip"], t["dst_port"])
        r = ours.get(k)
        theirs = truth_fields(t)
        mine = ours_fields(r) if r else {}
        for field, want in theirs.items():
            if not want:
                continue
            total[field] += 1
            got = mine.get(field)
            read = bool(r and r.get("tls"))
            total_read[field] += read
            if got == want:
                agree[field] += 1
                agree_read[field] += read
            else:
                if r is None:
                    missing[field] += 1
                diffs[field].append((t["pcap"], t["idx"], want, got))
    print(f"{'field':18} {'agree':>6} / {'total':>6}  {'pct':>6}  flow-missing | hello read: agree / total   pct")
    for field in ["ja3c", "ja3s", "ja4", "ja4_ndpi", "cipher", "server_names", "alpn_advertised", "alpn_negotiated", "quic_version", "hostname"]:
        n = total[field]
        pct = 100.0 * agree[field] / n if n else 0.0
        m = total_read[field]
        pct_read = 100.0 * agree_read[field] / m if m else 0.0
        print(f"{field:18} {agree[field]:>6} / {n:>6}  {pct:6.2f}  {missing[field]:>12} | {agree_read[field]:>10} / {m:>5}  {pct_read:6.2f}")
    if show:
        for d in diffs[show]:
            print(*d, sep="\t")


if __name__ == "__main__":
    main()
