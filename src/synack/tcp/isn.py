"""Initial sequence numbers per RFC 6528: ISN = M + F(4-tuple, secret).

M is a clock ticking every 4 microseconds (RFC 9293 3.4.1) taken from the time
the driver passes in; F is a keyed BLAKE2b over the connection's 4-tuple, so an
off-path attacker who cannot learn the key cannot predict another connection's ISN.
"""

from __future__ import annotations

import hashlib

from synack.tcp.entropy import random_bytes
from synack.wire.seq import MASK

__all__ = ["IsnGenerator"]


class IsnGenerator:
    """RFC 6528 section 3 generator with a secret key (random unless injected)."""

    def __init__(self, secret: bytes | None = None) -> None:
        # RFC 6528 3: "secretkey is a secret key ... SHOULD be of at least 128 bits".
        self._key = secret if secret is not None else random_bytes(32)
        if len(self._key) < 16:
            raise ValueError("the ISN secret must be at least 16 bytes")
        if len(self._key) > 64:
            self._key = hashlib.blake2b(self._key).digest()

    def offset(self, laddr: bytes, lport: int, raddr: bytes, rport: int) -> int:
        """F(localip, localport, remoteip, remoteport, secretkey) of RFC 6528."""
        h = hashlib.blake2b(
            laddr + lport.to_bytes(2, "big") + raddr + rport.to_bytes(2, "big"),
            key=self._key,
            digest_size=4,
        )
        return int.from_bytes(h.digest(), "big")

    def isn(self, now: int, laddr: bytes, lport: int, raddr: bytes, rport: int) -> int:
        """The ISN at time ``now`` (microseconds): M + F, modulo 2**32."""
        return ((now >> 2) + self.offset(laddr, lport, raddr, rport)) & MASK
