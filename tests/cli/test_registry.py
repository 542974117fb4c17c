"""The subcommand registry: every entry loads, only the chosen one is imported, errors are one line."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from synack.cli import COMMANDS, GROUPS, CommandFailed, UsageError, build_parser, main
from synack.cli.base import Command


def test_every_registered_module_has_configure_and_run() -> None:
    for cmd in COMMANDS:
        configure, run = cmd.load()
        parser = argparse.ArgumentParser()
        configure(parser)  # adds its options without error
        assert callable(run), cmd.name
        group, _, _ = cmd.name.rpartition(" ")
        assert not group or group in GROUPS, f"{cmd.name}: group {group!r} is not in GROUPS"


def test_command_names_are_unique() -> None:
    names = [cmd.name for cmd in COMMANDS]
    assert len(names) == len(set(names))
    assert not set(GROUPS) & set(names)


def test_the_full_parser_knows_every_option_of_every_command() -> None:
    parser = build_parser()
    args = parser.parse_args(["sim", "--bytes", "1M", "--loss", "0.5"])
    assert (args.bytes, args.loss) == (1_000_000, 0.5)
    args = parser.parse_args(["experiment", "validate", "--quick"])
    assert args.quick is True


def test_running_one_command_imports_only_its_module() -> None:
    # `synack handshake` needs the wire layer alone: the TAP commands' asyncio
    # runtime and HTTP client must not be loaded for it.
    code = (
        "import sys; from synack.cli import main; main(['handshake']); "
        "print(sorted(m for m in sys.modules if m.startswith(('synack.api', 'synack.cli.'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = done.stdout.splitlines()[-1]
    assert "synack.api" not in loaded
    assert "synack.cli.handshake" in loaded
    assert "synack.cli.serve" not in loaded


@pytest.mark.parametrize(("error", "status"), [(UsageError, 2), (CommandFailed, 1)])
def test_a_command_error_is_one_line_with_its_status(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: type[Exception],
    status: int,
) -> None:
    def failing(args: argparse.Namespace) -> int:
        raise error("the file /nowhere/x cannot be written")

    fake = Command("handshake", "synack.cli.handshake", "fake")
    monkeypatch.setattr(Command, "load", lambda self: (lambda p: None, failing))
    monkeypatch.setattr("synack.cli.program.COMMANDS", (fake,))
    assert main(["handshake"]) == status
    captured = capsys.readouterr()
    assert captured.err == "synack handshake: the file /nowhere/x cannot be written\n"
    # --debug, before or after the command, lets the exception through with its traceback.
    for argv in (["--debug", "handshake"], ["handshake", "--debug"]):
        with pytest.raises(error):
            main(argv)


def test_an_unknown_subcommand_of_a_group_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["experiment", "nosuch"])
    assert exit_.value.code == 2
