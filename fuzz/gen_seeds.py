#!/usr/bin/env python3
"""Writes the hand-made seed files of corpus/parse/ (realistic client traffic plus edge cases)."""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "parse")
COOKIE = bytes([99, 130, 83, 99])
MAC = bytes([0x02, 0x00, 0x5E, 0x12, 0x34, 0x56])


def ip(s):
    return bytes(int(x) for x in s.split("."))


def header(op=1, hlen=6, hops=0, xid=0x3903F326, secs=0, flags=0, ciaddr="0.0.0.0",
           yiaddr="0.0.0.0", siaddr="0.0.0.0", giaddr="0.0.0.0", chaddr=MAC, sname=b"", file=b""):
    h = struct.pack("!BBBBIHH", op, 1, hlen, hops, xid, secs, flags)
    h += ip(ciaddr) + ip(yiaddr) + ip(siaddr) + ip(giaddr)
    h += chaddr.ljust(16, b"\0") + sname.ljust(64, b"\0") + file.ljust(128, b"\0")
    assert len(h) == 236
    return h


def opt(code, value):
    out = b""
    for i in range(0, max(len(value), 1), 255):
        chunk = value[i:i + 255]
        out += bytes([code, len(chunk)]) + chunk
    return out


def msg(opts, pad=True, **kw):
    b = header(**kw) + COOKIE + b"".join(opts) + b"\xff"
    return b.ljust(300, b"\0") if pad else b


PRL_DHCLIENT = bytes([1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42])
PRL_UDHCPC = bytes([1, 3, 6, 12, 15, 28, 42, 51, 54, 58, 59, 119])
CID = b"\x01" + MAC
RELAY = opt(82, b"\x01\x06eth0/1" + b"\x02\x06" + MAC)

seeds = {
    "dhclient-discover": msg([opt(53, b"\x01"), opt(50, ip("198.18.0.23")), opt(12, b"laptop"),
                              opt(55, PRL_DHCLIENT)]),
    "dhclient-request": msg([opt(53, b"\x03"), opt(54, ip("198.18.0.1")), opt(50, ip("198.18.0.23")),
                             opt(12, b"laptop"), opt(55, PRL_DHCLIENT)]),
    "udhcpc-discover": msg([opt(53, b"\x01"), opt(61, CID), opt(57, struct.pack("!H", 576)),
                            opt(60, b"udhcp 1.36.1"), opt(12, b"router"), opt(55, PRL_UDHCPC)]),
    "udhcpc-request": msg([opt(53, b"\x03"), opt(61, CID), opt(50, ip("198.18.0.40")),
                           opt(54, ip("198.18.0.1")), opt(57, struct.pack("!H", 576)),
                           opt(60, b"udhcp 1.36.1"), opt(55, PRL_UDHCPC)], secs=3),
    "dhcpcd-discover": msg([opt(53, b"\x01"), opt(61, b"\xff" + bytes(range(1, 19))),
                            opt(57, struct.pack("!H", 1472)), opt(60, b"dhcpcd-10.0.6:Linux-6.8.0:x86_64:GenuineIntel"),
                            opt(12, b"host"), opt(55, bytes([1, 121, 33, 3, 6, 12, 15, 26, 28, 42, 51, 54, 58, 59, 119]))],
                           flags=0x8000),
    "relayed-discover": msg([opt(53, b"\x01"), opt(55, PRL_DHCLIENT), RELAY], hops=1, giaddr="198.18.10.1"),
    "relayed-request": msg([opt(53, b"\x03"), opt(50, ip("198.18.10.7")), opt(54, ip("198.18.0.1")), RELAY],
                           hops=1, giaddr="198.18.10.1"),
    "renew-request": msg([opt(53, b"\x03"), opt(55, PRL_DHCLIENT)], ciaddr="198.18.0.23"),
    "decline": msg([opt(53, b"\x04"), opt(50, ip("198.18.0.23")), opt(54, ip("198.18.0.1"))]),
    "release": msg([opt(53, b"\x07"), opt(54, ip("198.18.0.1"))], ciaddr="198.18.0.23"),
    "inform": msg([opt(53, b"\x08"), opt(55, PRL_UDHCPC)], ciaddr="198.18.0.99"),
    "server-ack": msg([opt(53, b"\x05"), opt(54, ip("198.18.0.1")), opt(51, struct.pack("!I", 3600)),
                       opt(58, struct.pack("!I", 1800)), opt(59, struct.pack("!I", 3150)),
                       opt(1, ip("255.255.0.0")), opt(3, ip("198.18.0.1")),
                       opt(6, ip("198.18.0.53") + ip("198.18.0.54")), opt(15, b"lab.example"),
                       opt(119, b"\x03lab\x07example\x00\x03eng\xc0\x04"),
                       opt(121, b"\x10\xc6\x13" + ip("198.18.0.2") + b"\x00" + ip("198.18.0.1"))],
                      op=2, yiaddr="198.18.0.23"),
    "overload-both": msg([opt(53, b"\x01"), opt(52, b"\x03"), opt(12, b"ab")],
                         file=opt(12, b"cd") + opt(60, b"in-file") + b"\xff",
                         sname=opt(12, b"ef") + b"\0\0" + b"\xff"),
    "overload-file": msg([opt(53, b"\x03"), opt(52, b"\x01")],
                         file=opt(55, PRL_DHCLIENT) + opt(61, CID) + b"\xff", sname=b"not-options"),
    "split-long-vendor-class": msg([opt(53, b"\x01"), opt(60, bytes(range(256)) + b"tail-of-a-long-value")]),
    "split-nonadjacent-hostname": msg([opt(12, b"split-"), opt(53, b"\x01"), opt(12, b"hostname")]),
    "many-options": msg([opt(53, b"\x01")] + [opt(224 + (i % 30), bytes([i])) for i in range(80)]),
    "no-end-no-pad": (header() + COOKIE + opt(53, b"\x01") + opt(12, b"x")),
    "truncated-option": (header() + COOKIE + opt(53, b"\x01") + b"\x0c\x20abc"),
    "truncated-header": header()[:120],
    "bad-cookie": header() + bytes([99, 130, 83, 98]) + b"\x35\x01\x01\xff",
    "hlen-17": msg([opt(53, b"\x01")], hlen=17),
    "bad-overload-value": msg([opt(53, b"\x01"), opt(52, b"\x07")]),
    "msg-type-wrong-length": msg([opt(53, b"\x01\x01"), opt(51, b"\x00\x01")]),
}

os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, "seed-" + name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {OUT}")
