"""The TCB's variables under their RFC 9293 3.3.1 names, read through to the half that owns each.

A :class:`~synack.tcp.connection.Connection` keeps SND.* in its sender
(``conn.snd``), RCV.* in its receiver (``conn.rcv``) and the options in effect in
``conn.neg``; :class:`TcbNames` gives them back as read-only attributes of the
connection (``conn.snd_una``, ``conn.rcv_nxt``, ``conn.sack_ok``, ...), which is
how users, drivers and tests read a TCB. Each is a :class:`ReadThrough`: one
C-level ``attrgetter``, typed.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, Generic, TypeVar, overload

from synack.cc.base import CongestionControl
from synack.tcp.rtt import RttEstimator

__all__ = ["ReadThrough", "TcbNames"]

T = TypeVar("T")


class ReadThrough(Generic[T]):
    """A read-only attribute whose value is at ``path`` (dotted) from the instance."""

    def __init__(self, path: str, doc: str = "") -> None:
        self.path = path
        self._get = attrgetter(path)
        self.__doc__ = doc or path

    @overload
    def __get__(self, obj: None, owner: type) -> ReadThrough[T]: ...

    @overload
    def __get__(self, obj: object, owner: type) -> T: ...

    def __get__(self, obj: object | None, owner: type) -> T | ReadThrough[T]:
        if obj is None:
            return self
        value: T = self._get(obj)
        return value

    def __set__(self, obj: object, value: Any) -> None:
        raise AttributeError(f"{self.path} is read-only here: it belongs to the component")


class TcbNames:
    """The RFC 9293 names of a TCB with halves ``snd`` and ``rcv`` and options ``neg``."""

    __slots__ = ()

    iss: ReadThrough[int] = ReadThrough("snd.iss", "ISS: our initial send sequence number")
    snd_una: ReadThrough[int] = ReadThrough("snd.snd_una", "SND.UNA: the oldest unacknowledged")
    snd_nxt: ReadThrough[int] = ReadThrough("snd.snd_nxt", "SND.NXT: the next to send")
    snd_max: ReadThrough[int] = ReadThrough("snd.snd_max", "the highest sequence number sent")
    snd_wnd: ReadThrough[int] = ReadThrough("snd.snd_wnd", "SND.WND: the peer's window, scaled")
    snd_wl1: ReadThrough[int] = ReadThrough("snd.snd_wl1", "SND.WL1: SEG.SEQ of the last update")
    snd_wl2: ReadThrough[int] = ReadThrough("snd.snd_wl2", "SND.WL2: SEG.ACK of the last update")
    max_snd_wnd: ReadThrough[int] = ReadThrough(
        "snd.max_snd_wnd", "MAX.SND.WND (RFC 5961 5.2): the largest window the peer offered"
    )
    irs: ReadThrough[int] = ReadThrough("rcv.irs", "IRS: the peer's initial sequence number")
    rcv_nxt: ReadThrough[int] = ReadThrough("rcv.rcv_nxt", "RCV.NXT: the next expected")
    rcv_wnd: ReadThrough[int] = ReadThrough("rcv.rcv_wnd", "RCV.WND: what we may still receive")
    snd_wscale: ReadThrough[int] = ReadThrough("neg.snd_wscale", "shift of the peer's window")
    rcv_wscale: ReadThrough[int] = ReadThrough("neg.rcv_wscale", "shift of our window")
    peer_mss: ReadThrough[int] = ReadThrough("neg.peer_mss", "the peer's MSS option, or 536/1220")
    sack_ok: ReadThrough[bool] = ReadThrough("neg.sack", "both SYNs carried SACK-permitted")
    timestamps_ok: ReadThrough[bool] = ReadThrough(
        "neg.timestamps", "both SYNs carried Timestamps (RFC 7323 3.2)"
    )
    peer_closed: ReadThrough[bool] = ReadThrough("rcv.peer_closed", "the peer's FIN arrived")
    mss: ReadThrough[int] = ReadThrough(
        "snd.mss", "the effective send MSS: data octets per segment (RFC 6691)"
    )
    cc: ReadThrough[CongestionControl] = ReadThrough("snd.cc", "the congestion controller")
    rtt: ReadThrough[RttEstimator] = ReadThrough("snd.rtt", "the RTT estimator (RFC 6298)")
    srtt: ReadThrough[int | None] = ReadThrough("snd.rtt.srtt", "SRTT (RFC 6298), microseconds")
    rto: ReadThrough[int] = ReadThrough("snd.rtt.rto", "the retransmission timeout, microseconds")
    cwnd: ReadThrough[int] = ReadThrough("snd.cc.cwnd", "the congestion window, octets")
    ssthresh: ReadThrough[int] = ReadThrough("snd.cc.ssthresh", "the slow-start threshold")
    in_flight: ReadThrough[int] = ReadThrough(
        "snd.in_flight", "octets sent and not acknowledged (FlightSize, RFC 5681)"
    )
    bytes_acked: ReadThrough[int] = ReadThrough(
        "snd.una_abs", "octets (and our FIN) acknowledged so far (RFC 4898 HCThruOctetsAcked)"
    )
    pipe: ReadThrough[int] = ReadThrough(
        "snd.rec.pipe", "octets believed in the network (RFC 6675 SetPipe)"
    )
    in_recovery: ReadThrough[bool] = ReadThrough(
        "snd.rec.in_recovery", "in fast recovery (RFC 6582 / RFC 6675)"
    )
    recv_available: ReadThrough[int] = ReadThrough("rcv.available", "octets recv() returns now")
    urgent_pending: ReadThrough[int] = ReadThrough(
        "rcv.urgent_pending",
        "octets of urgent data not yet read (MUST-33; urgent data comes inline, in order)",
    )
