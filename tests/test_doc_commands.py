"""Every shell command block that README.md and docs/**/*.md give runs here as written, so that a documented command
cannot fail for a reader (as `--config a=b TARGET` did: Snakemake took the target for a config value).

How each command runs, by its program:

- `snakemake`: a dry run in the project's root (`-n` added unless the command is read-only already); a `--report
  PATH` command dry-runs the study it reports on, and PATH must lie in that study's `results` root;
- `bvae`: in a scratch directory that holds copies of `reference/` and README.md (which `bvae answer` rewrites);
  `bvae train` runs every check and stops where the training would start;
- `python -m bench.…`: the module parses the options given and stops before it measures; `taskset -c N` in front is
  dropped;
- `pip install`: `pip install --dry-run --no-deps`, offline; `ruff`: as written; `pytest`: `--collect-only` (this
  suite is what runs it).

A command that cannot run here (an editor, `tail -f` of a running study's log, a command that needs days of training
first) is marked as an example by its comment, which says why: `bvae archive results/reference reference   # example:
after the run above`. A reader sees the reason; this test shows the line and runs the block's other commands. A
fenced block without a shell language (```bash, ```sh) must not start with one of the programs above.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import re
import runpy
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bvae.cli import main
from tests.conftest import ROOT, snakemake

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SHELL = {"bash", "sh", "shell"}
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```", re.S | re.M)
READ_ONLY = {"-n", "--dry-run", "--list-changes", "--summary", "--detailed-summary", "--lint"}  # nothing to dry-run
PROGRAMS = ("snakemake", "bvae", "python", "taskset", "pip", "ruff", "pytest")


def blocks(shell: bool = True) -> list:
    """(page, body) of every fenced block in a shell language (or, not `shell`, in any other), with its page and line
    as the test's id."""
    found = []
    for page in PAGES:
        text = page.read_text()
        for m in FENCE.finditer(text):
            if (m["lang"] in SHELL) == shell:
                line = text.count("\n", 0, m.start("lang")) + 1
                found.append(pytest.param(page, m["body"], id=f"{page.relative_to(ROOT)}:{line}"))
    return found


def commands(body: str) -> list[list[str]]:
    """The block's commands as argument lists: continued lines joined, comments dropped, `a && b` split, and the
    lines whose comment starts with `example` left out."""
    argvs = []
    for line in body.replace("\\\n", " ").splitlines():
        code, comment = split_comment(line)
        if comment.startswith("example"):
            continue
        words = shlex.split(code)
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            argvs.append(words[:cut])
            words = words[cut + 1 :]
    return argvs


def split_comment(line: str) -> tuple[str, str]:
    """A shell line's code and its comment: from the first # that starts a word outside quotes, as bash reads it."""
    quote = ""
    for at, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (at == 0 or line[at - 1].isspace()):
            return line[:at], line[at + 1 :].strip()
    return line, ""


@functools.cache
def dry_run(argv: tuple[str, ...]) -> str:
    """A snakemake command's dry run in the project's root; '' if it succeeds, else its output's end."""
    args = list(argv[1:])
    if "--report" in args:
        at = args.index("--report")
        report = Path(args.pop(at + 1))
        args.pop(at)
        config = args[args.index("--configfile") + 1] if "--configfile" in args else "config.yaml"
        results = Path(yaml.safe_load((ROOT / config).read_text())["results"])
        if report.parent != results:
            return f"the report {report} lies outside its study's results root {results}"
    if not READ_ONLY & set(args):
        args = ["-n", *args]
    run = snakemake(ROOT, *args)
    return "" if run.returncode == 0 else (run.stdout + run.stderr)[-3000:]


class Stopped(Exception):
    """Raised where a command would start its real work: training, measuring."""


def run_bvae(argv: list[str], scratch: Path, monkeypatch) -> None:
    def would_train(*args, **kwargs):
        raise Stopped

    monkeypatch.chdir(scratch)
    monkeypatch.setattr("bvae.training.results.train_and_write", would_train)
    try:
        assert main(argv[1:]) == 0, f"{shlex.join(argv)}: if it needs what a reader makes first, mark it # example: why"
    except Stopped:
        assert argv[1] == "train", argv


def run_bench(argv: list[str], monkeypatch) -> None:
    """`python -m MODULE ARGS`: the module parses ARGS (an unknown option or bad value exits 2), then stops."""
    assert argv[1] == "-m" and argv[2].startswith("bench."), argv
    parse = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        parse(self, args, namespace)
        raise Stopped

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    monkeypatch.setattr(sys, "argv", [argv[2], *argv[3:]])
    monkeypatch.chdir(ROOT)
    with pytest.raises(Stopped):
        runpy.run_module(argv[2], run_name="__main__", alter_sys=True)


def run_tool(argv: list[str]) -> None:
    """pip (a dry run, offline), ruff (as written) and pytest (collecting only) in the project's root."""
    if argv[0] == "pip":
        # offline with the installed build backend; without one, pip fetches it into an isolated environment
        offline = ["--no-index", "--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
        argv = ["pip", argv[1], "--dry-run", "--no-deps", *offline, *argv[2:]]
    elif argv[0] == "pytest":
        argv = [*argv, "--collect-only", "-q"]
    run = subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert "does not provide the extra" not in run.stdout + run.stderr  # pip: an extra named in the docs exists


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "reference", tmp_path / "reference")  # a copy: no documented command writes the archive
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    return tmp_path


@pytest.mark.parametrize("page, body", blocks())
def test_every_documented_command_runs_as_written(page, body, scratch, monkeypatch):
    for argv in commands(body):
        if argv[0] == "taskset":
            argv = argv[3:]  # taskset -c N COMMAND: the command, on any core
        if argv[0] == "snakemake":
            assert not (failed := dry_run(tuple(argv))), f"{shlex.join(argv)}:\n{failed}"
        elif argv[0] == "bvae":
            run_bvae(argv, scratch, monkeypatch)
        elif argv[0] == "python":
            run_bench(argv, monkeypatch)
        elif argv[0] in ("pip", "ruff", "pytest"):
            run_tool(argv)
        else:
            pytest.fail(f"{shlex.join(argv)}: cannot run here; mark it with a comment `# example: why` (see this test)")


@pytest.mark.parametrize("page, body", blocks(shell=False))
def test_no_command_hides_in_a_block_without_a_shell_language(page, body):
    first = body.split(maxsplit=1)[0] if body.strip() else ""
    assert first not in PROGRAMS, f"{page.name}: a command in a block that is not ```bash"


def test_the_commands_are_split_as_a_shell_reads_them():
    body = ('pip install -e ".[dev]" && snakemake --cores all   # both\nbvae bound f.csv \\\n    --json out.json\n'
            "tail -f run.log   # example: follows a running study\nbvae bound 'a #1.csv'  # the paper's\n")  # fmt: skip
    assert commands(body) == [["pip", "install", "-e", ".[dev]"], ["snakemake", "--cores", "all"],
                              ["bvae", "bound", "f.csv", "--json", "out.json"],
                              ["bvae", "bound", "a #1.csv"]]  # fmt: skip
    assert {param.id.split(":")[0] for param in blocks()} >= {"README.md", "docs/reference.md"}
