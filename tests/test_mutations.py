"""The numerics guard is as strong as the study: a mutation test of the golden record and the rules' fingerprints.

Each edit below is made to a copy of the package and the workflow scripts, and the copy is checked in a process of
its own that imports the copy's package (tests/mutants.py). An edit that changes a number a dataset or a training
writes must fail the golden check (`python -m bvae.training.golden --check`): trainings are keyed on
`bvae.numerics.VERSION`, so an edit the golden misses would reuse stale records. An edit that changes what a rule of
seconds reads (its code or a data file) must change that rule's fingerprint. An edit that changes no number (a
docstring, a comment, a renamed variable, a moved module) must pass the golden check and leave every rule's
fingerprint, so that nothing reruns.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

RECORD = ROOT / "tests" / "golden" / "numerics.json"


@dataclass(frozen=True)
class Edit:
    what: str  # what the edit changes, for the table
    path: str  # the file, relative to the project's root
    old: str  # text that occurs exactly once in it
    new: str


@dataclass(frozen=True)
class Move:
    what: str
    old: str  # a module's dotted name
    new: str


NETWORKS, TRAIN, KERNELS = "src/bvae/training/networks.py", "src/bvae/training/train.py", "src/bvae/training/kernels.py"
BOUND, BINARY, SIMULATE = "src/bvae/model/bound.py", "src/bvae/data/binary.py", "src/bvae/data/simulate.py"

NUMBERS = {  # category -> edits that change numbers a dataset or a training writes
    "data": [
        Edit("loadings 1/block, not 1/√block", SIMULATE, "= 1 / np.sqrt(block)", "= 1 / block"),
        Edit("the replicate draws' stream", SIMULATE, "([settings.replicate] if", "([settings.replicate, 1] if"),
        Edit("the split's seed stream", SIMULATE, "int(rng.integers(2**63))", "int(rng.integers(2**62))"),
        Edit("the split's rounding half up", BINARY, "int(round(test_fraction * n))", "int(test_fraction * n + 0.5)"),
        Edit("the digits' threshold > 8", "src/bvae/data/examples.py", "(pixels >= threshold)", "(pixels > threshold)"),
        Edit("an .npz's train/test boundary", BINARY, ">= given[0]", "> given[0]"),
        Edit("a user file's split seed", BINARY, "test_fraction, seed)\n", "test_fraction, seed + 1)\n"),
        Edit(
            "dataset file rows test first",
            BINARY,
            "np.vstack([data.train, data.test])",
            "np.vstack([data.test, data.train])",
        ),
    ],
    "bound": [
        Edit("covariance ddof 0", BOUND, "centred / (xt.shape[0] - 1)", "centred / xt.shape[0]"),
        Edit(
            "strict test bound at the test mean",
            BOUND,
            "_scatter_about(xt_test, b))",
            "_scatter_about(xt_test, xt_test.mean(axis=0)))",
        ),
        Edit(
            "Σ_z without the noise variance",
            BOUND,
            "sigma_z=NOISE_VAR * np.diag(precision)",
            "sigma_z=np.diag(precision)",
        ),
        Edit("closed form without the +1", BOUND, "np.log(lam[kept]) + 1.0", "np.log(lam[kept])"),
    ],
    "training": [
        Edit(
            "Glorot-uniform limit √(3/(in+out))",
            NETWORKS,
            "sqrt(6 / (fan_in + fan_out))",
            "sqrt(3 / (fan_in + fan_out))",
        ),
        Edit("He-uniform limit by fan_out", NETWORKS, "math.sqrt(6 / fan_in) if", "math.sqrt(6 / fan_out) if"),
        Edit(
            "He-normal std √(1/fan_in)",
            NETWORKS,
            "generator) * math.sqrt(2 / fan_in)",
            "generator) * math.sqrt(1 / fan_in)",
        ),
        Edit("He truncated at 3 std", NETWORKS, "a=-2 * std, b=2 * std", "a=-3 * std, b=3 * std"),
        Edit("init_bias: scheme fan = size", NETWORKS, "fan = math.sqrt(size)", "fan = size"),
        Edit(
            "decoder drawn with the output's scheme", NETWORKS, 'schemes["decoder"], bias)', 'schemes["output"], bias)'
        ),
        Edit("kl_reduction: mean weight 1/(κ+1)", NETWORKS, "1 / settings.latent_dim", "1 / (settings.latent_dim + 1)"),
        Edit("reparameterisation σ = exp(log σ²)", NETWORKS, "torch.exp(0.5 * logvar))", "torch.exp(logvar))"),
        Edit("preinit μ head 2M, not 4M", NETWORKS, "4 * bound.M.T[:used]", "2 * bound.M.T[:used]"),
        Edit("preinit log σ² halved", NETWORKS, "as_tensor(bound.log_sigma_z)", "as_tensor(bound.log_sigma_z / 2)"),
        Edit(
            "last partial batch dropped", TRAIN, "range(0, n, batch_size)", "range(0, n - batch_size + 1, batch_size)"
        ),
        Edit("last partial batch weighted fully", TRAIN, "loss.detach() * idx.shape[1]", "loss.detach() * batch_size"),
        Edit("no reshuffle per epoch", TRAIN, "torch.randperm(n, generator=g)", "torch.arange(n)"),
        Edit("init and run streams swapped", TRAIN, "init_state, run_state = np", "run_state, init_state = np"),
        Edit(
            "one Monte Carlo draw in the final pass",
            TRAIN,
            "x_train, run_gens, settings.mc_samples)",
            "x_train, run_gens)",
        ),
        Edit("deep decoder not mirrored", "src/bvae/model/architectures.py", "*reversed(hidden))", "*hidden)"),
        Edit(
            "numpy kernel rounds to fp16",
            KERNELS,
            "b.detach().numpy()))",
            "b.detach().numpy()).astype(np.float16).astype(np.float32))",
        ),
        Edit("stacked kernel: every seed seed 0's weights", KERNELS, "mm(a_s, b_s) for", "mm(a_s, b[0]) for"),
        Edit("oneDNN kernel with a ReLU", KERNELS, 'None, "none", [], "")', 'None, "relu", [], "")'),
        Edit("bf16 operands not rounded", KERNELS, "return ROUND[kernel](t) if kernel in ROUND else t", "return t"),
    ],
    "evaluation": [
        Edit("μ variance of the last chunk only", TRAIN, "mu = torch.cat(mus, dim=1)", "mu = mus[-1]"),
        Edit("KL of the last chunk only", TRAIN, "kl += kl_row.sum(1)", "kl = kl_row.sum(1)"),
        Edit("μ variance with ddof 1", TRAIN, "mu.var(1, correction=0)", "mu.var(1, correction=1)"),
    ],
    "metrics": [
        Edit("active-unit threshold 0.02", TRAIN, "ACTIVE_VAR = 0.01", "ACTIVE_VAR = 0.02"),
        Edit("active when variance >= threshold", TRAIN, "mu_var > ACTIVE_VAR", "mu_var >= ACTIVE_VAR"),
        Edit("epochs_to_1pct at 2 %", TRAIN, "1.01 * bound.bound_train", "1.02 * bound.bound_train"),
        Edit("first epoch below, not at or below", TRAIN, "if value <= limit", "if value < limit"),
        Edit(
            "epochs_to_bound on the test loss",
            TRAIN,
            '(hist["train_loss"].tolist(), bound.bound_train)',
            '(hist["test_loss"].tolist(), bound.bound_train)',
        ),
        Edit(
            "pct_train over the test bound",
            TRAIN,
            "bound.bound_train) / bound.bound_train",
            "bound.bound_train) / bound.bound_test",
        ),
        Edit("final KL of the test split", TRAIN, 'float(final_train["kl"][i])', 'float(final_test["kl"][i])'),
        Edit(
            "recorded test bound the strict one",
            TRAIN,
            '"bound_test": bound.bound_test,',
            '"bound_test": bound.bound_test_strict,',
        ),
        Edit(
            "recorded data digest test first",
            BINARY,
            "data.train.tobytes() + data.test.tobytes()",
            "data.test.tobytes() + data.train.tobytes()",
        ),
    ],
}

RULES = {  # edits of what rules of seconds read -> the scripts whose fingerprints must change
    Edit("a published cell of the paper", "src/bvae/report/paper/paper_tables.csv", "139.34,5.66", "139.34,5.67"): {
        "claims.py",
        "comparison.py",
    },
    Edit("the Marchenko–Pastur edge", "src/bvae/model/decision.py", "np.sqrt(d / n)) ** 2", "np.sqrt(d / n)) ** 3"): {
        "bounds.py",
        "loss_development.py",  # the figures mark the edge
        "scree.py",
        "theory_figures.py",
    },
}

NOTHING = [  # edits that change no number: nothing may rerun
    Edit("a docstring of the training loop", TRAIN, '"""Training (method §6)', '"""Training, edited (method §6)'),
    Edit("a comment in the networks", NETWORKS, "\nclass StackedLinear", "\n# a comment\nclass StackedLinear"),
    Edit(
        "a renamed variable of the kernels",
        KERNELS,
        "for a, b in operands:\n        product(kernel, a, b)",
        "for left, right in operands:\n        product(kernel, left, right)",
    ),
    Move("a moved training module", "bvae.training.progress", "bvae.training.epoch_progress"),
    Move("a moved report module", "bvae.report.evidence", "bvae.report.noise"),
]

RULE_FILES = "".join(path.read_text() for path in (ROOT / "workflow" / "rules").glob("*.smk"))
CHEAP_RULES = sorted(set(re.findall(r'code\("([^"]+)"\)', RULE_FILES)))  # scripts whose rules take a fingerprint
WORKERS = 2  # CI's cores


def copy(source: Path, root: Path) -> Path:
    """A copy of the package and the workflow scripts."""
    for part in ("src", "workflow"):
        shutil.copytree(source / part, root / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return root


def mutate(root: Path, edit: Edit | Move) -> None:
    """Make `edit` in the copy at `root`: a text replaced, or a module moved and every import of it rewritten."""
    if isinstance(edit, Move):
        old, new = (root / "src" / (name.replace(".", "/") + ".py") for name in (edit.old, edit.new))
        old.rename(new)
        for path in [*(root / "src").rglob("*.py"), *(root / "workflow").rglob("*.py")]:
            path.write_text(path.read_text().replace(edit.old, edit.new))
        return
    path = root / edit.path
    text = path.read_text()
    assert text.count(edit.old) == 1, f"{edit.path}: {edit.old!r} is not there exactly once; update the mutation"
    path.write_text(text.replace(edit.old, edit.new))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, dict]:
    """Every edit's outcome: what the golden check found, and which rules' fingerprints changed."""
    base = tmp_path_factory.mktemp("mutants")
    snapshot = copy(ROOT, base / "snapshot")  # one state of the checkout for every copy
    record = str(shutil.copy(RECORD, base / "numerics.json"))
    edits = [(e, "first", []) for edits in NUMBERS.values() for e in edits]
    edits += [(e, None, CHEAP_RULES) for e in RULES] + [(e, "all", CHEAP_RULES) for e in NOTHING]
    jobs = [{"root": str(snapshot), "golden": None, "rules": CHEAP_RULES, "record": record}]
    for i, (edit, golden, rules) in enumerate(edits):
        mutate(copy(snapshot, base / f"mutant{i}"), edit)
        jobs.append({"root": str(base / f"mutant{i}"), "golden": golden, "rules": rules, "record": record})
    (base / "jobs.json").write_text(json.dumps(jobs))
    done = subprocess.run([sys.executable, ROOT / "tests" / "mutants.py", base / "jobs.json", str(WORKERS)],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    found = [json.loads(Path(job["root"], "outcome.json").read_text()) for job in jobs]
    assert not [f for f in found if "error" in f], next(f["error"] for f in found if "error" in f)
    unedited = found[0]["fingerprints"]
    for f in found:
        f["rerun"] = {name for name, value in f.get("fingerprints", {}).items() if value != unedited[name]}
    return {edit.what: f for (edit, _, _), f in zip(edits, found[1:], strict=True)}


@pytest.mark.parametrize("edit", [e for edits in NUMBERS.values() for e in edits], ids=lambda e: e.what)
def test_a_number_changing_edit_fails_the_golden_check(outcomes, edit):
    assert outcomes[edit.what]["golden"], f"{edit.path}: {edit.old!r} -> {edit.new!r} passed the golden check"


@pytest.mark.parametrize("edit", list(RULES), ids=lambda e: e.what)
def test_an_edit_of_what_a_rule_reads_reruns_that_rule(outcomes, edit):
    assert outcomes[edit.what]["rerun"] == RULES[edit]


@pytest.mark.parametrize("edit", NOTHING, ids=lambda e: e.what)
def test_an_edit_that_changes_no_number_reruns_nothing(outcomes, edit):
    assert outcomes[edit.what]["golden"] == []
    assert outcomes[edit.what]["rerun"] == set()


def test_the_mutations_cover_the_studys_parts():
    """At least 25 number-changing edits, in every part of what a training's numbers come from."""
    assert sum(map(len, NUMBERS.values())) >= 25 and all(len(edits) >= 3 for edits in NUMBERS.values())
    assert {"moved" in e.what for e in NOTHING} == {True, False}
