"""Every tunable of a connection, in one frozen dataclass with the RFC's defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Config"]


@dataclass(frozen=True, slots=True)
class Config:
    """Connection settings. Times are integer microseconds; sizes are octets.

    Defaults follow the RFCs (cited per field) or, where the RFCs leave a choice,
    what Linux does.
    """

    mss: int = 1460
    """Our IPv4 MSS, advertised in SYNs (RFC 9293 3.7.1): the link MTU minus 40.

    On IPv6 the advertised MSS is 20 octets less (MTU minus 60, MUST-67)."""
    send_buffer: int = 256 * 1024
    """Send-buffer size: ``send()`` accepts at most this much unacknowledged data."""
    recv_buffer: int = 256 * 1024
    """Receive-buffer size: the most data held for the user, in order or not."""
    initial_rto: int = 1_000_000
    """RFC 6298 (2.1): "sets RTO <- 1 second"."""
    min_rto: int = 200_000
    """Floor of the RTO: 200 ms, Linux's TCP_RTO_MIN, not RFC 6298's 1 s (a deliberate deviation).

    RFC 6298 (2.4): "Whenever RTO is computed, if it is less than 1 second, then
    the RTO SHOULD be rounded up to 1 second", adding that research "may show
    that a smaller minimum RTO is acceptable or superior". Every widely deployed
    stack uses less (Linux and gVisor 200 ms, Windows 300 ms, FreeBSD 30 ms):
    with 1 s, each timeout on a lossy short path stalls the transfer for 1 s,
    and synack took more than twice the kernel's time on the issue-16 impaired
    path (BENCHMARKS.md). Spurious timeouts that a lower floor can cause are
    detected with timestamps and undone (Eifel, RFC 3522/4015), and synack's
    delayed-ACK timer is 40 ms. ``min_rto=1_000_000`` restores RFC 6298's floor."""
    max_rto: int = 60_000_000
    """RFC 6298 (2.5): "A maximum value MAY be placed on RTO provided it is at least 60 seconds"."""
    syn_retries: int = 7
    """SYN (and SYN-ACK) retransmissions before giving up.

    RFC 9293 3.8.3 (MUST-23): R2 for a SYN must cover at least 3 minutes. With
    RTO 1 s doubling to the 60 s cap the retries go at 1, 3, 7, 15, 31, 63 and
    123 s, and the connection gives up at 183 s."""
    synack_retries: int = 5
    """SYN-ACK retransmissions of a passive open before the half-open connection is dropped.

    Linux's tcp_synack_retries: five retries at 1, 3, 7, 15 and 31 s, given up
    at 63 s. Shorter than ``syn_retries``: each half-open connection holds a
    listener slot, which a flood of spoofed SYNs would otherwise hold for 3 minutes."""
    syn_cookies: Literal["auto", "always", "never"] = "auto"
    """SYN cookies (RFC 4987 3.6) on a listener with this configuration.

    ``auto`` (Linux's tcp_syncookies=1): a SYN that finds the listener's SYN
    queue (or the endpoint's limit of half-open connections) full is answered
    with a cookie instead of being dropped; ``always``: every SYN is (no
    half-open state at all); ``never``: SYNs beyond the queue are dropped."""
    data_retries_r1: int = 3
    """RFC 9293 3.8.3 R1: retransmissions after which the IP layer is told (SHLD-10)."""
    data_retries_r2: int = 15
    """RFC 9293 3.8.3 R2: retransmissions of one segment before the connection is closed."""
    msl: int = 30_000_000
    """Maximum segment lifetime; TIME-WAIT lasts 2*MSL (60 s here, as Linux's)."""
    fin_wait_2_timeout: int | None = 60_000_000
    """How long an abandoned connection waits in FIN-WAIT-2 for the peer's FIN; None: for ever.

    Only once the user has gone (``Connection.close(now, abandon=True)``: the
    socket is closed, nothing will read what the peer still sends). After a
    half-close (``close(now)``, shutdown(SHUT_WR)) the connection waits as long
    as the peer keeps its half open, as RFC 9293 3.6 allows. Linux's
    net.ipv4.tcp_fin_timeout (60 s) and per-socket TCP_LINGER2 bound orphaned
    sockets the same way: a peer that acknowledges our FIN and never sends its
    own would otherwise hold the TCB for ever. When it expires the connection
    is deleted silently (Linux drops its FIN-WAIT-2 "timewait" socket without a
    segment); a later segment from the peer draws a RST. 0 deletes the
    connection as soon as it is abandoned in FIN-WAIT-2 (TCP_LINGER2 = -1)."""
    orphan_retries: int = 8
    """Timeouts an abandoned connection survives before it is deleted (Linux's tcp_orphan_retries).

    Once the user has gone (``Connection.close(now, abandon=True)``: a socket
    closed with data or a FIN still unacknowledged), nobody is left to give up
    on the peer, so the stack does: after this many retransmission timeouts in
    a row (instead of R2), or this many zero-window probes without the window
    opening, answered or not. RFC 9293 3.8.6.1 (MUST-37) keeps a connection
    open while the peer answers window probes, "subject to the implementation's
    resource management concerns, as noted in [RFC 6429]": a peer that reads a
    response and then holds its window at zero (Sockstress) would otherwise
    keep every such connection, and the data it holds, for ever. Linux's
    default of 0 means 8; with the RTO at 200 ms the eighth probe goes out
    after about 51 s. At most 16 (the probes' backoff ceiling)."""
    keepalive: bool = False
    """RFC 9293 3.8.4 (MUST-24): keep-alives are off unless the application asks."""
    keepalive_idle: int = 7_200_000_000
    """RFC 9293 3.8.4 (MUST-26): default no less than two hours."""
    keepalive_interval: int = 75_000_000
    keepalive_probes: int = 9
    """Unanswered probes before the connection is dropped; at least 2 (MUST-29)."""
    user_timeout: int | None = None
    """RFC 9293 3.8.3 USER TIMEOUT: close if data stays unacknowledged this long."""
    congestion_control: str = "newreno"
    """Name in the :mod:`synack.cc` registry."""
    initial_window: int | None = None
    """Initial cwnd in segments; ``None`` is RFC 6928's min(10*MSS, max(2*MSS, 14600))."""
    delayed_ack: int = 40_000
    """Delayed-ACK timeout (RFC 9293 3.8.6.3: under 0.5 s; RFC 5681 4.2); 0 disables."""
    nodelay: bool = False
    """Disable Nagle's algorithm (RFC 9293 3.7.4, SHLD-7)."""
    window_scaling: bool = True
    """Offer the Window Scale option (RFC 7323 2)."""
    timestamps: bool = True
    """Offer the Timestamps option (RFC 7323 3): RTTM and PAWS once both sides agree."""
    sack: bool = True
    """Offer SACK-permitted (RFC 2018 2); with it, SACK blocks and RFC 6675 recovery."""
    dsack: bool = True
    """Report duplicate segments with D-SACK blocks (RFC 2883) when SACK is in use."""
    rack: bool = True
    """RACK-TLP loss detection (RFC 8985) with SACK; off: RFC 6675 DupThresh and IsLost."""
    prr: bool = True
    """Proportional Rate Reduction (RFC 6937) shapes the window during SACK recovery."""
    limited_transmit: bool = True
    """Limited Transmit (RFC 3042): new data on the first two duplicate ACKs."""
    pacing: bool = True
    """Pace data at the congestion controller's rate, when it gives one (BBR does)."""
    rfc5961: bool = True
    """RFC 5961's defences against blind in-window attacks (on by default).

    On: a RST or SYN must carry exactly RCV.NXT, anything else in the window only
    draws a challenge ACK (3.2, 4.2); an ACK below SND.UNA - MAX.SND.WND is
    dropped with a challenge ACK (5.2). Off: RFC 793's rules, for the attack lab
    (``synack attack blind-reset``): any in-window RST or SYN resets the connection
    and any ACK at or below SND.NXT is taken."""
    challenge_ack_limit: int = 10
    """RFC 5961 7: at most this many challenge ACKs per second per connection."""
    challenge_ack_per_host: bool = False
    """Share one challenge-ACK budget among all the endpoint's connections with this set.

    Off (the default): each connection has its own. On: the host-wide limit of
    Linux 3.6 to 4.6, whose shared counter an off-path attacker can read
    (CVE-2016-5696): for the attack lab (``synack attack side-channel``)."""
    ttl: int = 64
    """IP time to live / hop limit of our packets (RFC 9293 3.9.1.2 MUST-49)."""
    tos: int = 0
    """IPv4 TOS octet / IPv6 traffic class (Diffserv, RFC 9293 3.9.1.3 MUST-48)."""
    ecn: bool = False
    """Explicit Congestion Notification (RFC 3168): ask for it in our SYNs and agree to
    a peer's request; once both agree, data goes out ECT(0), a CE mark is echoed
    with ECE until CWR, and the sender answers ECE as it answers a loss, once per
    window. Off by default, as for Linux's outgoing connections."""
    ecn_fallback: bool = True
    """With ``ecn``: a SYN sent again after a timeout is a non-ECN-setup SYN (ECE and
    CWR clear), so a path that drops ECN-setup SYNs still connects (RFC 3168
    6.1.1.1 "MAY resend the SYN and any subsequent SYN retransmissions with CWR
    and ECE cleared"). On by default, as Linux's ``net.ipv4.tcp_ecn_fallback``;
    off: every retransmitted SYN asks for ECN again."""
    fixed_iss: int | None = None
    """For illustration and tests only: use this ISS instead of RFC 6528's."""

    def __post_init__(self) -> None:
        if self.syn_cookies not in ("auto", "always", "never"):
            raise ValueError(f"syn_cookies must be auto, always or never, not {self.syn_cookies!r}")
        if self.synack_retries < 0 or self.syn_retries < 0:
            raise ValueError("syn_retries and synack_retries must be >= 0")
        if not 88 <= self.mss <= 65495:
            raise ValueError(f"mss {self.mss} out of range 88..65495")
        if self.send_buffer < 1 or self.recv_buffer < 1:
            raise ValueError("buffer sizes must be positive")
        if self.fin_wait_2_timeout is not None and self.fin_wait_2_timeout < 0:
            raise ValueError("fin_wait_2_timeout must be >= 0 microseconds, or None")
        if not 1 <= self.orphan_retries <= 16:
            # 16: the zero-window probe backoff's ceiling (sendpath.MAX_PERSIST_BACKOFF).
            raise ValueError(f"orphan_retries must be 1..16, not {self.orphan_retries}")
        if not 0 < self.min_rto <= self.max_rto:
            raise ValueError("need 0 < min_rto <= max_rto")
        if not 0 <= self.delayed_ack < 500_000:
            raise ValueError("delayed_ack must be under 0.5 s (RFC 9293 3.8.6.3 MUST-40)")
        if self.keepalive and self.keepalive_probes < 2:
            # MUST-29: "MUST NOT interpret failure to respond to any specific probe
            # as a dead connection".
            raise ValueError("keepalive_probes must be at least 2 (RFC 9293 3.8.4 MUST-29)")
        if not 1 <= self.ttl <= 255 or not 0 <= self.tos <= 255:
            raise ValueError("ttl must be 1..255 and tos 0..255")
        if self.ecn and self.tos & 0b11:
            # RFC 3168 5: the low two bits of the TOS octet are the ECN field.
            raise ValueError("with ecn, the low two bits of tos (the ECN field) must be 0")
        if self.fixed_iss is not None and not 0 <= self.fixed_iss < 1 << 32:
            raise ValueError("fixed_iss must be a 32-bit unsigned integer")

    @property
    def recv_wscale(self) -> int:
        """The shift we offer: the smallest that lets recv_buffer fit in 16 bits."""
        if not self.window_scaling:
            return 0
        shift = 0
        while (self.recv_buffer >> shift) > 0xFFFF and shift < 14:
            shift += 1
        return shift
