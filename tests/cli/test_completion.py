"""``synack completion``: the generated bash script completes commands, options and choices."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys

import pytest

from synack.cc import available
from synack.cli import COMMANDS


@functools.cache
def script_for(shell: str) -> str:
    """``synack completion SHELL``, run as the user would."""
    return subprocess.run(
        [sys.executable, "-m", "synack", "completion", shell],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def complete(words: list[str], shell: str = "bash") -> list[str]:
    """What the script offers for the last of ``words`` (run in a real bash)."""
    script = script_for(shell)
    quoted = " ".join(f"'{w}'" for w in words)
    program = (
        f"{script}\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _synack; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    if shell == "zsh":  # zsh's bashcompinit is zsh-only; check bash still parses the rest
        program = program.replace("autoload -U +X bashcompinit && bashcompinit", "")
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run([bash, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return sorted(filter(None, done.stdout.splitlines()))


def test_commands_complete() -> None:
    assert complete(["synack", "s"]) == ["send", "serve", "sim"]
    top = {cmd.name.split()[0] for cmd in COMMANDS}
    assert top <= set(complete(["synack", ""]))


def test_options_and_their_choices_complete() -> None:
    assert complete(["synack", "sim", "--rt"]) == ["--rtt"]
    assert complete(["synack", "sim", "--cc", ""]) == sorted(available())  # the registry's names
    assert complete(["synack", "sim", "--cc", "cu"]) == ["cubic"]
    assert complete(["synack", "demo", "--lose", "syn"]) == ["syn", "syn-ack"]
    assert complete(["synack", "serve", "--tap", "tap0", "e"]) == ["echo"]


def test_group_subcommands_complete() -> None:
    assert "validate" in complete(["synack", "experiment", ""])
    assert complete(["synack", "experiment", "validate", "--qu"]) == ["--quick"]


def test_an_option_value_falls_back_to_file_names() -> None:
    assert complete(["synack", "sim", "--pcap", ""]) == []


@pytest.mark.parametrize("shell", ["zsh"])
def test_the_zsh_script_is_the_bash_one_behind_bashcompinit(shell: str) -> None:
    assert complete(["synack", "han"], shell=shell) == ["handshake"]
