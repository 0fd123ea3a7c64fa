"""What reruns a rule of seconds (`bvae.study.fingerprint`), end to end on the tiny study: a data file its code
reads reruns it, a moved module reruns nothing."""

from tests.conftest import job_counts, snakemake

PAPER = "src/bvae/report/paper/paper_tables.csv"


def dry_run(workdir) -> dict[str, int]:
    run = snakemake(workdir, "-n", "--configfile", ".test/config.yaml")
    assert run.returncode == 0, run.stderr[-2000:]
    return job_counts(run.stdout)


def test_a_changed_published_cell_reruns_the_rules_that_read_it(tiny):
    path = tiny / PAPER
    cells = path.read_text()
    assert cells.count("139.34,5.66,") == 1  # table 1, deep, d200_N100 test: the lowest preinit
    path.write_text(cells.replace("139.34,5.66,", "139.34,5.67,"))
    try:
        rerun = set(dry_run(tiny))
    finally:
        path.write_text(cells)
    assert {"comparison", "claims"} <= rerun and not {rule for rule in rerun if rule.startswith(("train_", "simul"))}


def test_a_moved_report_module_reruns_nothing(tiny):
    """Fingerprints count a module by its content, linked to what it imports, not by its name."""
    old, new = "bvae.report.evidence", "bvae.report.noise"
    sources = {path: path.read_text() for path in (tiny / "src").rglob("*.py")}
    importers = {path: text for path, text in sources.items() if old in text}
    assert len(importers) > 1  # the claims' modules import it
    (tiny / "src/bvae/report/evidence.py").rename(tiny / "src/bvae/report/noise.py")
    for path, text in importers.items():
        path.write_text(text.replace(old, new))
    try:
        counts = dry_run(tiny)
    finally:
        (tiny / "src/bvae/report/noise.py").rename(tiny / "src/bvae/report/evidence.py")
        for path, text in importers.items():
            path.write_text(text)
    assert counts == {}
