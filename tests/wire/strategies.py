"""Hypothesis strategies for valid wire values: options, segments, IP headers."""

from __future__ import annotations

from hypothesis import strategies as st

from synack.wire.ip import IPV4_DF, IPv4Header, IPv6Header
from synack.wire.tcp import (
    EndOfOptions,
    MaxSegmentSize,
    NoOperation,
    Option,
    Sack,
    SackPermitted,
    Segment,
    Timestamps,
    UnknownOption,
    WindowScale,
)

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)

KNOWN_KINDS = frozenset({0, 1, 2, 3, 4, 5, 8})
# Option kinds synack keeps as UnknownOption (everything it does not decode).
unknown_kinds = st.integers(2, 255).filter(lambda k: k not in KNOWN_KINDS)

sack_blocks = st.lists(st.tuples(u32, u32), min_size=1, max_size=4).map(tuple)

single_option: st.SearchStrategy[Option] = st.one_of(
    st.just(NoOperation()),
    u16.map(MaxSegmentSize),
    u8.map(WindowScale),
    st.just(SackPermitted()),
    sack_blocks.map(Sack),
    st.builds(Timestamps, u32, u32),
    st.builds(UnknownOption, unknown_kinds, st.binary(max_size=38)),
)


def option_len(o: Option) -> int:
    return len(o.emit())


def _fit(opts: list[Option], limit: int = 40) -> list[Option]:
    """The longest prefix of ``opts`` whose bytes fit in ``limit``."""
    out: list[Option] = []
    used = 0
    for o in opts:
        n = option_len(o)
        if used + n > limit:
            break
        out.append(o)
        used += n
    return out


@st.composite
def option_lists(draw: st.DrawFn) -> tuple[Option, ...]:
    """Any valid option list, at most 40 bytes once padded, maybe ending in EOL."""
    opts = _fit(draw(st.lists(single_option, max_size=8)))
    used = sum(option_len(o) for o in opts)
    if used < 40 and draw(st.booleans()):
        room = 40 - used - 1
        # The bytes after EOL are padding; any bytes parse back unchanged.
        opts.append(EndOfOptions(draw(st.binary(max_size=room))))
    return tuple(opts)


flags12 = st.integers(0, 0xFFF)


def segments(max_payload: int = 64) -> st.SearchStrategy[Segment]:
    return st.builds(
        Segment,
        src_port=u16,
        dst_port=u16,
        seq=u32,
        ack=u32,
        flags=flags12,
        window=u16,
        urgent=u16,
        options=option_lists(),
        payload=st.binary(max_size=max_payload),
    )


ipv4_addr = st.binary(min_size=4, max_size=4)
ipv6_addr = st.binary(min_size=16, max_size=16)
# Header flags that are not a fragment: reserved and DF, never MF.
ipv4_flags = st.sampled_from([0, IPV4_DF, 0b100, 0b100 | IPV4_DF])

ipv4_headers = st.builds(
    IPv4Header,
    src=ipv4_addr,
    dst=ipv4_addr,
    proto=u8,
    ttl=u8,
    tos=u8,
    ident=u16,
    flags=ipv4_flags,
    frag_offset=st.just(0),
    options=st.integers(0, 10).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n)),
)

IPV6_EXTENSIONS = frozenset({0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254})
ipv6_headers = st.builds(
    IPv6Header,
    src=ipv6_addr,
    dst=ipv6_addr,
    proto=u8.filter(lambda p: p not in IPV6_EXTENSIONS),
    hop_limit=u8,
    traffic_class=u8,
    flow_label=st.integers(0, (1 << 20) - 1),
)
