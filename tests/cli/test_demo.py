"""``synack handshake``: the handshake computed with the wire layer, and the CLI around it.

(``synack demo`` runs the same scenario on the simulator: tests/cli/test_sim_command.py.)
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from synack.cli import COMMANDS, handshake_lines, main


def test_handshake_prints_the_seed_handshake(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["handshake"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Client (192.168.1.100) -> Server (10.0.0.5:80)   [SYN] Seq=1000",
        "Server (10.0.0.5:80) -> Client (192.168.1.100)   [SYN, ACK] Seq=5000 Ack=1001",
        "Client (192.168.1.100) -> Server (10.0.0.5:80)   [ACK] Seq=1001 Ack=5001",
    ]


def test_handshake_numbers_follow_the_isns_across_the_wrap() -> None:
    lines = handshake_lines(2**32 - 1, 7)
    assert lines[0].endswith("[SYN] Seq=4294967295")
    assert lines[1].endswith("[SYN, ACK] Seq=7 Ack=0")
    assert lines[2].endswith("[ACK] Seq=0 Ack=8")


def test_handshake_relative_and_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["handshake", "--relative", "--verbose"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(
        "[SYN] Seq=0 Win=65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>  (60 bytes)"
    )
    assert "[SYN, ACK] Seq=0 Ack=1 Win=65535" in out[1]
    assert out[2].endswith("[ACK] Seq=1 Ack=1 Win=512 <nop,nop,TS val 3 ecr 2>  (52 bytes)")


def test_handshake_rejects_an_isn_outside_the_sequence_space(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["handshake", "--client-isn", str(2**32)]) == 2
    assert "ISN" in capsys.readouterr().err


def test_every_command_has_a_subparser(capsys: pytest.CaptureFixture[str]) -> None:
    for cmd in COMMANDS:
        *group, leaf = cmd.name.split()
        with pytest.raises(SystemExit) as exit_:
            main([*group, "--help"])
        assert exit_.value.code == 0
        assert f"    {leaf}" in capsys.readouterr().out


def test_python_dash_m_synack_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "synack", "handshake"], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[0] == (
        "Client (192.168.1.100) -> Server (10.0.0.5:80)   [SYN] Seq=1000"
    )
