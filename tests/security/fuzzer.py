"""Hostile packets for the fuzz test: random bytes, mutated real packets, and crafted segments.

Crafted segments aim at the live connections of a :class:`~tests.security.lab.Lab`
with what an on-path observer knows (the last SEQ/ACK/TSval seen on the wire),
so that many of them pass the acceptability tests and reach deep into the core:
exact and near-miss sequence numbers, every flag combination, absurd SACK
blocks, old and future timestamps, tiny and huge MSS values, zero windows.
"""

from __future__ import annotations

import random
import struct

from synack.wire.checksum import ones_sum
from synack.wire.tcp import (
    EndOfOptions,
    MaxSegmentSize,
    NoOperation,
    Sack,
    SackPermitted,
    Timestamps,
    UnknownOption,
    WindowScale,
)
from tests.security.lab import CLIENT_V4, CLIENT_V6, PORT, SERVER_V4, SERVER_V6, Lab

MASK = 0xFFFFFFFF

# Flag combinations, weighted towards the ones a TCP must think about.
FLAG_CHOICES = (
    [0x10] * 8  # ACK
    + [0x18] * 4  # PSH ACK
    + [0x11] * 2  # FIN ACK
    + [0x02] * 2  # SYN
    + [0x12] * 2  # SYN ACK
    + [0x04] * 2  # RST
    + [0x14] * 2  # RST ACK
    + [0x30, 0x38, 0x03, 0x06, 0x07, 0x01, 0x00, 0x3F, 0xFFF, 0x1D0, 0x29]
)
DELTAS = (0, 0, 0, 1, -1, 2, -2, 1000, -1000, 1 << 15, -(1 << 15), 1 << 31, 65535, 70_000)


def fix_checksums(pkt: bytearray) -> None:
    """Recompute the IPv4 header and TCP checksums of ``pkt`` in place, where its layout allows."""
    if len(pkt) < 20:
        return
    version = pkt[0] >> 4
    if version == 4:
        ihl = (pkt[0] & 0x0F) * 4
        if ihl < 20 or len(pkt) < ihl:
            return
        pkt[10:12] = b"\x00\x00"
        pkt[10:12] = ((~ones_sum(pkt[:ihl])) & 0xFFFF).to_bytes(2, "big")
        tcp_len = len(pkt) - ihl
        if tcp_len < 18:
            return
        pkt[ihl + 16 : ihl + 18] = b"\x00\x00"
        pseudo = int.from_bytes(pkt[12:20], "big") + pkt[9] + tcp_len
        pkt[ihl + 16 : ihl + 18] = ((~ones_sum(pkt[ihl:], pseudo)) & 0xFFFF).to_bytes(2, "big")
    elif version == 6 and len(pkt) >= 58:
        tcp_len = len(pkt) - 40
        pkt[56:58] = b"\x00\x00"
        pseudo = int.from_bytes(pkt[8:40], "big") + pkt[6] + tcp_len
        pkt[56:58] = ((~ones_sum(pkt[40:], pseudo)) & 0xFFFF).to_bytes(2, "big")


class Fuzzer:
    """Makes hostile packets for the server of ``lab``; ``templates`` are real packets to mutate."""

    def __init__(self, lab: Lab, seed: int) -> None:
        self.lab = lab
        self.rng = random.Random(seed)
        self.templates: list[bytes] = []
        self.kinds = {"random": 0, "mutated": 0, "crafted": 0}
        self.noise = self.rng.randbytes(1 << 16)

    def tap(self, packet: bytes) -> bytes:
        """A :attr:`Lab.tap` that keeps some of the real packets as material for mutation."""
        if len(self.templates) < 400:
            self.templates.append(packet)
        elif self.rng.random() < 0.05:
            self.templates[self.rng.randrange(400)] = packet
        return packet

    def packet(self) -> bytes:
        r = self.rng.random()
        if r < 0.10 or not self.templates:
            self.kinds["random"] += 1
            return self.random_bytes()
        if r < 0.40:
            self.kinds["mutated"] += 1
            return self.mutated()
        self.kinds["crafted"] += 1
        return self.crafted()

    # ------------------------------------------------------------- kinds
    def random_bytes(self) -> bytes:
        rng = self.rng
        data = bytearray(rng.randbytes(rng.randrange(0, 90)))
        if data and rng.random() < 0.7:
            data[0] = (data[0] & 0x0F) | (0x40 if rng.random() < 0.6 else 0x60)
            if rng.random() < 0.5:
                fix_checksums(data)
        return bytes(data)

    def mutated(self) -> bytes:
        rng = self.rng
        pkt = bytearray(rng.choice(self.templates))
        for _ in range(rng.randrange(1, 5)):
            how = rng.random()
            if how < 0.6 and pkt:
                pkt[rng.randrange(len(pkt))] = rng.randrange(256)
            elif how < 0.8 and pkt:
                i = rng.randrange(len(pkt))
                pkt[i] ^= 1 << rng.randrange(8)
            elif how < 0.9:
                del pkt[rng.randrange(len(pkt) + 1) :]
            else:
                pkt += rng.randbytes(rng.randrange(1, 40))
        if rng.random() < 0.75:
            fix_checksums(pkt)
        return bytes(pkt)

    def options(self, seen_tsval: int | None) -> bytes:
        """Option bytes: usually Timestamps near the peer's clock, then a few more, some absurd."""
        rng = self.rng
        out = b""
        if seen_tsval is not None and rng.random() < 0.8:
            # A live connection uses timestamps: a segment without them is dropped.
            tsval = (seen_tsval + DELTAS[int(rng.random() * len(DELTAS))]) & MASK
            out = b"\x01\x01\x08\x0a" + _U32X2.pack(tsval, rng.getrandbits(32))
        for _ in range(OPTION_COUNTS[int(rng.random() * len(OPTION_COUNTS))]):
            out += OPTION_POOL[int(rng.random() * len(OPTION_POOL))]
        return out[:40]

    def crafted(self) -> bytes:
        """A segment built field by field, aimed mostly at a live connection's 4-tuple."""
        rng = self.rng
        rnd = rng.random
        lab = self.lab
        conns = lab.server.connections()
        if conns and rnd() < 0.85:
            conn = conns[int(rnd() * len(conns))]
            dst, dport = conn.local
            src, sport = conn.remote
            # What an on-path observer knows: the server's last SEQ and ACK (its
            # SND.NXT and RCV.NXT, roughly) and the client's last TSval.
            seen = lab.seen.get((dst, dport, src, sport))
            rcv_nxt, snd_nxt = (seen.ack, seen.seq) if seen else (0, 0)
            back = lab.seen.get((src, sport, dst, dport))
            tsval = back.tsval if back else None
        else:
            v6 = rnd() < 0.3
            if rnd() < 0.5:
                src = CLIENT_V6 if v6 else CLIENT_V4
            else:
                src = rng.randbytes(16 if v6 else 4)
            dst = SERVER_V6 if v6 else SERVER_V4
            sport = rng.randrange(1, 65536)
            dport = PORT if rnd() < 0.7 else rng.randrange(1, 65536)
            rcv_nxt = snd_nxt = rng.getrandbits(32)
            tsval = None
        seq = rcv_nxt + DELTAS[int(rnd() * len(DELTAS))]
        if rnd() < 0.3:
            seq += int(rnd() * 6000) - 3000
        ack = snd_nxt + DELTAS[int(rnd() * len(DELTAS))] if rnd() < 0.9 else rng.getrandbits(32)
        flags = FLAG_CHOICES[int(rnd() * len(FLAG_CHOICES))]
        opts = self.options(tsval)
        opts += b"\x00" * (-len(opts) % 4)
        size = SIZES[int(rnd() * len(SIZES))]
        at = int(rnd() * (len(self.noise) - size))
        payload = self.noise[at : at + size]
        window = WINDOWS[int(rnd() * len(WINDOWS))] if rnd() < 0.8 else int(rnd() * 65536)
        urgent = 0 if rnd() < 0.8 else URGENTS[int(rnd() * len(URGENTS))]
        head = TCP_HEADER.pack(
            sport,
            dport,
            seq & MASK,
            ack & MASK,
            ((5 + len(opts) // 4) << 4) | (flags >> 8),
            flags & 0xFF,
            window,
            0,
            urgent,
        )
        return ip_packet(src, dst, head + opts + payload)


def ip_packet(src: bytes, dst: bytes, tcp: bytes) -> bytes:
    """IPv4 or IPv6 around ``tcp``, with the TCP checksum filled in."""
    n = len(tcp)
    pseudo = int.from_bytes(src + dst, "big") + 6 + n
    csum = (~ones_sum(tcp, pseudo)) & 0xFFFF
    tcp = tcp[:16] + csum.to_bytes(2, "big") + tcp[18:]
    if len(src) == 16:
        return _V6.pack(0x60000000, n, 6, 64, src, dst) + tcp
    total = 20 + n
    hsum = (~ones_sum(src + dst, 0x4500 + total + 0x4000 + 0x4006)) & 0xFFFF
    return _V4.pack(0x45, 0, total, 0, 0x4000, 64, 6, hsum, src, dst) + tcp


TCP_HEADER = struct.Struct("!HHIIBBHHH")
_U32X2 = struct.Struct("!II")
_V4 = struct.Struct("!BBHHHBBH4s4s")
_V6 = struct.Struct("!IHBB16s16s")
SIZES = (0, 0, 0, 1, 1, 10, 100, 536, 1000, 1400)
WINDOWS = (0, 1, 512, 65535)
URGENTS = (1, 0xFFFF)
OPTION_COUNTS = (0, 0, 0, 1, 1, 2)
OPTION_POOL = [
    o.emit()
    for o in (
        MaxSegmentSize(0),
        MaxSegmentSize(1),
        MaxSegmentSize(48),
        MaxSegmentSize(536),
        MaxSegmentSize(1460),
        MaxSegmentSize(65535),
        WindowScale(0),
        WindowScale(7),
        WindowScale(14),
        WindowScale(15),
        WindowScale(255),
        SackPermitted(),
        Sack(((0, 0xFFFFFFFF),)),
        Sack(((5, 1), (0x80000000, 0x7FFFFFFF), (1, 2), (3, 4))),
        Sack(((0x12345678, 0x12345978),)),
        Timestamps(0, 0),
        Timestamps(0xFFFFFFFF, 0xFFFFFFFF),
        UnknownOption(19, bytes(16)),
        UnknownOption(253, b"\x00"),
        UnknownOption(34, b""),
        NoOperation(),
        EndOfOptions(),
    )
] + [b"\x02\x00", b"\x05\x03\x00", b"\x08\x09" + bytes(7), b"\xfe\xff"]
