#!/usr/bin/env python3
"""Write tests/fixtures/quic-rfc9001.pcap: QUIC handshakes built from RFC 9001 Appendix A.

    scripts/quic_rfc_fixture.py [OUT]      (default tests/fixtures/quic-rfc9001.pcap)

Needs Python's `cryptography` package. Three UDP flows between documentation addresses, each a
client on 192.0.2.1 and a server on 198.51.100.1:443 (Ethernet, IPv4, checksums zero):

1. port 50001: the client Initial of RFC 9001 A.2 (protected here with the A.1 client keys, from
   the A.2 header and CRYPTO frame, which gives the A.2 packet byte for byte), then the server
   Initial of A.3, coalesced with a Handshake packet (its bytes arbitrary, as a server's are to
   anyone without the handshake keys).
2. port 50002: a client datagram in a version reserved to force version negotiation (0x1a2a3a4a,
   RFC 9000 §15), padded to 1200 bytes; the server's Version Negotiation listing v1 and v2
   (RFC 9000 §17.2.1); then exchange 1 again (the A.2 client restarting in v1).
3. port 50003: the forcing datagram and the Version Negotiation only.

The RFC's vectors are public protocol facts; the tests that read this capture check what
flowsieve reports for them (tests/replay_fixture.rs).
"""

import struct
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# RFC 9001 A.1: the client's Initial keys for DCID 8394c8f03e515708.
CLIENT_KEY = bytes.fromhex("1f369613dd76d5467730efcbe3b1a22d")
CLIENT_IV = bytes.fromhex("fa044b2f42a3fd3b46fb255c")
CLIENT_HP = bytes.fromhex("9f50449e04a0e810283a1e9933adedd2")

# RFC 9001 A.2: the unprotected header (packet number 2 in four bytes) and the CRYPTO frame,
# padded to 1162 bytes.
A2_HEADER = bytes.fromhex("c300000001088394c8f03e5157080000449e00000002")
A2_FRAME = bytes.fromhex(
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c000004"
    "13011302010000c000000010000e00000b6578616d706c652e636f6dff01000100000a00080006001d00170018"
    "00100007000504616c706e000500050100000000003300260024001d00209370b2c9caa47fbabaf4559fedba75"
    "3de171fa71f50f1ce15d43e994ec74d748002b0003020304000d0010000e040305030603020308040805080600"
    "2d00020101001c00024001003900320408ffffffffffffffff05048000ffff07048000ffff0801100104800075"
    "300901100f088394c8f03e51570806048000ffff"
)
# The protected A.2 packet starts so (header and sample, as the RFC prints them).
A2_PREFIX = bytes.fromhex("c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11d242b123dc9b")

# RFC 9001 A.3: the server's Initial.
A3_PACKET = bytes.fromhex(
    "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a5816b6394100f37a1c69797554"
    "780bb38cc5a99f5ede4cf73c3ec2493a1839b3dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b"
    "562bfb19fb84022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc42158407dd074ee"
)
SERVER_SCID = bytes.fromhex("f067a5502a4262b5")
CLIENT_DCID = bytes.fromhex("8394c8f03e515708")


def a2_packet():
    payload = A2_FRAME.ljust(1162, b"\0")
    pn_offset, pn_len = len(A2_HEADER) - 4, 4
    nonce = bytearray(CLIENT_IV)
    nonce[-1] ^= 2  # packet number 2
    sealed = AESGCM(CLIENT_KEY).encrypt(bytes(nonce), payload, A2_HEADER)
    packet = bytearray(A2_HEADER + sealed)
    sample = bytes(packet[pn_offset + 4 : pn_offset + 20])
    encryptor = Cipher(algorithms.AES(CLIENT_HP), modes.ECB()).encryptor()
    mask = encryptor.update(sample) + encryptor.finalize()
    packet[0] ^= mask[0] & 0x0F
    for i in range(pn_len):
        packet[pn_offset + i] ^= mask[1 + i]
    assert len(packet) == 1200 and bytes(packet[: len(A2_PREFIX)]) == A2_PREFIX
    return bytes(packet)


def handshake_packet():
    # Long header type 2 (Handshake), v1, DCID empty, the server's SCID, 20 bytes of payload.
    return bytes([0xE1]) + struct.pack(">I", 1) + b"\x00" + bytes([8]) + SERVER_SCID + bytes([20]) + b"\x42" * 20


GREASE = 0x1A2A3A4A
GREASE_DCID = bytes.fromhex("0a0b0c0d0e0f1011")
GREASE_SCID = bytes.fromhex("01020304")


def forcing_datagram():
    p = bytes([0xC3]) + struct.pack(">I", GREASE) + bytes([8]) + GREASE_DCID + bytes([4]) + GREASE_SCID
    return p.ljust(1200, b"\x5a")


def version_negotiation():
    # RFC 9000 §17.2.1: the connection IDs of the client's packet, swapped, then the versions.
    return (
        bytes([0xCA]) + b"\0\0\0\0" + bytes([4]) + GREASE_SCID + bytes([8]) + GREASE_DCID
        + struct.pack(">II", 0x00000001, 0x6B3343CF)
    )


def frame(src_port, to_server, payload):
    client, server = bytes([192, 0, 2, 1]), bytes([198, 51, 100, 1])
    src, dst = (client, server) if to_server else (server, client)
    sport, dport = (src_port, 443) if to_server else (443, src_port)
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, src, dst) + udp
    ether = bytes.fromhex("020000000002" "020000000001" "0800") if to_server else bytes.fromhex("020000000001" "020000000002" "0800")
    return ether + ip


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/quic-rfc9001.pcap"
    a2 = a2_packet()
    server = A3_PACKET + handshake_packet()
    frames = [
        frame(50001, True, a2),
        frame(50001, False, server),
        frame(50002, True, forcing_datagram()),
        frame(50002, False, version_negotiation()),
        frame(50002, True, a2),
        frame(50002, False, server),
        frame(50003, True, forcing_datagram()),
        frame(50003, False, version_negotiation()),
    ]
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, data in enumerate(frames):
            f.write(struct.pack("<IIII", 1_700_000_000, i * 10_000, len(data), len(data)))
            f.write(data)


if __name__ == "__main__":
    main()
