"""Reading capture files back with tshark (Debian package ``tshark``)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

FIELDS = (
    "frame.number",
    "ip.src",
    "ip.dst",
    "tcp.flags.str",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.len",
    "tcp.checksum.status",
    "ip.checksum.status",
    "_ws.malformed",
)


@dataclass(frozen=True)
class Frame:
    number: int
    src: str
    dst: str
    flags: str
    seq: int
    ack: int
    length: int
    tcp_checksum_ok: bool
    ip_checksum_ok: bool
    malformed: bool


def tshark_frames(path: Path) -> list[Frame]:
    """Every frame of ``path`` as tshark dissects it, checksums verified."""
    exe = shutil.which("tshark")
    assert exe is not None, "tshark is required (make sysdeps installs it)"
    cmd = [exe, "-r", str(path), "-n", "-o", "tcp.check_checksum:TRUE"]
    cmd += ["-o", "ip.check_checksum:TRUE", "-T", "fields", "-E", "occurrence=f"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
    frames = []
    for line in out.splitlines():
        v = line.split("\t")
        frames.append(
            Frame(
                int(v[0]),
                v[1],
                v[2],
                v[3].replace("\u00b7", "."),
                int(v[4] or 0),
                int(v[5] or 0),
                int(v[6] or 0),
                v[7] == "1",
                v[8] == "1",
                bool(v[9]),
            )
        )
    return frames
