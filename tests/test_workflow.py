"""End to end: the tiny config through snakemake, tables against runs.parquet, and reruns after code edits."""

import base64
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bvae.numerics import VERSION
from bvae.report.tables import TABLES
from tests.conftest import SNAKEMAKE, copy_workflow, job_counts, markdown_tables, snakemake
from tests.test_document import html_rows


def test_every_output_exists_and_tables_recompute_from_runs(tiny):
    datasets = ["d24_N100", "d24_N400"]
    results = tiny / "results" / "test"  # .test/config.yaml's output root
    for name in datasets:
        assert (results / "datasets" / f"{name}.parquet").exists()
        assert (results / "figures" / f"scree_{name}.png").exists()
        for arch in ("deep", "canonical"):
            assert (results / "figures" / "spec" / f"loss_{name}_{arch}.png").stat().st_size > 1000
            for variant in ("vanilla", "preinit"):
                for seed in (0, 1):
                    run = results / "runs" / "spec" / name / arch / variant / f"seed{seed}"
                    assert (run / "history.parquet").exists() and (run / "final.parquet").exists()
    assert (results / "figures" / "figure3.png").exists() and (results / "figures" / "figure4.png").exists()
    bounds = pd.read_parquet(results / "bounds" / "bounds.parquet")
    assert sorted(bounds["dataset"]) == datasets and (bounds["n_train"] + bounds["n_test"] == bounds["N"]).all()
    runs = pd.read_parquet(results / "tables" / "spec" / "runs.parquet")
    keys = runs[["dataset", "arch", "variant", "seed"]].drop_duplicates()
    assert len(runs) == len(keys) == 2 * 2 * 2 * 2
    # The run that started each training recorded its results: no checkpoint is left to answer a forced rerun.
    assert not list(results.rglob("checkpoints/**/*.pt"))
    for spec in TABLES:
        table = pd.read_parquet(results / "tables" / "spec" / f"{spec.name}.parquet")
        assert sorted(table["dataset"]) == datasets  # one row per dataset
        assert (results / "tables" / "spec" / f"{spec.name}.md").read_text().count("| d=24; N=") == 2
        assert "| bound | exact NLL |" in (results / "tables" / "spec" / f"{spec.name}.md").read_text()
        for _, row in table.iterrows():
            for variant in ("vanilla", "preinit"):
                pct = runs.query("dataset == @row.dataset and arch == @spec.arch and variant == @variant")[
                    f"pct_{spec.split}"
                ]
                assert row[f"{variant}_mean"] == pytest.approx(pct.mean(), rel=1e-12)
                assert row[f"{variant}_std"] == pytest.approx(np.std(pct, ddof=1), rel=1e-12)
                assert (row[f"{variant}_min"], row[f"{variant}_max"]) == (pct.min(), pct.max())
    tables = results / "tables"  # reading a Markdown table checks that every row has a cell per column
    written = {path.relative_to(tables).as_posix(): markdown_tables(path.read_text()) for path in tables.rglob("*.md")}
    assert sum(len(found) for name, found in written.items() if "/table" in name) == 2 * 8  # one per file
    assert not written["comparison.md"] and len(written["claims.md"]) > 8  # d = 24 is not in the paper


def test_the_report_shows_every_table_with_its_caption(tiny):
    """Snakemake's report frames an HTML result but shows a Markdown one only as a link: the tables are in it as
    HTML pages holding the cells of the Markdown beside them, each with its caption, and no .md is in it."""
    run = snakemake(tiny, "--report", "report.html", "--configfile", ".test/config.yaml")
    assert run.returncode == 0, run.stderr[-2000:]
    embedded = re.search(r"var results = (\{.*?\});\n", (tiny / "report.html").read_text(encoding="utf-8"), re.S)[1]
    results = json.loads(embedded)
    assert not [path for path in results if path.endswith(".md")]
    tables = {path: entry for path, entry in results.items() if "/tables/" in path}
    assert len(tables) == 2 * 8 + 2  # two protocols' eight tables, the comparison and the claims
    captions = {"table": "method §7", "comparison": "published cells", "claims": "criterion"}
    for path, entry in tables.items():
        name = Path(path).stem
        assert entry["mime_type"] == "text/html"
        assert next(text for key, text in captions.items() if name.startswith(key)) in entry["caption"]
        markdown = (tiny / path).with_suffix(".md").read_text()
        # the page shows `code` and **strong** as HTML
        cells = [[re.sub(r"`|\*\*", "", cell) for cell in row] for header, rows in markdown_tables(markdown)
                 for row in [header, *rows]]  # fmt: skip
        assert html_rows(embedded_page(entry)) == cells
        if name.startswith("table"):
            assert len(cells) == 3  # the header and the two datasets
    comparison = embedded_page(tables["results/test/tables/comparison.html"])
    assert "Not in the paper, so not compared: d24_N100, d24_N400." in comparison and not html_rows(comparison)


def embedded_page(entry: dict) -> str:
    """The HTML page that a report entry embeds as a base64 data URI."""
    return base64.b64decode(entry["data_uri"].split("base64,", 1)[1]).decode("utf-8")


def test_nothing_to_do_after_a_complete_run(tiny):
    run = snakemake(tiny, "-n", "--configfile", ".test/config.yaml")
    assert run.returncode == 0 and "Nothing to be done" in run.stdout + run.stderr


def test_a_comment_or_docstring_in_the_training_code_reruns_nothing(tiny):
    """Trainings and datasets are keyed on the numerics version, not on the code's bytes; the other rules on their
    code's syntax tree without docstrings."""
    edit(tiny / "src" / "bvae" / "training" / "train.py")
    edit(tiny / "workflow" / "scripts" / "train.py")  # Snakemake's own code trigger would rerun on its mtime
    networks = tiny / "src" / "bvae" / "training" / "networks.py"
    networks.write_text(networks.read_text().replace('"""', '"""Edited by test_workflow. ', 1))
    run = snakemake(tiny, "-n", "--configfile", ".test/config.yaml")
    assert run.returncode == 0 and "Nothing to be done" in run.stdout + run.stderr, run.stdout[-2000:]


def test_a_moved_module_reruns_no_training(tiny):
    """A module the training imports moved (and every import of it rewritten) reruns no training and no dataset:
    they are keyed on data, settings, seed and the numerics version, never on module paths (docs/layout.md)."""
    old, new = "bvae.training.progress", "bvae.training.epoch_progress"
    package = tiny / "src" / "bvae" / "training"
    sources = [*(tiny / "src").rglob("*.py"), *(tiny / "workflow").rglob("*.py")]
    importers = {path: path.read_text() for path in sources if old in path.read_text()}
    assert package / "train.py" in importers  # the training loop imports it
    (package / "progress.py").rename(package / "epoch_progress.py")
    for path, text in importers.items():
        path.write_text(text.replace(old, new))
    try:
        run = snakemake(tiny, "-n", "--configfile", ".test/config.yaml")
    finally:
        (package / "epoch_progress.py").rename(package / "progress.py")
        for path, text in importers.items():
            path.write_text(text)
    assert run.returncode == 0, run.stderr[-2000:]
    rerun = set(job_counts(run.stdout))
    assert not {rule for rule in rerun if rule.startswith(("train_", "restore_", "simulate_"))}, run.stdout[-2000:]


def edit(path: Path, code: bool = False) -> None:
    """Append a comment to a module, or (`code`) a statement, which changes what it does."""
    path.write_text(path.read_text() + ("\nEDITED_BY_TEST = 1\n" if code else "\n# edited by test_workflow\n"))


def test_editing_a_table_module_reruns_only_aggregation(tiny):
    edit(tiny / "src" / "bvae" / "report" / "tables.py", code=True)
    run = snakemake(tiny, "-n", "--configfile", ".test/config.yaml")
    rerun = {"runs_table", "paper_tables_deep", "paper_tables_canonical", "comparison", "comparison_figure", "claims",
             "all"}  # fmt: skip
    assert set(job_counts(run.stdout)) == rerun, run.stdout[-2000:]
    changes = snakemake(tiny, "--list-changes", "params", "--configfile", ".test/config.yaml")
    assert "results/test/tables/spec/runs.parquet" in changes.stdout


def test_a_new_numerics_version_reruns_datasets_and_trainings(tiny):
    numerics = tiny / "src" / "bvae" / "numerics.py"
    source = numerics.read_text()
    numerics.write_text(source.replace(f"VERSION = {VERSION}\n", f"VERSION = {VERSION + 1}\n"))
    try:
        counts = job_counts(snakemake(tiny, "-n", "--configfile", ".test/config.yaml").stdout)
    finally:
        numerics.write_text(source)
    trainings = sum(n for rule, n in counts.items() if rule.startswith("train_"))
    assert trainings == 2 * (2 * 2 * 2 + 2 * 2 * 1)  # 2 protocols; deep: a job per seed; canonical: one per stack
    assert counts["simulate_dataset"] == 2 and {"runs_table", "loss_development", "bounds"} <= set(counts)


def test_full_study_dry_run_lists_3600_trainings(tmp_path):
    workdir = copy_workflow(tmp_path)
    run = snakemake(workdir, "-n", "--quiet", "rules")
    assert run.returncode == 0, run.stderr[-2000:]
    counts = job_counts(run.stdout)
    assert sum(n for rule, n in counts.items() if rule.startswith("train_")) == 3600
    assert counts["simulate_dataset"] == 9


def test_bad_config_value_stops_before_any_job(tmp_path):
    workdir = copy_workflow(tmp_path)
    run = snakemake(workdir, "-n", "--config", "seeds=0")
    assert (
        run.returncode != 0 and run.stderr.splitlines()[-1] == "bvae: config error: seeds = 0; expected an integer >= 1"
    )
    assert not (workdir / "results").exists()


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("configs"))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("epoch: 5\n", "epoch: unknown key; did you mean 'epochs'?"),  # once line 5 of 198 lines of schema
        ("epochs: 2.0\n", "epochs = 2.0; expected an integer (write 2, not 2.0)"),  # JSON Schema calls 2.0 an integer
        ("datasets: {d: [24], N: [100], replicates: 0}\n", "datasets.replicates = 0; expected an integer >= 1"),
        ("epochs: 3\nepochs: 4\n", "epochs: given twice in {dir}/bad.yaml (lines 1 and 2); expected each key"),
        ("protocols: {comparison.md: {}}\n", "protocols: name 'comparison.md' is not allowed; expected a letter"),
    ],
)
def test_a_config_error_is_one_line_and_the_last(workflow_copy, config, message):
    """Every config error stops the run before the first job, in one line naming the key, printed last."""
    (workflow_copy / "bad.yaml").write_text(config)
    run = snakemake(workflow_copy, "-n", "--configfile", ".test/config.yaml", "bad.yaml")
    message = message.format(dir=workflow_copy)
    assert run.returncode != 0 and run.stderr.splitlines()[-1].startswith(f"bvae: config error: {message}")
    assert len(run.stdout.splitlines() + run.stderr.splitlines()) <= 3, run.stdout + run.stderr
    assert not (workflow_copy / "results").exists()


def test_a_setting_that_does_not_change_results_reruns_nothing(tmp_path):
    """checkpoint_every changes no number, so changing it retrains nothing (it once retrained everything). (Not on
    `tiny`: other tests edit its code.)"""
    workdir = copy_workflow(tmp_path)
    target = "results/test/runs/spec/d24_N100/deep/vanilla/seed0/final.parquet"
    run = snakemake(workdir, "--cores", "1", target, "--configfile", ".test/config.yaml")
    assert run.returncode == 0, run.stderr[-2000:]
    dry = [target, "-n", "--configfile", ".test/config.yaml", "--config"]
    run = snakemake(workdir, *dry, "checkpoint_every=1")
    assert run.returncode == 0 and "Nothing to be done" in run.stdout + run.stderr, run.stdout[-2000:]
    assert job_counts(snakemake(workdir, *dry, "epochs=4").stdout) == {"train_deep": 1}  # a setting that does


def test_two_runs_never_write_one_results_root(tmp_path):
    """Two checkouts writing one absolute results root: the second stops before its first job (both once trained
    everything)."""
    shared = tmp_path / "shared"
    first, second = tmp_path / "first", tmp_path / "second"
    for workdir in (first, second):
        workdir.mkdir()
        copy_workflow(workdir)
    config = ["--configfile", ".test/config.yaml", "--config", f"results={shared}", "epochs=100000"]
    target = f"{shared}/runs/spec/d24_N100/deep/vanilla/seed0/final.parquet"
    env = {**os.environ, "PYTHONPATH": str(first / "src")}
    holder = subprocess.Popen([*SNAKEMAKE, "--cores", "1", target, *config], cwd=first, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (shared / ".bvae.lock").exists() or not (shared / ".bvae.lock").read_text():
            assert time.monotonic() < deadline and holder.poll() is None, "the first run did not start"
            time.sleep(0.1)
        run = snakemake(second, "--cores", "1", target, *config)
        assert holder.poll() is None, "the first run ended before the second one was refused"
    finally:
        os.killpg(holder.pid, signal.SIGTERM)  # Snakemake and its training job (SIGINT may be ignored in background)
        try:
            holder.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait()
    last = run.stderr.splitlines()[-1]
    assert run.returncode != 0 and last.startswith(f"bvae: error: {shared}: another run is writing this output root")
    assert f"(pid {holder.pid} on " in last and f" in {first}); wait until it ends" in last
    started = [
        line for line in run.stdout.splitlines() + run.stderr.splitlines() if line.startswith(("rule ", "localrule "))
    ]
    assert not started  # stopped before its first job


def test_user_file_flows_through_the_same_rules(tmp_path):
    workdir = copy_workflow(tmp_path)
    rng = np.random.default_rng(3)
    pd.DataFrame((rng.random((120, 24)) < 0.3).astype(int)).to_csv(workdir / "mine.csv", index=False)
    (workdir / "mine.yaml").write_text("files: [{name: mine, path: mine.csv, test_fraction: 0.25, seed: 1}]\n")
    config = ["--configfile", ".test/config.yaml", "mine.yaml"]
    counts = job_counts(snakemake(workdir, "-n", *config).stdout)
    assert counts["import_dataset"] == 1 and counts["loss_development"] == 2 * 3 * 2  # protocols x datasets x archs
    assert sum(n for rule, n in counts.items() if rule.startswith("train_")) == 2 * 3 * (2 * 2 + 2 * 1)
    run = snakemake(workdir, "results/test/bounds/bounds.parquet", "--cores", "2", *config)
    assert run.returncode == 0, run.stderr[-2000:]
    bounds = pd.read_parquet(workdir / "results" / "test" / "bounds" / "bounds.parquet").set_index("dataset")
    assert bounds.loc["mine", ["d", "N", "n_test"]].tolist() == [24, 120, 30]
    assert bounds.loc["mine", ["nll_true_train", "nll_true_test"]].isna().all()  # no generating model
    assert bounds.loc[["d24_N100", "d24_N400"], ["nll_true_train", "nll_true_test"]].notna().all().all()
    # The content decides, not the time: a file replaced by other data with an older time is new.
    before = (workdir / "mine.csv").stat().st_mtime - 3600
    pd.DataFrame((rng.random((120, 24)) < 0.3).astype(int)).to_csv(workdir / "mine.csv", index=False)
    os.utime(workdir / "mine.csv", (before, before))
    counts = job_counts(snakemake(workdir, "-n", "results/test/bounds/bounds.parquet", *config).stdout)
    assert counts == {"import_dataset": 1, "bounds": 1}


def test_each_protocol_trains_and_tabulates_apart(tiny):
    results = tiny / "results" / "test"
    runs = {p: pd.read_parquet(results / "tables" / p / "runs.parquet") for p in ("spec", "fast")}
    assert (runs["spec"]["lr"] == 0.001).all() and (runs["fast"]["lr"] == 0.01).all()
    assert runs["spec"]["init_output"].isna().all()
    fast_init = runs["fast"].groupby("arch")["init_output"].unique()  # the protocol's canonical-only override
    assert fast_init["canonical"].tolist() == ["glorot_uniform"] and fast_init["deep"].isna().all()
    assert (runs["fast"]["protocol"] == "fast").all() and len(runs["fast"]) == len(runs["spec"])
    for p in runs:
        assert (results / "figures" / p / "loss_d24_N400_deep.png").exists()
    text = (results / "tables" / "comparison.md").read_text()  # d = 24 is not in the paper
    assert "Not in the paper, so not compared: d24_N100, d24_N400." in text
    assert pd.read_parquet(results / "tables" / "comparison.parquet").empty
    assert (results / "figures" / "comparison.png").exists()
    claims = pd.read_parquet(results / "tables" / "claims.parquet")  # 2 seeds < min_seeds: nothing decided
    assert set(claims["protocol"]) == {"spec", "fast", "data"} and set(claims["claim"]) == set(range(1, 9))
    assert (claims.loc[claims["protocol"] != "data", "verdict"] == "undecided").all()
    assert "no `published` rows" in (results / "tables" / "claims.md").read_text()
    assert (results / "figures" / "claims.png").stat().st_size > 10_000


def test_studies_with_their_own_roots_do_not_touch_each_other(tiny):
    """After the tiny study, the full study (root results/) still has everything to do and nothing to redo."""
    run = snakemake(tiny, "-n", "--quiet", "rules")
    counts = job_counts(run.stdout)
    assert counts["simulate_dataset"] == 9 and counts["bounds"] == 1, run.stdout[-2000:]
    assert not list((tiny / "results").glob("bounds"))  # the tiny study wrote only under results/test
