"""The registry of ``synack`` subcommands: one line each.

To add a subcommand, write a module under ``synack.cli`` with
``configure(parser: argparse.ArgumentParser) -> None`` and
``run(args: argparse.Namespace) -> int``, and add one :class:`Command` line
below. A two-word name (``"experiment sweep"``) puts it in a group of
:data:`GROUPS`. The order here is the order of ``synack --help``.
"""

from __future__ import annotations

from synack.cli.base import Command

__all__ = ["COMMANDS", "GROUPS"]

# Groups of subcommands (``synack experiment validate``): name -> help line.
GROUPS: dict[str, str] = {
    "experiment": "congestion-control experiments on the simulator",
}

# fmt: off
COMMANDS: tuple[Command, ...] = (
    # On the simulator.
    Command("demo", "synack.cli.demo", "a TCP connection on the simulator: handshake, data, close, as a ladder diagram"),
    Command("sim", "synack.cli.sim", "a verified bulk transfer over a simulated link with delay, loss, reordering, ..."),
    Command("attack", "synack.cli.attack", "classic TCP attacks on the simulator (ISN prediction, blind reset and injection, SYN flood, CVE-2016-5696), measured"),
    Command("experiment validate", "synack.cli.experiment.validate", "congestion-control validation (Mathis, PFTK, CUBIC, fairness, utilisation): a Markdown report"),
    Command("experiment sweep", "synack.cli.experiment.sweep", "run a grid of simulations from a TOML spec (process pool or Dask) into a Parquet file"),
    Command("experiment report", "synack.cli.experiment.report", "figures and a Markdown table from a sweep's Parquet file"),
    # Traces and the wire format.
    Command("plot", "synack.cli.plot", "plot a JSON Lines trace: sequence numbers, cwnd and RTT over time, as PNG"),
    Command("packetdrill", "synack.cli.packetdrill", "run packetdrill scripts against synack (virtual time) or the Linux kernel (--linux)"),
    Command("view", "synack.cli.view", "one HTML page of a connection (ladder, time-sequence, cwnd, RTT) from a trace or a pcap"),
    Command("handshake", "synack.cli.handshake", "compute a TCP three-way handshake with the wire layer alone, one line per segment"),
    # Over a real TAP device.
    Command("serve", "synack.cli.serve", "serve echo, discard or http (files) over a TAP device"),
    Command("get", "synack.cli.get", "HTTP GET a URL over a TAP device"),
    Command("send", "synack.cli.send", "send N bytes to ADDR:PORT over a TAP device and report"),
    Command("connect", "synack.cli.connect", "netcat-like: stdin/stdout to ADDR:PORT over a TAP device"),
    Command("run", "synack.cli.run", "run a Python program unchanged (python -m http.server, a script) with its TCP on synack"),
    Command("netns", "synack.cli.netns", "create or delete a private namespace with a TAP device for synack"),
    # The command line itself.
    Command("completion", "synack.cli.completion", 'a bash or zsh completion script: eval "$(synack completion bash)"'),
)
# fmt: on
