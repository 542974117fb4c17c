"""The packages a user installs: sdist and wheel, installed as ``pip install synack`` would.

Builds the sdist and (from it) the wheel with ``python -m build``, checks them
with ``twine check``, installs the wheel into fresh virtual environments and
runs the installed ``synack`` command: with no extras (the commands work, a
missing extra is one line), with all extras (a plot), and with nothing at all
(the protocol core needs only the standard library). Installs are offline, from
the wheels ``make wheelhouse`` downloads. About 30 s; marked ``slow``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest

import synack

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = Path(os.environ.get("SYNACK_WHEELHOUSE", ROOT / ".venv" / "wheelhouse"))
VERSION = synack.__version__


def run(
    argv: list[str | Path], cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


def ok(argv: list[str | Path], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = run(argv, cwd)
    assert done.returncode == 0, f"{argv}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist and wheel of this checkout (the wheel built from the sdist, as ``build`` does)."""
    out = tmp_path_factory.mktemp("dist")
    done = ok([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT])
    log = done.stdout + done.stderr
    # Nothing deprecated: the TOML-table license form that setuptools stops building
    # in 2027 gave a SetuptoolsDeprecationWarning here.
    assert "deprecat" not in log.lower(), log
    return out


def wheel_of(dist: Path) -> Path:
    (wheel,) = dist.glob("synack-*.whl")
    return wheel


def fresh_venv(path: Path) -> Path:
    """A virtual environment with nothing in it (not even pip); returns its python."""
    ok([sys.executable, "-m", "venv", "--without-pip", path])
    return path / "bin" / "python"


def pip_install(python: Path, *requirements: str | Path, deps: bool = True) -> None:
    """Install with this test's pip into another environment, offline from the wheelhouse."""
    if not (WHEELHOUSE / ".done").exists():
        pytest.fail(f"no wheelhouse at {WHEELHOUSE}: run `make wheelhouse` first")
    cmd: list[str | Path] = [sys.executable, "-m", "pip", "--python", python, "install", "-q"]
    cmd += ["--no-index", "--find-links", WHEELHOUSE]
    if not deps:
        cmd.append("--no-deps")
    ok([*cmd, *requirements])


def test_twine_accepts_the_sdist_and_the_wheel(dist: Path) -> None:
    files = sorted(dist.iterdir())
    assert [f.name for f in files] == [
        f"synack-{VERSION}-py3-none-any.whl",
        f"synack-{VERSION}.tar.gz",
    ]
    done = ok([sys.executable, "-m", "twine", "check", "--strict", *files])
    assert done.stdout.count("PASSED") == 2


def test_the_wheel_metadata(dist: Path) -> None:
    with zipfile.ZipFile(wheel_of(dist)) as whl:
        names = whl.namelist()
        meta = HeaderParser().parsestr(whl.read(f"synack-{VERSION}.dist-info/METADATA").decode())
    # PEP 639: an SPDX expression and the license file, in the wheel.
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert f"synack-{VERSION}.dist-info/licenses/LICENSE" in names
    classifiers = meta.get_all("Classifier") or []
    assert not any(c.startswith("License ::") for c in classifiers)
    assert "Topic :: System :: Networking" in classifiers
    # One version source: synack.__version__ is the wheel's version.
    assert meta["Version"] == VERSION
    # No invented project URLs.
    assert meta.get_all("Project-URL") is None and meta["Home-page"] is None
    requires = meta.get_all("Requires-Dist") or []
    plain = sorted(r.split(">")[0] for r in requires if "extra ==" not in r)
    assert plain == ["h11", "rich"]
    assert any(r.startswith("matplotlib") and 'extra == "plot"' in r for r in requires)
    assert "synack/py.typed" in names


def test_the_sdist_holds_what_the_tests_need(dist: Path) -> None:
    (sdist,) = dist.glob("synack-*.tar.gz")
    with tarfile.open(sdist) as tar:
        members = {m.name.removeprefix(f"synack-{VERSION}/") for m in tar.getmembers()}
    for top in ("pyproject.toml", "README.md", "LICENSE", "Makefile", "MANIFEST.in"):
        assert top in members
    for folder in ("src", "tests", "docs", "bench"):
        wanted = {
            str(p.relative_to(ROOT))
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pcap")
        }
        assert wanted, folder
        assert wanted <= members, sorted(wanted - members)


def test_a_plain_install_gives_a_working_command_line(dist: Path, tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, wheel_of(dist))
    synack_cmd = python.parent / "synack"
    assert ok([synack_cmd, "--version"]).stdout == f"synack {VERSION}\n"
    versions = ok(
        [
            python,
            "-c",
            "import importlib.metadata as m, synack; print(synack.__version__, m.version('synack'))",
        ]
    )
    assert versions.stdout.split() == [VERSION, VERSION]
    # No extra is installed...
    assert run([python, "-c", "import matplotlib"]).returncode == 1
    # ...and every subcommand's module still imports (their extras are imported lazily):
    # the full parser configures them all, as --help and completion do.
    helped = ok([synack_cmd, "--help"])
    assert "experiment" in helped.stdout and "demo" in helped.stdout
    ok([python, "-c", "from synack.cli import build_parser; build_parser()"])

    demo = ok([synack_cmd, "demo"], cwd=tmp_path)
    assert "both sides closed gracefully." in demo.stdout
    sim = ok([synack_cmd, "sim", "--bytes", "1M"], cwd=tmp_path)
    assert "1,000,000 bytes, SHA-256 verified" in sim.stdout
    # synack view's script and style ship in the wheel: a plain install writes the page.
    ok([synack_cmd, "demo", "--view", tmp_path / "d.html"], cwd=tmp_path)
    assert 'id="synack-data"' in (tmp_path / "d.html").read_text()

    # ...so a feature that needs one says which, in one line, with status 1.
    expected = "plots need matplotlib: pip install 'synack[plot]'"
    trace = tmp_path / "t.jsonl"
    ok([synack_cmd, "demo", "--trace", trace], cwd=tmp_path)
    cases: list[tuple[list[str | Path], str]] = [
        (["sim", "--bytes", "1M", "--plot", tmp_path / "s.png"], "sim"),
        (["plot", trace, "-o", tmp_path / "t.png"], "plot"),
    ]
    for argv, name in cases:
        done = run([synack_cmd, *argv], cwd=tmp_path)
        assert done.returncode == 1
        assert done.stderr == f"synack {name}: {expected}\n"
        assert done.stdout == ""
    assert not list(tmp_path.glob("*.png"))

    # With every extra, the plot is drawn.
    pip_install(python, f"{wheel_of(dist)}[all]")
    done = ok([synack_cmd, "sim", "--bytes", "200k", "--plot", tmp_path / "s.png"], cwd=tmp_path)
    assert f"plot        {tmp_path / 's.png'}" in done.stdout
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_core_imports_with_no_third_party_package_at_all(dist: Path, tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "bare")
    pip_install(python, wheel_of(dist), deps=False)
    site = ok([python, "-c", "import site; print(site.getsitepackages()[0])"]).stdout.strip()
    installed = sorted(p.name for p in Path(site).iterdir() if not p.name.startswith("_"))
    assert all(re.match(r"synack(-|$)", name) for name in installed), installed
    code = (
        "import sys, synack.tcp, synack.wire, synack.cc\n"
        "from synack.tcp import Connection\n"
        "c = Connection(('10.0.0.1', 1), ('10.0.0.2', 2), iss=1); c.connect(now=0)\n"
        "print(len(c.segments_to_send(0)))\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names) - {'__main__'}))"
    )
    out = ok([python, "-c", code]).stdout.splitlines()
    assert out == ["1", "['synack']"]
