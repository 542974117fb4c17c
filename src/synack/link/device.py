"""Linux TUN/TAP character devices (``/dev/net/tun``), with optional virtio-net offloads.

:class:`TunTapDevice` opens ``/dev/net/tun`` and binds it with ``TUNSETIFF`` to a
named device, attaching to an existing one (``ip tuntap add NAME mode tap``) or
creating it. The fd is non-blocking, for ``loop.add_reader``.

With ``offloads=True`` the device is opened with ``IFF_VNET_HDR`` and
``TUNSETOFFLOAD`` (checksum, TSO4, TSO6): each packet then starts with a 10-byte
``struct virtio_net_hdr``. The kernel may hand synack TCP super-segments of up to
64 KB with only a partial checksum (``VIRTIO_NET_HDR_F_NEEDS_CSUM``), which
:meth:`TunTapDevice.read` completes, and accepts super-segments from synack
(``gso_type`` TCPV4/TCPV6) that it cuts into MSS-sized segments itself.
With ``offloads=False`` every packet is at most one MTU and fully checksummed.

The offloads are a property of the device, not of the fd: a persistent TAP keeps
what the last process set. So opening always sets them (``TUNSETOFFLOAD``) to
exactly what this process handles, off included; otherwise a device left with
checksum offload by an earlier run would hand this one packets with partial
checksums that it cannot read.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
from dataclasses import dataclass
from typing import Final, Literal

from synack.link.netns import in_netns
from synack.wire.checksum import ones_sum
from synack.wire.errors import MalformedPacket
from synack.wire.ip import PROTO_TCP, peek_ip

__all__ = [
    "DEFAULT_OFFLOADS",
    "IFF_NO_PI",
    "IFF_TAP",
    "IFF_TUN",
    "IFF_VNET_HDR",
    "TunTapDevice",
    "VnetHeader",
    "complete_checksum",
    "tx_vnet_header",
]

# <linux/if_tun.h>: ioctls are _IOW('T', nr, int) / _IOR('T', nr, unsigned int).
TUNSETIFF: Final = 0x400454CA
TUNSETPERSIST: Final = 0x400454CB
TUNGETFEATURES: Final = 0x800454CF
TUNSETOFFLOAD: Final = 0x400454D0
TUNSETVNETHDRSZ: Final = 0x400454D8

IFF_TUN: Final = 0x0001
IFF_TAP: Final = 0x0002
IFF_NO_PI: Final = 0x1000
IFF_VNET_HDR: Final = 0x4000

TUN_F_CSUM: Final = 0x01
TUN_F_TSO4: Final = 0x02
TUN_F_TSO6: Final = 0x04

DEFAULT_OFFLOADS: Final = True
"""Whether synack opens TAP/TUN devices with virtio-net offloads unless told otherwise.

One default for the CLI (``--no-offload`` turns it off) and the APIs
(``open_tap_runtime(offloads=...)``, ``Stack.tap(..., offloads=...)``): offloads
on, where the device supports them."""

# <linux/virtio_net.h>: struct virtio_net_hdr (native byte order for TUN/TAP).
VIRTIO_NET_HDR_F_NEEDS_CSUM: Final = 1
VIRTIO_NET_HDR_F_DATA_VALID: Final = 2
VIRTIO_NET_HDR_GSO_NONE: Final = 0
VIRTIO_NET_HDR_GSO_TCPV4: Final = 1
VIRTIO_NET_HDR_GSO_TCPV6: Final = 4
_VNET: Final = struct.Struct("=BBHHHH")
VNET_HDR_LEN: Final = _VNET.size  # 10
_VNET_NONE: Final = bytes(VNET_HDR_LEN)

# Largest packet a TUN/TAP read returns: a 64 KB IP packet + Ethernet + vnet header.
_READ_SIZE: Final = 65536 + 14 + VNET_HDR_LEN + 64


@dataclass(frozen=True, slots=True)
class VnetHeader:
    """The fields of ``struct virtio_net_hdr``."""

    flags: int = 0
    gso_type: int = VIRTIO_NET_HDR_GSO_NONE
    hdr_len: int = 0
    gso_size: int = 0
    csum_start: int = 0
    csum_offset: int = 0

    def emit(self) -> bytes:
        return _VNET.pack(
            self.flags,
            self.gso_type,
            self.hdr_len,
            self.gso_size,
            self.csum_start,
            self.csum_offset,
        )

    @classmethod
    def parse(cls, data: bytes | memoryview) -> VnetHeader:
        return cls(*_VNET.unpack_from(data))


def complete_checksum(packet: bytearray, csum_start: int, csum_offset: int) -> None:
    """Finish a partial checksum in place (what a NIC does for CHECKSUM_PARTIAL).

    The kernel leaves the pseudo-header sum in the checksum field; the ones'
    complement of the sum from ``csum_start`` to the end is the final value.
    """
    field = csum_start + csum_offset
    if field + 2 > len(packet) or csum_start >= len(packet):
        return
    total = ones_sum(memoryview(packet)[csum_start:])
    packet[field : field + 2] = (~total & 0xFFFF).to_bytes(2, "big")


def tx_vnet_header(link_len: int, packet: bytes, mtu: int, tso: bool, gso_size: int = 0) -> bytes:
    """The virtio-net header for sending ``packet`` (an IP packet after ``link_len`` bytes of link header).

    With ``gso_size`` (a super-segment from :func:`synack.link.gso.coalesce`, whose
    checksum field holds the pseudo-header sum) the kernel cuts it into segments
    of that many payload octets and checksums each (``NEEDS_CSUM``). Otherwise a
    TCP packet longer than ``mtu`` is cut into ``mtu``-sized segments; its
    complete checksum is accepted by the kernel's GSO code, which recomputes one
    per segment. Anything else goes as is.
    """
    if not tso or (not gso_size and len(packet) <= mtu):
        return _VNET_NONE
    try:
        version, proto, _, _, ip_len, _ = peek_ip(packet)
    except MalformedPacket:
        return _VNET_NONE
    if proto != PROTO_TCP:
        return _VNET_NONE
    gso_type = VIRTIO_NET_HDR_GSO_TCPV4 if version == 4 else VIRTIO_NET_HDR_GSO_TCPV6
    if len(packet) < ip_len + 20:
        return _VNET_NONE
    tcp_len = (packet[ip_len + 12] >> 4) * 4
    headers = ip_len + tcp_len
    if gso_size:
        return _VNET.pack(
            VIRTIO_NET_HDR_F_NEEDS_CSUM,
            gso_type,
            link_len + headers,
            gso_size,
            link_len + ip_len,
            16,
        )
    return _VNET.pack(0, gso_type, link_len + headers, mtu - headers, 0, 0)


class TunTapDevice:
    """An open TUN or TAP device: a non-blocking fd carrying one packet per read/write.

    ``name`` is the interface name (at most 15 characters). If a device of that
    name exists (and is of the same kind) the fd attaches to it; otherwise the
    kernel creates it, and it disappears when the fd closes unless ``persist``.
    ``tso=False`` keeps checksum offload but asks for MTU-sized packets both ways.
    ``netns`` opens the device inside that named network namespace (see
    :func:`synack.link.netns.in_netns`); the fd keeps working from any namespace.
    """

    def __init__(
        self,
        name: str,
        *,
        kind: Literal["tap", "tun"] = "tap",
        offloads: bool = DEFAULT_OFFLOADS,
        tso: bool = True,
        mtu: int = 1500,
        netns: str | None = None,
        persist: bool = False,
    ) -> None:
        if not name or len(name.encode()) > 15:
            raise ValueError(f"interface names have 1 to 15 bytes: {name!r}")
        self.kind = kind
        self.mtu = mtu
        self.link_len = 14 if kind == "tap" else 0
        flags = (IFF_TAP if kind == "tap" else IFF_TUN) | IFF_NO_PI
        if offloads:
            flags |= IFF_VNET_HDR
        with in_netns(netns):
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            ifr = struct.pack("16sH22x", name.encode(), flags)
            try:
                out = fcntl.ioctl(fd, TUNSETIFF, ifr)
            except OSError as exc:
                if exc.errno == errno.EINVAL:
                    raise OSError(
                        exc.errno,
                        f"cannot attach to {name!r} as a {kind.upper()} device (is it of another kind?)",
                    ) from exc
                raise
            self.name = out[:16].rstrip(b"\x00").decode()
            self.offload_flags = 0
            if offloads:
                fcntl.ioctl(fd, TUNSETVNETHDRSZ, struct.pack("i", VNET_HDR_LEN))
                self.offload_flags = self._set_offloads(fd, tso)
            else:
                # Without a vnet header this fd cannot be told that a checksum is
                # partial: turn off whatever offloads an earlier user left on.
                fcntl.ioctl(fd, TUNSETOFFLOAD, 0)
            if persist:
                fcntl.ioctl(fd, TUNSETPERSIST, 1)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        self.vnet_hdr = offloads
        self.tso = bool(self.offload_flags & (TUN_F_TSO4 | TUN_F_TSO6))
        self.closed = False
        self.counters = {
            "rx_packets": 0,
            "rx_bytes": 0,
            "tx_packets": 0,
            "tx_bytes": 0,
            "rx_gso": 0,
            "tx_gso": 0,
        }

    @staticmethod
    def _set_offloads(fd: int, tso: bool) -> int:
        choices = (
            (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6, TUN_F_CSUM | TUN_F_TSO4, TUN_F_CSUM, 0)
            if tso
            else (TUN_F_CSUM, 0)
        )
        for flags in choices:
            try:
                fcntl.ioctl(fd, TUNSETOFFLOAD, flags)
            except OSError:
                continue
            return flags
        return 0

    def fileno(self) -> int:
        return self.fd

    def read(self) -> bytes | None:
        """One packet (frame for TAP, IP packet for TUN), or None if none is waiting.

        With offloads, partial checksums are completed here, so the caller always
        sees packets whose checksums verify (see :meth:`read_trusted` to skip that).
        """
        got = self._read()
        if got is None:
            return None
        data, flags, csum_start, csum_offset = got
        if flags & VIRTIO_NET_HDR_F_NEEDS_CSUM:
            packet = bytearray(memoryview(data)[VNET_HDR_LEN:])
            complete_checksum(packet, csum_start, csum_offset)
            return bytes(packet)
        return data[VNET_HDR_LEN:] if self.vnet_hdr else data

    def read_trusted(self) -> tuple[bytes, bool] | None:
        """Like :meth:`read`, without completing partial checksums: ``(packet, checksum_trusted)``.

        ``checksum_trusted`` is True when the kernel says the transport checksum
        needs no check: it left it partial (``NEEDS_CSUM``: the packet never
        left this host's memory) or verified it (``DATA_VALID``). This is
        CHECKSUM_UNNECESSARY in a NIC driver, and saves a pass over every byte.
        """
        got = self._read()
        if got is None:
            return None
        data, flags, _start, _offset = got
        if not self.vnet_hdr:
            return data, False
        trusted = bool(flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
        return data[VNET_HDR_LEN:], trusted

    def _read(self) -> tuple[bytes, int, int, int] | None:
        try:
            data = os.read(self.fd, _READ_SIZE)
        except BlockingIOError:
            return None
        counters = self.counters
        counters["rx_packets"] += 1
        if not self.vnet_hdr:
            counters["rx_bytes"] += len(data)
            return data, 0, 0, 0
        if len(data) < VNET_HDR_LEN:
            return bytes(VNET_HDR_LEN), 0, 0, 0
        flags, gso_type, _hdr_len, _gso_size, csum_start, csum_offset = _VNET.unpack_from(data)
        counters["rx_bytes"] += len(data) - VNET_HDR_LEN
        if gso_type != VIRTIO_NET_HDR_GSO_NONE:
            counters["rx_gso"] += 1
        return data, flags, csum_start, csum_offset

    def write(self, header: bytes, packet: bytes, gso_size: int = 0) -> None:
        """Send one packet: ``header`` is the link header (b"" for TUN), ``packet`` the rest.

        ``gso_size`` marks a super-segment (see :func:`tx_vnet_header`); it needs
        TSO, so only pass it when :attr:`tso` is true. A full queue or an interface
        that is down drops the packet (as a NIC would, counted in ``tx_dropped`` /
        ``tx_link_down``); other errors raise OSError.
        """
        try:
            if self.vnet_hdr:
                vnet = tx_vnet_header(len(header), packet, self.mtu, self.tso, gso_size)
                if vnet is not _VNET_NONE:
                    self.counters["tx_gso"] += 1
                os.writev(self.fd, (vnet, header, packet))
            elif header:
                os.writev(self.fd, (header, packet))
            else:
                os.write(self.fd, packet)
        except BlockingIOError:
            self.counters["tx_dropped"] = self.counters.get("tx_dropped", 0) + 1
            return
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            # The interface is down (nobody has run `ip link set NAME up` yet): the
            # packet is lost, as on a NIC without carrier.
            self.counters["tx_link_down"] = self.counters.get("tx_link_down", 0) + 1
            return
        self.counters["tx_packets"] += 1
        self.counters["tx_bytes"] += len(header) + len(packet)

    def close(self) -> None:
        """Close the fd (a non-persistent device the fd created disappears)."""
        if not self.closed:
            self.closed = True
            os.close(self.fd)

    def __enter__(self) -> TunTapDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} fd={self.fd} offloads={self.offload_flags:#x}>"
