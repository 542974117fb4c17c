"""TCP header and options (RFC 9293 section 3.1; options of RFC 7323 and RFC 2018).

:class:`Segment` is a validated value: ports, sequence and acknowledgment numbers,
all twelve flag/reserved bits, window, urgent pointer, the options in the order
they appear on the wire, and the payload. :func:`parse_segment` turns bytes into a
``Segment`` (raising only :class:`~synack.wire.errors.MalformedPacket`);
:meth:`Segment.emit` turns it back into bytes with the checksum filled in.

Parsing keeps every option byte: unknown options are kept as raw kind and data,
and an End-of-Option-List option keeps the bytes after it, so ``emit(parse(b))``
reproduces ``b`` exactly for any valid header.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Final

from synack.wire.checksum import ones_sum
from synack.wire.errors import MalformedPacket

__all__ = [
    "ACK",
    "AE",
    "CWR",
    "ECE",
    "FIN",
    "PSH",
    "RST",
    "SYN",
    "URG",
    "EndOfOptions",
    "MaxSegmentSize",
    "NoOperation",
    "Option",
    "Sack",
    "SackPermitted",
    "Segment",
    "Timestamps",
    "UnknownOption",
    "WindowScale",
    "emit_options",
    "flag_names",
    "parse_options",
    "parse_segment",
]

# RFC 9293 3.1 "Control Bits" (with RFC 3168's CWR/ECE, and the reserved bit that
# AccECN calls AE). Flags are kept as a 12-bit int: 4 reserved bits + 8 flags.
FIN: Final = 0x001
SYN: Final = 0x002
RST: Final = 0x004
PSH: Final = 0x008
ACK: Final = 0x010
URG: Final = 0x020
ECE: Final = 0x040
CWR: Final = 0x080
AE: Final = 0x100

_FLAG_ORDER: Final = (
    (SYN, "SYN"),
    (FIN, "FIN"),
    (RST, "RST"),
    (PSH, "PSH"),
    (ACK, "ACK"),
    (URG, "URG"),
    (ECE, "ECE"),
    (CWR, "CWR"),
    (AE, "AE"),
    (0x200, "RES9"),
    (0x400, "RES10"),
    (0x800, "RES11"),
)

HEADER_LEN: Final = 20
MAX_OPTIONS_LEN: Final = 40

_HDR = struct.Struct("!HHIIBBHHH")


def flag_names(flags: int) -> list[str]:
    """The names of the bits set in ``flags``, in Wireshark's usual order."""
    return [name for bit, name in _FLAG_ORDER if flags & bit]


# --------------------------------------------------------------------- options


@dataclass(frozen=True, slots=True)
class EndOfOptions:
    """Kind 0. ``padding`` is every byte after it up to the data offset."""

    padding: bytes = b""

    def emit(self) -> bytes:
        return b"\x00" + self.padding


@dataclass(frozen=True, slots=True)
class NoOperation:
    """Kind 1, a single byte used to align the next option."""

    def emit(self) -> bytes:
        return b"\x01"


@dataclass(frozen=True, slots=True)
class MaxSegmentSize:
    """Kind 2 (RFC 9293 3.7.1): the largest segment the sender can receive."""

    mss: int

    def emit(self) -> bytes:
        return struct.pack("!BBH", 2, 4, self.mss)


@dataclass(frozen=True, slots=True)
class WindowScale:
    """Kind 3 (RFC 7323 2.2): the sender's receive-window shift count."""

    shift: int

    def emit(self) -> bytes:
        return struct.pack("!BBB", 3, 3, self.shift)


@dataclass(frozen=True, slots=True)
class SackPermitted:
    """Kind 4 (RFC 2018 2): the sender accepts SACK options."""

    def emit(self) -> bytes:
        return b"\x04\x02"


@dataclass(frozen=True, slots=True)
class Sack:
    """Kind 5 (RFC 2018 3): 1 to 4 blocks ``(left, right)`` of received data."""

    blocks: tuple[tuple[int, int], ...]

    def emit(self) -> bytes:
        out = bytearray((5, 2 + 8 * len(self.blocks)))
        for left, right in self.blocks:
            out += struct.pack("!II", left, right)
        return bytes(out)


@dataclass(frozen=True, slots=True)
class Timestamps:
    """Kind 8 (RFC 7323 3.2): TSval and TSecr."""

    tsval: int
    tsecr: int

    def emit(self) -> bytes:
        return struct.pack("!BBII", 8, 10, self.tsval, self.tsecr)


@dataclass(frozen=True, slots=True)
class UnknownOption:
    """Any other kind, kept as raw bytes and emitted back unchanged."""

    kind: int
    data: bytes

    def emit(self) -> bytes:
        return bytes((self.kind, 2 + len(self.data))) + self.data


Option = (
    EndOfOptions
    | NoOperation
    | MaxSegmentSize
    | WindowScale
    | SackPermitted
    | Sack
    | Timestamps
    | UnknownOption
)

_NOP: Final = NoOperation()
_SACK_PERMITTED: Final = SackPermitted()
_FIXED_LEN: Final = {2: 4, 3: 3, 4: 2, 8: 10}


def parse_options(data: bytes) -> tuple[Option, ...]:
    """Parse the option bytes of a TCP header (RFC 9293 3.1 "Options").

    Raises ``MalformedPacket('bad_option_length')`` for a length byte below 2,
    one that runs past the header, or one wrong for a known kind.
    """
    opts: list[Option] = []
    i = 0
    n = len(data)
    while i < n:
        kind = data[i]
        if kind == 0:
            opts.append(EndOfOptions(bytes(data[i + 1 :])))
            break
        if kind == 1:
            opts.append(_NOP)
            i += 1
            continue
        if i + 1 >= n:
            raise MalformedPacket("bad_option_length", f"option {kind} has no length byte")
        length = data[i + 1]
        if length < 2 or i + length > n:
            raise MalformedPacket("bad_option_length", f"option {kind} length {length}")
        want = _FIXED_LEN.get(kind)
        if want is not None and length != want:
            raise MalformedPacket("bad_option_length", f"option {kind} length {length}")
        body = data[i + 2 : i + length]
        if kind == 8:
            tsval, tsecr = struct.unpack("!II", body)
            opts.append(Timestamps(tsval, tsecr))
        elif kind == 2:
            opts.append(MaxSegmentSize((body[0] << 8) | body[1]))
        elif kind == 3:
            opts.append(WindowScale(body[0]))
        elif kind == 4:
            opts.append(_SACK_PERMITTED)
        elif kind == 5:
            if (length - 2) % 8 or length == 2:
                raise MalformedPacket("bad_option_length", f"SACK length {length}")
            words = struct.unpack(f"!{(length - 2) // 4}I", body)
            opts.append(Sack(tuple(zip(words[0::2], words[1::2], strict=True))))
        else:
            opts.append(UnknownOption(kind, bytes(body)))
        i += length
    return tuple(opts)


def emit_options(options: tuple[Option, ...]) -> bytes:
    """Concatenate options and pad with zero bytes to a multiple of 4."""
    if not options:
        return b""
    raw = b"".join(o.emit() for o in options)
    pad = -len(raw) % 4
    return raw + b"\x00" * pad if pad else raw


# --------------------------------------------------------------------- segment


@dataclass(slots=True)
class Segment:
    """A TCP segment as values. Sequence numbers are ints modulo 2**32.

    ``flags`` holds the 8 control bits and the 4 reserved bits (12 bits in all);
    ``options`` keep their wire order. ``checksum`` is what the segment carried
    when parsed (``None`` for a segment built locally); :meth:`emit` always
    computes a fresh one.
    """

    src_port: int
    dst_port: int
    seq: int
    ack: int = 0
    flags: int = 0
    window: int = 0
    urgent: int = 0
    options: tuple[Option, ...] = ()
    payload: bytes = b""
    checksum: int | None = field(default=None, compare=False)

    # -- flags -----------------------------------------------------------
    @property
    def syn(self) -> bool:
        return bool(self.flags & SYN)

    @property
    def fin(self) -> bool:
        return bool(self.flags & FIN)

    @property
    def rst(self) -> bool:
        return bool(self.flags & RST)

    @property
    def has_ack(self) -> bool:
        return bool(self.flags & ACK)

    @property
    def seg_len(self) -> int:
        """SEG.LEN of RFC 9293 3.4: payload octets plus one each for SYN and FIN."""
        return len(self.payload) + (self.flags & SYN) // SYN + (self.flags & FIN)

    # -- options ---------------------------------------------------------
    def option(self, kind: type[Option]) -> Option | None:
        """The first option of the given class, or ``None``."""
        for o in self.options:
            if type(o) is kind:
                return o
        return None

    @property
    def mss(self) -> int | None:
        o = self.option(MaxSegmentSize)
        return o.mss if isinstance(o, MaxSegmentSize) else None

    @property
    def wscale(self) -> int | None:
        o = self.option(WindowScale)
        return o.shift if isinstance(o, WindowScale) else None

    @property
    def sack_permitted(self) -> bool:
        return any(type(o) is SackPermitted for o in self.options)

    @property
    def sack_blocks(self) -> tuple[tuple[int, int], ...]:
        o = self.option(Sack)
        return o.blocks if isinstance(o, Sack) else ()

    @property
    def timestamps(self) -> Timestamps | None:
        for o in self.options:
            if type(o) is Timestamps:
                return o
        return None

    # -- bytes -----------------------------------------------------------
    @property
    def header_len(self) -> int:
        return HEADER_LEN + len(emit_options(self.options))

    def emit(self, pseudo_sum: int = 0) -> bytes:
        """The segment as bytes, with the checksum computed.

        ``pseudo_sum`` is the ones'-complement sum of the IP pseudo-header (see
        :func:`synack.wire.ip.pseudo_sum_v4` / ``pseudo_sum_v6``); 0 leaves the
        checksum over the TCP bytes alone, which is only useful in tests.
        """
        opts = emit_options(self.options) if self.options else b""
        hlen = HEADER_LEN + len(opts)
        if hlen > HEADER_LEN + MAX_OPTIONS_LEN:
            raise ValueError(f"options too long: {len(opts)} bytes")
        off = ((hlen >> 2) << 4) | ((self.flags >> 8) & 0x0F)
        head = _HDR.pack(
            self.src_port,
            self.dst_port,
            self.seq,
            self.ack,
            off,
            self.flags & 0xFF,
            self.window,
            0,
            self.urgent,
        )
        if opts:
            head += opts
        payload = self.payload
        # The payload starts at an even offset, so its sum adds to the header's.
        total = ones_sum(head, pseudo_sum)
        if payload:
            total = ones_sum(payload, total)
        csum = ~total & 0xFFFF
        return head[:16] + csum.to_bytes(2, "big") + head[18:] + payload


def parse_segment(data: bytes | bytearray | memoryview, pseudo_sum: int | None = None) -> Segment:
    """Parse a TCP segment; verify its checksum if ``pseudo_sum`` is given.

    ``pseudo_sum`` is the ones'-complement sum of the IP pseudo-header, whose
    length field must be ``len(data)``. Raises only :class:`MalformedPacket`:
    ``truncated``, ``bad_data_offset``, ``bad_option_length`` or ``bad_checksum``.
    """
    n = len(data)
    if n < HEADER_LEN:
        raise MalformedPacket("truncated", f"TCP header needs 20 bytes, got {n}")
    src, dst, seq, ack, off, fl, win, csum, urg = _HDR.unpack_from(data)
    hlen = (off >> 4) * 4
    if hlen < HEADER_LEN:
        raise MalformedPacket("bad_data_offset", f"data offset {off >> 4}")
    if hlen > n:
        raise MalformedPacket("bad_data_offset", f"header {hlen} > segment {n}")
    if pseudo_sum is not None and ones_sum(data, pseudo_sum) != 0xFFFF:
        raise MalformedPacket("bad_checksum", f"TCP checksum 0x{csum:04x}")
    options = parse_options(bytes(data[HEADER_LEN:hlen])) if hlen > HEADER_LEN else ()
    return Segment(
        src,
        dst,
        seq,
        ack,
        ((off & 0x0F) << 8) | fl,
        win,
        urg,
        options,
        bytes(data[hlen:]),
        csum,
    )
