"""README's packetdrill example runs as shown, and docs/packetdrill.md's tables match the code."""

from __future__ import annotations

from pathlib import Path

from synack.packetdrill import parse_script, run_script
from synack.packetdrill.linux import BASELINE_SYSCTLS
from synack.packetdrill.sysctl import SYSCTLS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOC = (ROOT / "docs" / "packetdrill.md").read_text(encoding="utf-8")


def readme_blocks() -> tuple[str, str]:
    section = README.split("## packetdrill scripts", 1)[1]
    blocks = section.split("```")
    return blocks[1].lstrip("\n"), blocks[3].strip("\n")


def test_readme_script_passes_and_its_broken_twin_fails_as_shown() -> None:
    script, message = readme_blocks()
    result = run_script(parse_script(script, "t.pkt"))
    assert result.passed, result.error
    broken = script.replace("> P. 1:1001(1000) ack 1", "> P. 1:1001(1000) ack 2")
    result = run_script(parse_script(broken, "t.pkt"))
    assert result.error == message


def test_doc_sysctl_table_lists_every_sysctl_the_runner_maps() -> None:
    table = DOC.split("## Shell commands and the sysctl table", 1)[1].split("## ", 1)[0]
    for name in SYSCTLS:
        short = name.rsplit(".", 1)[1]
        assert f"`{name}`" in table or f"`_{short.split('_')[-1]}`" in table, name


def test_doc_linux_baseline_table_is_the_one_applied() -> None:
    section = DOC.split("## --linux", 1)[1].split("## ", 1)[0]
    for name, value in BASELINE_SYSCTLS:
        short = name.rsplit(".", 1)[1]
        assert short in section and f"`{value}`" in section, (name, value)
