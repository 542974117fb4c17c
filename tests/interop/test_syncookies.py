"""SYN cookies with the Linux kernel as the client (issue 16 finding 1): handshake, options, data.

synack listens with ``Config(syn_cookies="always")``, so every SYN is answered
with a cookie and nothing is kept until the kernel's ACK returns it. The kernel
client then sends 2 MB and reads them echoed back. Both sides must agree on
what was negotiated: timestamps, SACK and window scale restored from the
cookie's TSval bits (the kernel's TCP_INFO and synack's ``Connection.info()``),
and every byte must arrive, both ways.
"""

from __future__ import annotations

import asyncio
import sys

import pytest

from synack.api import aio
from synack.link.netns import NetnsLab
from synack.tcp import Config, TcpInfo
from tests.interop.conftest import SYNACK, open_stack

pytestmark = [pytest.mark.netns, pytest.mark.timeout(300)]

# Connect, send SIZE octets, half-close, read the echo; print the digest of both
# directions and the kernel's view of the options (TCP_INFO: tcpi_options and the
# two window-scale nibbles).
KERNEL_CLIENT = r"""
import hashlib, socket, struct, sys, threading
host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = hashlib.shake_256(b"cookie").digest(size)
s = socket.create_connection((host, port), timeout=60)
info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
options, wscales = info[5], info[6]
sender = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
sender.start()
got = hashlib.sha256()
n = 0
while chunk := s.recv(1 << 16):
    got.update(chunk); n += len(chunk)
sender.join()
# tcpi_snd_wscale:4 then tcpi_rcv_wscale:4, low bits first (little-endian bit fields).
print(hashlib.sha256(data).hexdigest(), got.hexdigest(), n, options, wscales & 15, wscales >> 4)
"""

TCPI_OPT_TIMESTAMPS, TCPI_OPT_SACK, TCPI_OPT_WSCALE = 1, 2, 4
SIZE = 2_000_000


def test_a_kernel_client_connects_through_a_syn_cookie_with_its_options_restored(
    lab: NetnsLab,
) -> None:
    stack = open_stack(lab, config=Config(syn_cookies="always"))
    infos: list[TcpInfo] = []
    try:

        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            transport = writer.transport
            assert isinstance(transport, aio.SynackTransport)
            infos.append(transport.connection.info())
            while chunk := await reader.read(1 << 16):
                writer.write(chunk)
                await writer.drain()
            writer.close()

        async def start() -> aio.Server:
            return await aio.start_server(echo, port=80, runtime=stack.runtime)

        server = stack.run(start(), 10)
        result = lab.run(
            [sys.executable, "-c", KERNEL_CLIENT, SYNACK, "80", str(SIZE)], timeout=120
        )
        assert result.returncode == 0, result.stderr
        sent, echoed, n, options, snd_wscale, rcv_wscale = result.stdout.split()
        counters = stack.call(lambda: dict(stack.runtime.endpoint.counters))
        stack.call(server.close)
    finally:
        stack.close()
    assert counters.get("syncookies.sent", 0) >= 1
    assert counters.get("syncookies.validated", 0) == 1
    assert counters.get("syncookies.failed", 0) == 0
    # The data, both ways.
    assert int(n) == SIZE and echoed == sent
    # The kernel negotiated everything with the cookie SYN-ACK ...
    opts = int(options)
    assert opts & TCPI_OPT_TIMESTAMPS and opts & TCPI_OPT_SACK and opts & TCPI_OPT_WSCALE
    # ... and synack restored it from the cookie: the same options, the shifts crossed.
    (info,) = infos
    assert info.timestamps and info.sack
    assert info.snd_wscale == int(rcv_wscale) and info.rcv_wscale == int(snd_wscale)
    assert info.snd_wscale > 0
