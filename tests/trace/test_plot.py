"""Plots: PNG files from a live run and from a JSON Lines trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from synack.sim import LinkConfig
from synack.sim.scenario import run_transfer
from synack.trace import read_jsonl
from synack.trace.plot import PlotData, cwnd_graph, plot_transfer, stevens_graph

PNG = b"\x89PNG\r\n\x1a\n"
LINK = LinkConfig(delay=10_000, bandwidth=10_000_000, queue_packets=20, loss=0.01)


@pytest.mark.slow
def test_live_plot_data_sees_data_retransmissions_losses_acks_and_cwnd(tmp_path: Path) -> None:
    data = PlotData()
    r = run_transfer(500_000, LINK, seed=2, plot=data)
    assert r.verified
    found = data.data_flow()
    assert found is not None
    (src, dst), flow = found
    assert src.startswith("192.168.1.100:")
    assert dst == "10.0.0.5:80"
    assert flow.payload_bytes == 500_000
    assert any(rtx for *_, rtx in flow.data)
    assert flow.lost
    assert data.flows[(dst, src)].acks
    series = data.conn_of((src, dst))
    assert series is not None
    assert series.cwnd
    assert series.rtt
    for draw, name in ((plot_transfer, "all"), (stevens_graph, "seq"), (cwnd_graph, "cwnd")):
        path = tmp_path / f"{name}.png"
        draw(data, path, title=name)
        assert path.read_bytes().startswith(PNG)


def test_plot_data_from_a_trace_file_matches_the_live_one(tmp_path: Path) -> None:
    live = PlotData()
    trace = tmp_path / "t.jsonl"
    run_transfer(200_000, LINK, seed=4, plot=live, trace=trace)
    loaded = PlotData.from_records(read_jsonl(trace))
    assert loaded.flows == live.flows
    assert loaded.conns == live.conns


def test_an_empty_plot_still_writes_a_png(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    plot_transfer(PlotData(), path)
    assert path.read_bytes().startswith(PNG)


@pytest.mark.slow
def test_synack_plot_draws_a_trace_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from synack.cli import main

    trace = tmp_path / "t.jsonl"
    run_transfer(100_000, LINK, seed=1, trace=trace)
    assert main(["plot", str(trace)]) == 0
    assert (tmp_path / "t.png").read_bytes().startswith(PNG)
    assert main(["plot", str(trace), "--kind", "seq", "-o", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").read_bytes().startswith(PNG)
    assert "wrote" in capsys.readouterr().out
    assert main(["plot", str(tmp_path / "missing.jsonl")]) == 2
