"""``synack attack`` and ``synack demo --attack`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synack.cli import main
from synack.trace import read_jsonl, read_pcap


def test_json_is_one_object_on_the_last_line_with_the_required_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["attack", "isn-prediction", "--isn", "counter", "--json"]) == 0
    out = capsys.readouterr().out.splitlines()
    summary = json.loads(out[-1])
    assert {"scenario", "success", "attempts", "expected_attempts", "seed", "configuration"} <= set(
        summary
    )
    assert summary["scenario"] == "isn-prediction"
    assert summary["success"] is True
    assert summary["seed"] == 1
    assert summary["configuration"]["isn"] == "counter"
    assert out[0].startswith("synack attack isn-prediction:")


def test_options_reach_the_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "attack",
        "blind-reset",
        "--rfc5961",
        "off",
        "--window",
        "1Mi",
        "--rate",
        "50000",
        "--seed",
        "3",
        "--json",
    ]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["configuration"] == {
        "rfc5961": False,
        "window": 1 << 20,
        "budget": 4096,
        "rate_pps": 50_000,
    }
    assert summary["seed"] == 3
    assert summary["success"] is True
    assert summary["expected_attempts"] == (4096 + 1) / 2


def test_pcap_trace_and_plot_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pcap, trace, plot = tmp_path / "a.pcap", tmp_path / "a.jsonl", tmp_path / "a.png"
    argv = [
        "attack",
        "isn-prediction",
        "--isn",
        "clock",
        "--budget",
        "200",
        "--pcap",
        str(pcap),
        "--trace",
        str(trace),
        "--plot",
        str(plot),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    _, packets = read_pcap(pcap)
    assert f"pcap        {pcap} ({len(packets):,} packets)" in out
    # Every spoofed guess is in the capture, with the trusted host's source address.
    spoofed = [p for _, p in packets if p[12:16] == bytes([192, 168, 1, 100])]
    assert len(spoofed) >= 2
    records = list(read_jsonl(trace))
    assert any(r.get("ev") == "state" for r in records)
    assert any(r.get("ev") == "note" and "referee" in str(r.get("text")) for r in records)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["attack", "blind-reset", "--isn", "clock"], "--isn does not apply to blind-reset"),
        (["attack", "syn-flood", "--window", "64Ki"], "--window does not apply to syn-flood"),
        (["attack", "all", "--pcap", "x.pcap"], "apply to one scenario"),
        (["attack", "all", "--quick"], "go with --report"),
        (["attack", "isn-prediction", "--gap", "1"], "gap >= 50 ms"),
        (["attack", "blind-inject", "--rate", "10"], "rate >= 1000"),
        (["demo", "--attack", "--random-isn"], "drop --random-isn"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert message in err[0]


def test_demo_attack_shows_the_handshake_then_the_spoofed_request_win_and_lose(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--attack"]) == 0
    out = capsys.readouterr().out
    part1, _, rest = out.partition("2. Predictable ISNs")
    part2, _, part3 = rest.partition("3. RFC 6528 ISNs")
    # The seed's handshake, with the seed's ISNs.
    assert "Client (192.168.1.100) -> Server (10.0.0.5:80)    [SYN] Seq=1000" in part1
    assert "[SYN, ACK] Seq=5000 Ack=1001" in part1
    # Predictable: the request is accepted as the client's.
    assert "server: recv() -> 'POST /transfer?to=attacker\\n' from 192.168.1.100:40000" in part2
    assert "<- spoofed by the attacker" in part2
    # RFC 6528: the guesses draw RSTs and nothing is received.
    assert "recv()" not in part3
    assert "Server (10.0.0.5:80) -> Client (192.168.1.100)    [RST]" in part3


def test_view_writes_the_page_and_json_stays_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "reset.html"
    argv = [
        "attack",
        "blind-reset",
        "--rfc5961",
        "off",
        "--window",
        "1Mi",
        "--view",
        str(page),
        "--json",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert json.loads(out[-1])["scenario"] == "blind-reset"
    assert out[-2].startswith(f"wrote {page} (")
    assert "192.168.1.100:" in out[-2] and "10.0.0.5:179" in out[-2]
    assert page.read_text().lstrip().lower().startswith("<!doctype html>")
    # The temporary trace behind --view is not reported.
    assert not any(line.startswith("  trace ") for line in out)


@pytest.mark.parametrize(
    "argv",
    [
        ["side-channel", "--per-host"],
        ["syn-flood", "--warmup", "60", "--duration", "30"],
        ["blind-reset", "--window", "1Mi"],
    ],
)
def test_every_scenario_draws_its_plot(tmp_path: Path, argv: list[str]) -> None:
    plot = tmp_path / "p.png"
    assert main(["attack", *argv, "--plot", str(plot)]) == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_syn_flood_cookies_switch(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "attack",
        "syn-flood",
        "--cookies",
        "off",
        "--warmup",
        "63",
        "--duration",
        "30",
        "--json",
    ]
    assert main(argv) == 0
    off = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert off["configuration"]["cookies"] is False
    assert off["cookies_sent"] == 0
    assert main(argv[:2] + argv[4:]) == 0
    on = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert on["configuration"]["cookies"] is True
    assert on["cookies_sent"] > 0
    assert on["legit_success_rate"] > off["legit_success_rate"]
