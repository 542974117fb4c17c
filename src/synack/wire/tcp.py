"""TCP header and options (RFC 9293 section 3.1; options of RFC 7323 and RFC 2018).

:class:`Segment` is a value: ports, sequence and acknowledgment numbers, all
twelve flag/reserved bits, window, urgent pointer, the options in the order they
appear on the wire, and the payload. :func:`parse_segment` turns bytes into a
``Segment`` (raising only :class:`~synack.wire.errors.MalformedPacket`);
:meth:`Segment.emit` turns it back into bytes with the checksum filled in.

Round-trip contract:

* ``parse -> emit`` is byte-identical for every header that parses (with its
  checksum in canonical form): unknown options are kept as raw kind and data,
  and an End-of-Option-List option keeps every byte after it as ``padding``.
* ``emit -> parse`` gives back the same segment, except that emit pads the
  options with zero bytes to a multiple of 4 (RFC 9293 3.1), which parse returns
  as an :class:`EndOfOptions` holding the padding after its own zero byte.
  :func:`pad_options` makes that padding explicit, so
  ``parse_segment(s.emit()) == replace(s, options=pad_options(s.options))``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Final, TypeVar

from synack.wire.checksum import ones_sum
from synack.wire.errors import MalformedPacket

__all__ = [
    "ACK",
    "AE",
    "CWR",
    "ECE",
    "FIN",
    "FLAGS_MASK",
    "HEADER_LEN",
    "MAX_HEADER_LEN",
    "MAX_OPTIONS_LEN",
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
    "pad_options",
    "parse_options",
    "parse_segment",
]

# RFC 9293 3.1 "Control Bits", with RFC 3168's CWR/ECE and the reserved bit that
# AccECN calls AE. ``Segment.flags`` holds 12 bits: the low 4 bits of header
# octet 12 (reserved, AE lowest) above the 8 control bits of octet 13.
FIN: Final = 0x001
SYN: Final = 0x002
RST: Final = 0x004
PSH: Final = 0x008
ACK: Final = 0x010
URG: Final = 0x020
ECE: Final = 0x040
CWR: Final = 0x080
AE: Final = 0x100
FLAGS_MASK: Final = 0xFFF

# Flag names from the lowest bit up, the order Wireshark writes them in
# ("SYN, ACK", "FIN, PSH, ACK", "SYN, ECE, CWR").
_FLAG_NAMES: Final = (
    (FIN, "FIN"),
    (SYN, "SYN"),
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
MAX_HEADER_LEN: Final = HEADER_LEN + MAX_OPTIONS_LEN

# Source port, destination port, sequence, acknowledgment, data offset and
# reserved bits, control bits, window, checksum, urgent pointer.
_HDR: Final = struct.Struct("!HHIIBBHHH")
_U16: Final = struct.Struct("!H")
_U32X2: Final = struct.Struct("!II")
# The header followed by NOP, NOP, Timestamps (kind 8, length 10, TSval, TSecr).
_HDR_TS: Final = struct.Struct("!HHIIBBHHHIII")
_NOP_NOP_TS_WORD: Final = 0x0101080A


def flag_names(flags: int) -> list[str]:
    """The names of the bits set in ``flags``, lowest bit first, as Wireshark lists them."""
    return [name for bit, name in _FLAG_NAMES if flags & bit]


# --------------------------------------------------------------------- options
# Each option class is a frozen value with ``kind`` and ``emit()``; the parser
# below is the only place that reads option bytes.


@dataclass(frozen=True, slots=True)
class EndOfOptions:
    """Kind 0, End of Option List. ``padding`` holds every byte after it.

    RFC 9293 3.1 (MUST-69): what follows EOL up to the data offset is zero
    padding; parse keeps those bytes as they came so emit reproduces them.
    """

    padding: bytes = b""

    kind = 0

    def emit(self) -> bytes:
        return b"\x00" + self.padding


@dataclass(frozen=True, slots=True)
class NoOperation:
    """Kind 1, No-Operation: one byte, used to align the next option."""

    kind = 1

    def emit(self) -> bytes:
        return b"\x01"


@dataclass(frozen=True, slots=True)
class MaxSegmentSize:
    """Kind 2 (RFC 9293 3.7.1): the largest segment the sender can receive."""

    mss: int

    kind = 2

    def emit(self) -> bytes:
        return b"\x02\x04" + _U16.pack(self.mss)


@dataclass(frozen=True, slots=True)
class WindowScale:
    """Kind 3 (RFC 7323 2.2): the sender's receive-window shift count (raw, 0-255)."""

    shift: int

    kind = 3

    def emit(self) -> bytes:
        return bytes((3, 3, self.shift))


@dataclass(frozen=True, slots=True)
class SackPermitted:
    """Kind 4 (RFC 2018 2): the sender can receive SACK options."""

    kind = 4

    def emit(self) -> bytes:
        return b"\x04\x02"


@dataclass(frozen=True, slots=True)
class Sack:
    """Kind 5 (RFC 2018 3): 1 to 4 blocks ``(left, right)`` of received data."""

    blocks: tuple[tuple[int, int], ...]

    kind = 5

    def emit(self) -> bytes:
        if not 1 <= len(self.blocks) <= 4:
            raise ValueError(f"SACK needs 1 to 4 blocks, got {len(self.blocks)}")
        edges = [edge for block in self.blocks for edge in block]
        return bytes((5, 2 + 4 * len(edges))) + struct.pack(f"!{len(edges)}I", *edges)


@dataclass(frozen=True, slots=True)
class Timestamps:
    """Kind 8 (RFC 7323 3.2): TSval and TSecr."""

    tsval: int
    tsecr: int

    kind = 8

    def emit(self) -> bytes:
        return b"\x08\x0a" + _U32X2.pack(self.tsval, self.tsecr)


@dataclass(frozen=True, slots=True)
class UnknownOption:
    """Any other kind with a length byte, kept as raw bytes and emitted back unchanged.

    The parser only makes these for kinds it does not know; a program may build
    one with a known kind to send an odd option (tests do, to send a bad MSS).
    """

    kind: int
    data: bytes = b""

    def emit(self) -> bytes:
        if not 2 <= self.kind <= 255:
            raise ValueError(f"option kind {self.kind} cannot carry data")
        if len(self.data) > MAX_OPTIONS_LEN - 2:
            raise ValueError(f"option kind {self.kind}: {len(self.data)} data bytes")
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
_O = TypeVar("_O", bound=Option)

_NOP: Final = NoOperation()
_SACK_PERMITTED: Final = SackPermitted()
_EOL: Final = EndOfOptions()
# RFC 9293 3.2, RFC 7323 2.2/3.2, RFC 2018 2: the lengths of fixed-size options.
_FIXED_LEN: Final = {2: 4, 3: 3, 4: 2, 8: 10}
# Linux and most stacks send NOP, NOP, Timestamps on every established segment.
_NOP_NOP_TS: Final = b"\x01\x01\x08\x0a"


def parse_options(data: bytes | bytearray | memoryview) -> tuple[Option, ...]:
    """Parse the option bytes of a TCP header (RFC 9293 3.1 "Options").

    Raises only ``MalformedPacket('bad_option_length')``: for a length byte
    missing or below 2, one that runs past the options (RFC 9293 MUST-7), a
    wrong length for a fixed-size kind, or a SACK length that is not 2 + 8n
    for n in 1..4.
    """
    n = len(data)
    if n == 12 and data[:4] == _NOP_NOP_TS:
        tsval, tsecr = _U32X2.unpack_from(data, 4)
        return (_NOP, _NOP, Timestamps(tsval, tsecr))
    opts: list[Option] = []
    i = 0
    while i < n:
        kind = data[i]
        if kind == 1:
            opts.append(_NOP)
            i += 1
            continue
        if kind == 0:
            opts.append(EndOfOptions(bytes(data[i + 1 :])) if i + 1 < n else _EOL)
            break
        if i + 1 >= n:
            raise MalformedPacket("bad_option_length", f"option {kind} has no length byte")
        length = data[i + 1]
        if length < 2 or i + length > n:
            raise MalformedPacket("bad_option_length", f"option {kind} length {length}")
        want = _FIXED_LEN.get(kind)
        if want is not None and length != want:
            raise MalformedPacket("bad_option_length", f"option {kind} length {length}")
        if kind == 8:
            tsval, tsecr = _U32X2.unpack_from(data, i + 2)
            opts.append(Timestamps(tsval, tsecr))
        elif kind == 2:
            opts.append(MaxSegmentSize((data[i + 2] << 8) | data[i + 3]))
        elif kind == 3:
            opts.append(WindowScale(data[i + 2]))
        elif kind == 4:
            opts.append(_SACK_PERMITTED)
        elif kind == 5:
            if (length - 2) % 8 or not 10 <= length <= 34:  # RFC 2018 3: 1 to 4 blocks
                raise MalformedPacket("bad_option_length", f"SACK length {length}")
            edges = struct.unpack_from(f"!{(length - 2) // 4}I", data, i + 2)
            opts.append(Sack(tuple(zip(edges[0::2], edges[1::2], strict=True))))
        else:
            opts.append(UnknownOption(kind, bytes(data[i + 2 : i + length])))
        i += length
    return tuple(opts)


def emit_options(options: tuple[Option, ...]) -> bytes:
    """The options' bytes, padded with zero bytes to a multiple of 4.

    Raises ``ValueError`` for an option whose values do not fit its fields, an
    :class:`EndOfOptions` that is not last, or more than 40 bytes in all.
    """
    if not options:
        return b""
    if (
        len(options) == 3
        and type(ts := options[2]) is Timestamps
        and type(options[0]) is NoOperation
        and type(options[1]) is NoOperation
    ):
        try:
            return _NOP_NOP_TS + _U32X2.pack(ts.tsval, ts.tsecr)
        except struct.error as e:
            raise ValueError(f"cannot emit options {options!r}: {e}") from None
    try:
        raw = b"".join([o.emit() for o in options])
    except (struct.error, OverflowError, ValueError) as e:
        raise ValueError(f"cannot emit options {options!r}: {e}") from None
    for o in options[:-1]:
        if type(o) is EndOfOptions:
            raise ValueError("EndOfOptions must be the last option")
    pad = -len(raw) % 4
    if pad:
        raw += b"\x00" * pad
    if len(raw) > MAX_OPTIONS_LEN:
        raise ValueError(f"options take {len(raw)} bytes, more than {MAX_OPTIONS_LEN}")
    return raw


def pad_options(options: tuple[Option, ...]) -> tuple[Option, ...]:
    """The options as :func:`parse_options` returns them after :func:`emit_options`.

    Emit pads to a multiple of 4 bytes with zeros. A zero byte is an End of
    Option List, so the padding reads back as ``EndOfOptions`` (holding the
    remaining zeros), or extends the ``padding`` of a final ``EndOfOptions``.
    """
    pad = -sum(_option_len(o) for o in options) % 4
    if not pad:
        return options
    if options and type(last := options[-1]) is EndOfOptions:
        return (*options[:-1], EndOfOptions(last.padding + b"\x00" * pad))
    return (*options, EndOfOptions(b"\x00" * (pad - 1)))


def _option_len(o: Option) -> int:
    if type(o) is NoOperation:
        return 1
    if type(o) is EndOfOptions:
        return 1 + len(o.padding)
    return len(o.emit())


# --------------------------------------------------------------------- segment


@dataclass(slots=True)
class Segment:
    """A TCP segment as values. Sequence numbers are ints modulo 2**32.

    ``flags`` holds the 8 control bits and the 4 reserved bits above them (12
    bits in all, see :data:`FLAGS_MASK`); ``options`` keep their wire order.
    ``checksum`` is what the segment carried when parsed (``None`` for a segment
    built locally) and takes no part in equality; :meth:`emit` always computes a
    fresh one.
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
    def psh(self) -> bool:
        return bool(self.flags & PSH)

    @property
    def urg(self) -> bool:
        return bool(self.flags & URG)

    @property
    def has_ack(self) -> bool:
        """The ACK bit is set (``ack`` is the acknowledgment field itself)."""
        return bool(self.flags & ACK)

    @property
    def seg_len(self) -> int:
        """SEG.LEN of RFC 9293 3.4: payload octets plus one each for SYN and FIN."""
        return len(self.payload) + (self.flags & SYN) // SYN + (self.flags & FIN)

    # -- options ---------------------------------------------------------
    def option(self, kind: type[_O]) -> _O | None:
        """The first option of the given class, or ``None``."""
        for o in self.options:
            if isinstance(o, kind):
                return o
        return None

    @property
    def mss(self) -> int | None:
        o = self.option(MaxSegmentSize)
        return None if o is None else o.mss

    @property
    def wscale(self) -> int | None:
        o = self.option(WindowScale)
        return None if o is None else o.shift

    @property
    def sack_permitted(self) -> bool:
        return self.option(SackPermitted) is not None

    @property
    def sack_blocks(self) -> tuple[tuple[int, int], ...]:
        for o in self.options:  # on every ACK: type() is quicker than option()'s isinstance
            if type(o) is Sack:
                return o.blocks
        return ()

    @property
    def timestamps(self) -> Timestamps | None:
        opts = self.options
        # Fast path: the NOP, NOP, Timestamps layout every stack sends on data
        # (tests/wire/test_tcp.py checks it against the loop below with Hypothesis).
        if (
            len(opts) == 3
            and type(ts := opts[2]) is Timestamps
            and type(opts[0]) is type(opts[1]) is NoOperation
        ):
            return ts
        for o in opts:
            if type(o) is Timestamps:
                return o
        return None

    # -- bytes -----------------------------------------------------------
    @property
    def header_len(self) -> int:
        """Header length in bytes on the wire, options and padding included."""
        return HEADER_LEN + len(emit_options(self.options)) if self.options else HEADER_LEN

    def emit(self, pseudo_sum: int = 0, *, add_length: bool = False) -> bytes:
        """The segment as bytes, with the checksum computed (RFC 9293 3.1, MUST-2).

        ``pseudo_sum`` is the ones'-complement sum of the IP pseudo-header, from
        :func:`synack.wire.ip.pseudo_sum`; 0 sums the TCP bytes alone. With
        ``add_length`` the segment's own length is added to it, so the caller
        may compute the pseudo-header sum with a length of 0 before knowing the
        header size. Raises ``ValueError`` when a field does not fit.
        """
        flags = self.flags
        if flags & ~FLAGS_MASK:
            raise ValueError(f"flags 0x{flags:x} do not fit in 12 bits")
        options = self.options
        payload = self.payload
        if (
            len(options) == 3
            and type(ts := options[2]) is Timestamps
            and type(options[0]) is NoOperation
            and type(options[1]) is NoOperation
        ):
            # NOP, NOP, Timestamps: what every established segment carries. The
            # options are packed with the header in one call and summed from
            # their values (a 32-bit value adds like its two 16-bit words).
            off = (32 << 2) | (flags >> 8)
            tsval, tsecr = ts.tsval, ts.tsecr
            total = (
                pseudo_sum
                + self.src_port
                + self.dst_port
                + self.seq
                + self.ack
                + (off << 8)
                + (flags & 0xFF)
                + self.window
                + self.urgent
                + 0x0101
                + 0x080A
                + tsval
                + tsecr
            )
            if add_length:
                total += 32 + len(payload)
            try:
                csum = ~ones_sum(payload, total) & 0xFFFF
                head = _HDR_TS.pack(
                    self.src_port,
                    self.dst_port,
                    self.seq,
                    self.ack,
                    off,
                    flags & 0xFF,
                    self.window,
                    csum,
                    self.urgent,
                    _NOP_NOP_TS_WORD,
                    tsval,
                    tsecr,
                )
            except struct.error as e:
                raise ValueError(f"cannot emit {self!r}: {e}") from None
            return head + payload
        if options:
            opts = emit_options(options)
            hlen = HEADER_LEN + len(opts)
        else:
            opts = b""
            hlen = HEADER_LEN
        off = (hlen << 2) | (flags >> 8)
        # 2**16 = 1 (mod 0xFFFF), so the header's words sum like its fields: no
        # need to pack it twice, once with a zero checksum and once without.
        total = (
            pseudo_sum
            + self.src_port
            + self.dst_port
            + self.seq
            + self.ack
            + (off << 8)
            + (flags & 0xFF)
            + self.window
            + self.urgent
        )
        if add_length:
            total += hlen + len(payload)
        if opts:
            # Options are whole 32-bit words, so they add in as one integer
            # (ones_sum takes any non-negative start): no second ones_sum call.
            total += int.from_bytes(opts, "big")
        csum = ~ones_sum(payload, total) & 0xFFFF
        try:
            head = _HDR.pack(
                self.src_port,
                self.dst_port,
                self.seq,
                self.ack,
                off,
                flags & 0xFF,
                self.window,
                csum,
                self.urgent,
            )
        except struct.error as e:
            raise ValueError(f"cannot emit {self!r}: {e}") from None
        return head + opts + payload if opts else head + payload

    def emit_partial(self, pseudo_sum: int = 0, *, add_length: bool = False) -> bytes:
        """The segment as bytes with a partial checksum, for a link that completes it.

        The checksum field holds the folded sum of the pseudo-header only (with
        ``add_length``, as for :meth:`emit`, the segment's length added), not its
        complement: Linux's CHECKSUM_PARTIAL, which a device doing checksum or
        segmentation offload completes (``VIRTIO_NET_HDR_F_NEEDS_CSUM``). The
        payload is never summed here. Raises ``ValueError`` when a field does not fit.
        """
        flags = self.flags
        if flags & ~FLAGS_MASK:
            raise ValueError(f"flags 0x{flags:x} do not fit in 12 bits")
        opts = emit_options(self.options) if self.options else b""
        hlen = HEADER_LEN + len(opts)
        payload = self.payload
        total = pseudo_sum + (hlen + len(payload) if add_length else 0)
        try:
            head = _HDR.pack(
                self.src_port,
                self.dst_port,
                self.seq,
                self.ack,
                (hlen << 2) | (flags >> 8),
                flags & 0xFF,
                self.window,
                ones_sum(b"", total),
                self.urgent,
            )
        except struct.error as e:
            raise ValueError(f"cannot emit {self!r}: {e}") from None
        return head + opts + payload


def parse_segment(data: bytes | bytearray | memoryview, pseudo_sum: int | None = None) -> Segment:
    """Parse a TCP segment; verify its checksum if ``pseudo_sum`` is given.

    ``pseudo_sum`` is the ones'-complement sum of the IP pseudo-header, whose
    length field must be ``len(data)``. Raises only :class:`MalformedPacket`,
    with reason ``truncated``, ``bad_data_offset``, ``bad_checksum`` (RFC 9293
    3.1, MUST-3) or ``bad_option_length``.
    """
    n = len(data)
    if n < HEADER_LEN:
        raise MalformedPacket("truncated", f"TCP header needs 20 bytes, got {n}")
    src, dst, seq, ack, off, fl, win, csum, urg = _HDR.unpack_from(data)
    hlen = (off >> 4) << 2
    if hlen < HEADER_LEN:
        raise MalformedPacket("bad_data_offset", f"data offset {off >> 4}")
    if hlen > n:
        raise MalformedPacket("bad_data_offset", f"header {hlen} bytes > segment {n} bytes")
    if pseudo_sum is not None and ones_sum(data, pseudo_sum) != 0xFFFF:
        raise MalformedPacket("bad_checksum", f"TCP checksum 0x{csum:04x}")
    if hlen == HEADER_LEN:
        opts: tuple[Option, ...] = ()
    elif hlen == 32 and data[20:24] == _NOP_NOP_TS:
        # parse_options' fast path, inline: the layout of nearly every segment.
        opts = (_NOP, _NOP, Timestamps(*_U32X2.unpack_from(data, 24)))
    else:
        opts = parse_options(data[HEADER_LEN:hlen])
    return Segment(
        src,
        dst,
        seq,
        ack,
        ((off & 0x0F) << 8) | fl,
        win,
        urg,
        opts,
        bytes(data[hlen:]),
        csum,
    )
