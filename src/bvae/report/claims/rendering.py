"""The claims report as Markdown: how to read it, the verdict matrix, what the verdicts rest on (with the caveat for
settings that decide nothing about the paper), the claims the paper's own tables contradict, then every claim."""

from __future__ import annotations

import json

import pandas as pd

from bvae.model.architectures import ARCHITECTURES
from bvae.model.protocols import PROTOCOLS
from bvae.report.claims.cells import PUBLISHED, Thresholds
from bvae.report.claims.criteria import CLAIMS, FAILS, HOLDS, NOT_PUBLISHED, UNDECIDED
from bvae.report.tables import PAPER_SEEDS, seeds_text, training_text
from bvae.study.plan import protocol_settings

MARKS = {HOLDS: "✓", FAILS: "✗", UNDECIDED: "?"}  # verdicts as the report shows them, to be scanned


def _mark(verdict: str) -> str:
    return f"{MARKS[verdict]} {verdict}"


def _verdict_matrix(table: pd.DataFrame) -> list[str]:
    """Markdown lines: one row per protocol, one column per claim (numbered, with a key), the verdict over all units
    ('–': the protocol has no row for the claim)."""
    overall = table[table["level"] == "all"]
    claims = sorted(CLAIMS)
    lines = ["| protocol | " + " | ".join(f"claim {c}" for c in claims) + " |"]
    lines.append("|---|" + "---|" * len(claims))
    for protocol in overall["protocol"].unique():
        got = overall[overall["protocol"] == protocol].set_index("claim")["verdict"]
        lines.append(f"| {protocol} | " + " | ".join(_mark(got[c]) if c in got else "–" for c in claims) + " |")
    key = "; ".join(f"{c} {CLAIMS[c][0].lower()}" for c in claims)
    return [*lines, "", f"Claims: {key}. Each claim's section below gives the reason of every undecided verdict."]


def _least_shipped_settings(protocols: dict) -> dict[str, dict]:
    """Per architecture, the fewest epochs and the narrowest hidden width of `protocols` (name -> overrides)."""
    resolved = [protocol_settings({"protocols": protocols}, name, arch) | {"arch": arch}
                for name in protocols for arch in ARCHITECTURES]  # fmt: skip
    return {arch: {"epochs": min(r["epochs"] for r in resolved if r["arch"] == arch),
                   "hidden": min(min(r["hidden"]) for r in resolved if r["arch"] == arch)}
            for arch in ARCHITECTURES}  # fmt: skip


def describe_reduction(runs: pd.DataFrame) -> str:
    """For one protocol's runs: "shorter", "narrower", both joined, or "" when it trains at least as long and as wide
    as some protocol the project ships for the paper (`study_settings`) on every architecture it ran."""
    least = _least_shipped_settings(PROTOCOLS)
    short = any(runs.loc[runs["arch"] == a, "epochs"].min() < least[a]["epochs"] for a in runs["arch"].unique())
    widths = runs.loc[runs["arch"] == "deep", "hidden"].unique()
    narrow = any(min(json.loads(h)) < least["deep"]["hidden"] for h in widths)
    return " and ".join(word for word, flag in (("shorter", short), ("narrower", narrow)) if flag)


def describe_caveat(what: str) -> str:
    """The caveat of a protocol that `describe_reduction` finds shorter or narrower, with the shipped protocols' least
    settings."""
    ours = "; ".join(f"{a} {v['epochs']} epochs" + (f", hidden width {v['hidden']}" if a == "deep" else "")
                     for a, v in _least_shipped_settings(PROTOCOLS).items())  # fmt: skip
    return (f"Trained {what} than any protocol the project ships for the paper ({ours}): its verdicts describe these "
            "settings and decide nothing about the paper.")  # fmt: skip


def _training_note(runs: pd.DataFrame) -> list[str]:
    """Markdown lines: per protocol what its verdicts rest on (epochs, deep hidden widths, seeds per cell), and for a
    protocol that trains shorter or narrower than every protocol the project ships, that it decides nothing about
    the paper."""
    lines = []
    for protocol, part in runs.groupby("protocol", sort=False):
        n = part.groupby(["arch", "dataset", "variant"]).size()
        said = "; ".join(f"{a} {training_text(part, a)}" for a in part["arch"].unique())
        line = f"- `{protocol}`: {said}; {seeds_text(n)} (the paper: {PAPER_SEEDS})."
        if what := describe_reduction(part):
            line += f" **{describe_caveat(what)}**"
        lines.append(line)
    return ["## What the verdicts rest on", "", *lines, ""]


def _list_contradictions(table: pd.DataFrame) -> list[str]:
    """Markdown lines naming every claim that the paper's own cells contradict."""
    failed = table[(table["protocol"] == PUBLISHED) & (table["level"] == "all") & (table["verdict"] == FAILS)]
    lines = []
    for _, row in failed.iterrows():
        lines.append(f"- **Claim {row['claim']} ({row['title']}) fails on the paper's own tables**: {row['numbers']}.")
    return lines


def claims_markdown(table: pd.DataFrame, thresholds: Thresholds | None = None, runs: pd.DataFrame | None = None) -> str:
    """The report: how to read it, the verdicts per protocol, what they rest on (with `runs`, the runs tables), the
    paper's contradicted claims, then every claim."""
    t = thresholds or Thresholds()
    lines = [
        "# Does the paper hold? Its claims, decided from data",
        "",
        "Each claim of Sicks, Korn & Schwaar (2020) is a check with a stated criterion, evaluated on every protocol of",
        "this study and, as protocol `published`, on the paper's own table cells (100 seeds each, printed to two",
        "decimals) for the datasets and architectures this study covers; protocol `data` holds the claims about the",
        "datasets themselves. Verdicts: **holds**, **fails**, or **undecided** with its reason (too few seeds, missing",
        "cells, neither variant reaches the region, a margin inside the noise). All numbers are pct = 100 (loss −",
        "bound) / bound unless said otherwise; simulated datasets count on their first draw.",
        "",
        f"Noise rule: a difference of seed means is decided beyond {t.noise_se:g} standard errors, as the Student-t "
        f"quantile of the same one-sided level at the Welch degrees of freedom (the `decided beyond` figure in each "
        f"row), plus the worst-case rounding of printed cells; cells with fewer than {t.min_seeds} seeds stay "
        f"undecided. Bound regions: training loss ≤ bound·(1 + {t.region_pct_train:g} %), test loss ≤ "
        f"bound·(1 + {t.region_pct_test:g} %). Claim 2: comparable within {t.comparable_pct:g} points; claim 6: the "
        f"bound robust within {t.bound_robust_pct:g} %. (Config key `claims:`.)",
        "",
        "## Verdicts over all datasets and both architectures",
        "",
        *_verdict_matrix(table),
        "",
        *(_training_note(runs) if runs is not None else []),
    ]
    found = _list_contradictions(table)
    if found:
        lines += ["## What the paper's own tables contradict", "", *found, ""]
    elif PUBLISHED not in set(table["protocol"]):
        lines += ["No dataset of this study is in the paper's tables: no `published` rows.", ""]
    for claim, part in table.groupby("claim", sort=True):
        title, statement = CLAIMS[claim]
        units = part[part["level"] == "dataset"]
        lines += [f"## Claim {claim}: {title}", "", f"*The paper:* {statement}", ""]
        for criterion in units["criterion"].unique():
            lines.append(f"*Criterion:* {criterion}.  ")
        over = part[(part["level"] != "dataset") & (part["reason"] != NOT_PUBLISHED)]["criterion"]
        lines += [
            *([f"*Over datasets:* {over.iloc[0]}."] if len(over) else []),
            "",
            "| protocol | arch | dataset | split | verdict | reason | numbers | seeds |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for _, row in part.iterrows():
            arch = row["arch"] or ("all" if row["level"] != "dataset" or row["claim"] == 7 else "")
            dataset = row["dataset"] or ("all" if row["level"] != "dataset" else "")
            verdict = _mark(row["verdict"])
            verdict = f"**{verdict}**" if row["level"] != "dataset" else verdict
            lines.append(f"| {row['protocol']} | {arch} | {dataset} | {row['split']} | {verdict} | {row['reason']} | "
                         f"{row['numbers']} | {row['seeds']} |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)
