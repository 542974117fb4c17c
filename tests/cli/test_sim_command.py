"""The ``synack demo`` and ``synack sim`` subcommands: options, output, exit status."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from synack.cli.demo import configure as configure_demo
from synack.cli.demo import run as run_demo_command
from synack.cli.sim import configure as configure_sim
from synack.cli.sim import link_from_args
from synack.cli.sim import run as run_sim_command
from synack.cli.units import parse_count, parse_queue

SIM_JSON_KEYS = {
    "bytes_sent",
    "bytes_delivered",
    "verified",
    "goodput_bytes_per_s",
    "sim_seconds",
    "wall_seconds",
    "segments_sent",
    "retransmissions",
    "drops",
    "mss",
    "cc",
    "seed",
}


def parse(configure: object, argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    configure(p)  # type: ignore[operator]
    return p.parse_args(argv)


@pytest.mark.parametrize(
    ("text", "value"),
    [("10000", 10_000), ("10M", 10_000_000), ("1G", 10**9), ("64Ki", 65_536), ("1.5MB", 1_500_000)],
)
def test_counts_accept_suffixes(text: str, value: int) -> None:
    assert parse_count(text) == value


@pytest.mark.parametrize("text", ["", "ten", "1X", "-5", "0.5"])
def test_bad_counts_are_rejected(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_count(text)


def test_queue_sizes_in_packets_or_bytes() -> None:
    assert parse_queue("100") == (100, None)
    assert parse_queue("100p") == (100, None)
    assert parse_queue("64KB") == (None, 64_000)


def test_sim_options_become_link_configurations() -> None:
    args = parse(
        configure_sim,
        [
            "--rtt",
            "40",
            "--bandwidth",
            "12.5",
            "--queue",
            "30",
            "--loss",
            "0.01",
            "--burst-loss",
            "0.02:5",
            "--reorder",
            "0.1",
            "--reorder-delay",
            "2",
            "--duplicate",
            "0.05",
            "--corrupt",
            "0.01",
            "--mtu",
            "1400",
            "--periodic-loss",
            "100",
            "--drop",
            "syn",
            "--one-way",
        ],
    )
    forward, backward = link_from_args(args)
    assert forward.delay == backward.delay == 20_000
    assert forward.bandwidth == 12_500_000
    assert forward.queue_packets == 30
    assert forward.mtu == 1400
    assert forward.loss == 0.01
    assert forward.reorder == 0.1
    assert forward.reorder_delay == 2_000
    assert forward.duplicate == 0.05
    assert forward.corrupt == 0.01
    assert forward.periodic_loss == 100
    assert forward.burst is not None
    assert forward.burst.mean_loss == pytest.approx(0.02)
    assert len(forward.rules) == 1
    assert not backward.impaired


@pytest.mark.slow
def test_sim_prints_a_summary_and_json_with_the_issue_s_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = parse(
        configure_sim,
        [
            "--bytes", "1M", "--rtt", "20", "--bandwidth", "20", "--loss", "0.01",
            "--duplicate", "0.01", "--seed", "3", "--json",
            "--pcap", str(tmp_path / "s.pcap"), "--trace", str(tmp_path / "s.jsonl"),
            "--plot", str(tmp_path / "s.png"),
        ],
    )  # fmt: skip
    assert run_sim_command(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "synack sim: 1,000,000 bytes from 192.168.1.100 to 10.0.0.5:80"
    assert any("SHA-256 verified" in line for line in out)
    summary = json.loads(out[-1])
    assert set(summary) >= SIM_JSON_KEYS
    assert summary["verified"] is True
    assert summary["bytes_delivered"] == 1_000_000
    assert summary["cc"] == "newreno"
    assert summary["seed"] == 3
    assert summary["mss"] == 1448  # 1460 less the Timestamps option
    assert isinstance(summary["drops"], dict)
    for name in ("s.pcap", "s.jsonl", "s.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_sim_fails_with_status_1_when_nothing_gets_through(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from synack.cli import main

    assert main(["sim", "--bytes", "1000", "--loss", "1", "--json"]) == 1
    captured = capsys.readouterr()
    summary = json.loads(captured.out.splitlines()[-1])
    assert summary["verified"] is False
    # It says what happened instead of "0 bytes ... over 3600 s simulated".
    assert "synack sim: 1,000 bytes from" in captured.out
    assert "  delivered   nothing\n" in captured.out
    assert "  goodput" not in captured.out
    assert captured.err == (
        "synack sim: nothing was delivered: the connection never opened: "
        "no answer to the SYN before the retries ran out\n"
    )


def test_demo_prints_the_fixed_isns_and_the_handshake(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo_command(parse(configure_demo, [])) == 0
    out = capsys.readouterr().out
    assert "fixed for illustration: client 1000, server 5000" in out
    assert "Client (192.168.1.100) -> Server (10.0.0.5:80)   [SYN] Seq=1000\n" in out
    assert "[SYN, ACK] Seq=5000 Ack=1001\n" in out


def test_demo_with_random_isns_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo_command(parse(configure_demo, ["--random-isn"])) == 0
    assert "RFC 6528" in capsys.readouterr().out


def test_demo_rejects_an_isn_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo_command(parse(configure_demo, ["--client-isn", str(2**32)])) == 2
    assert "ISN" in capsys.readouterr().err


def test_the_synack_command_runs_demo_and_sim(capsys: pytest.CaptureFixture[str]) -> None:
    from synack.cli import main

    assert main(["demo", "--no-time"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "Client (192.168.1.100) -> Server (10.0.0.5:80)   [SYN] Seq=1000" in out
    assert main(["sim", "--bytes", "100k", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["verified"] is True


def test_python_dash_m_synack_demo_prints_the_seed_handshake() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "synack", "demo", "--lose", "syn-ack"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "[SYN, ACK] Seq=5000 Ack=1001   x lost (scripted)" in done.stdout
    assert "both sides closed gracefully." in done.stdout


def test_sim_with_a_progress_bar_still_prints_the_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = parse(configure_sim, ["--bytes", "2M", "--progress", "--json"])
    assert run_sim_command(args) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out.splitlines()[-1])["verified"] is True


def test_sim_with_ecn_through_codel_marks_instead_of_dropping(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from synack.cli import main

    argv = ["sim", "--bytes", "2M", "--rtt", "20", "--bandwidth", "10", "--queue", "200"]
    assert main([*argv, "--aqm", "codel", "--ecn", "--cc", "cubic"]) == 0
    out = capsys.readouterr().out
    assert "codel marking (ECN)" in out and "drops       none" in out
    assert " 0 retransmissions" in out and "packets marked CE" in out
    assert main([*argv, "--aqm", "codel", "--cc", "cubic"]) == 0
    assert "drops       codel" in capsys.readouterr().out


def test_sim_min_rto_sets_the_floor_at_both_ends(capsys: pytest.CaptureFixture[str]) -> None:
    from synack.cli import main

    # The last of 14 segments and its tail loss probe are lost: the RTO resends it.
    argv = ["sim", "--bytes", "20000", "--drop", "data:14", "--drop", "data:15", "--json"]
    times = []
    for extra in ([], ["--min-rto", "1000"]):
        assert main([*argv, *extra]) == 0
        times.append(json.loads(capsys.readouterr().out.splitlines()[-1])["sim_seconds"])
    # The 200 ms default floor, then RFC 6298 2.4's 1 s: the RTO waits 0.8 s longer.
    assert times[1] - times[0] == pytest.approx(0.8, abs=0.02)


def test_sim_min_rto_above_the_ceiling_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from synack.cli import main

    assert main(["sim", "--min-rto", "70000"]) == 2
    assert capsys.readouterr().err == (
        "synack sim: --min-rto 70000: at most 60000 ms, the RTO's ceiling\n"
    )
