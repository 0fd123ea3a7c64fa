"""How faithfully a study reproduces the paper, by three criteria side by side (method §8, "Fidelity").

- `range`: a `[min; max]` cell agrees when ours overlaps the paper's (`bvae.report.comparison`);
- `mean`: a `mean ± std` cell agrees when our mean lies within two of the paper's standard deviations;
- `collapse`: a deep cell at N ≥ 5000 agrees when our seeds collapse as the paper's published training range says
  its seeds did (`collapse_pattern`).

Ranges are the most lenient: with our few seeds against the paper's 100 an overlap passes a shift of two of the
paper's standard deviations almost always. The collapse pattern is the mechanism behind the deep networks' numbers
at N ≥ 5000, where a collapsed model and a trained one can both land inside a wide range.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bvae.report.comparison import MEAN_SIGMAS, RUN_KEYS, paper_tables, with_draws
from bvae.report.document import Block, Heading, Paragraph, Table

# A code that carries less than this about x (nats, summed over the latent units, on the test split) has collapsed:
# trained codes here carry 0.4 to 1.2 nats, collapsed ones 0.04 and less, at the column-means model's loss.
COLLAPSED_KL = 0.1
# pct points below the collapsed level at which a published training range starts to reach it: 3 times the largest
# sd of that level over data draws (0.008 at d200_N5000; 0.001 to 0.008 over the paper's N ≥ 5000 datasets,
# `python -m bench.collapse_level`), since the paper's draw is not ours. Within a cell collapsed seeds lie within
# 0.001 of each other; one-unit models sit 0.03 to 0.13 points lower (the κ = 1 bound).
COLLAPSE_MARGIN = 0.025
PAPER_TRAIN_RANGE = "table2_deep_train_range"
VARIANT_COLUMNS = {"vanilla": ("vae_a", "vae_b"), "preinit": ("preinit_a", "preinit_b")}
DECIDING = ("none", "all")  # what a published range can decide; "some" admits any share of our few seeds
CRITERIA = ("range", "mean", "collapse")
KEYS = ["protocol", "criterion", "arch", "N"]  # a row of fidelity.parquet
AGREEING = (  # the one definition that README's answer, the report's landing page and the comparison give
    f"A published cell agrees if our [min; max] overlaps its range or our mean lies within {MEAN_SIGMAS} of its sd "
    "(+ rounding) of its mean; the collapse pattern if a deep training range at N ≥ 5000 rules collapse in or out and "
    "our seeds follow."
)


def collapse_epochs(histories: pd.DataFrame) -> pd.DataFrame:
    """Per run, two readings of when its code collapsed on the test split, for good (NaN: it did not by its end):

    - `collapse_epoch`: the first epoch from which the test KL stays below COLLAPSED_KL nats. The loss of such a run
      sits at the column-means model's (the decoder ignores z), while the active units of method §6 can still count
      a unit whose posterior mean varies by a little more than 0.01 over the test rows and carries nothing;
    - `active_lost_epoch`: the first epoch from which no unit is active on the test split (method §6's measure).
    """
    histories = histories.sort_values([*RUN_KEYS, "epoch"])
    keys = [histories[k] for k in RUN_KEYS]

    def lost_for_good(carries: pd.Series) -> pd.Series:
        last = histories["epoch"].where(carries).groupby(keys).max()  # NaN: never carried anything
        return (last.fillna(0) + 1).where(~carries.groupby(keys).last())

    lost = {
        "collapse_epoch": lost_for_good(histories["test_kl"] >= COLLAPSED_KL),
        "active_lost_epoch": lost_for_good(histories["test_active_units"] > 0),
    }
    return pd.DataFrame(lost).reset_index()


def deep_runs(runs: pd.DataFrame, histories: pd.DataFrame) -> pd.DataFrame:
    """The deep runs at N ≥ 5000, where the paper's ranges speak about collapse, with their `collapse_epochs`."""
    runs = runs.merge(collapse_epochs(histories), on=RUN_KEYS)
    return runs[(runs["arch"] == "deep") & (runs["N"] >= 5000)]


def collapsed_levels(deep_runs: pd.DataFrame) -> pd.DataFrame:
    """Per (d, N): the lowest final pct_train of a collapsed seed (`collapse_epoch` set), over every protocol and
    variant of the study on the first data draw: the level a published training range reaches when a seed of the
    paper collapsed."""
    first = first_draw(deep_runs)
    collapsed = first[first["collapse_epoch"].notna()]
    return collapsed.groupby(["d", "N"])["pct_train"].min().rename("level").reset_index()


def paper_collapse(deep_runs: pd.DataFrame, paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """What the paper's deep training ranges at N ≥ 5000 imply about collapse, per (d, N) and variant, read against
    the collapsed level measured on our own seeds (`collapsed_levels`, less COLLAPSE_MARGIN): a range below it
    excludes collapse (`none`), one reaching it admits `some`, one wholly at or above it requires it (`all`); a
    dataset on which none of our seeds collapsed has no measured level (`unmeasured`)."""
    paper = paper_tables() if paper is None else paper
    cells = paper[(paper["table"] == PAPER_TRAIN_RANGE) & (paper["N"] >= 5000)]
    cells = cells.merge(collapsed_levels(deep_runs), on=["d", "N"], how="left")
    parts = []
    for variant, (a, b) in VARIANT_COLUMNS.items():
        threshold = cells["level"] - COLLAPSE_MARGIN
        implied = np.select(
            [threshold.isna(), cells[b] < threshold, cells[a] >= threshold], ["unmeasured", "none", "all"], "some"
        )
        part = cells[["d", "N", "level"]].assign(variant=variant, paper_a=cells[a], paper_b=cells[b])
        parts.append(part.assign(threshold=threshold, collapsed=implied))
    return pd.concat(parts, ignore_index=True)


def collapse_pattern(deep_runs: pd.DataFrame, paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per protocol, deep cell at N ≥ 5000 and variant: our seeds and collapsed seeds beside what the paper's range
    implies (`paper_collapse`); `agree` where the paper's range decides (none collapsed, or all) and ours match it,
    NA where it admits some or has no measured level (not compared)."""
    first = first_draw(deep_runs)
    cells = first.assign(collapsed=first["collapse_epoch"].notna()).groupby(["protocol", "d", "N", "variant"])[
        "collapsed"
    ]
    ours = cells.agg(collapsed_seeds="sum", seeds="size").reset_index()
    table = ours.merge(paper_collapse(deep_runs, paper), on=["d", "N", "variant"])
    share = table["collapsed_seeds"] / table["seeds"]
    decided = table["collapsed"].isin(DECIDING)
    matches = np.where(table["collapsed"] == "none", share == 0, share == 1)
    table["agree"] = pd.array(np.where(decided, matches, pd.NA), dtype="boolean")
    return table.sort_values(["protocol", "d", "N", "variant"]).reset_index(drop=True)


def first_draw(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs on the first draw of their dataset, the draw the paper's cells are compared with."""
    drawn = with_draws(runs)
    return drawn[drawn["replicate"] == 0]


def fidelity_table(comparison: pd.DataFrame, pattern: pd.DataFrame) -> pd.DataFrame:
    """fidelity.parquet: cells agreeing and compared per protocol, criterion (range, mean, collapse), architecture
    and N; the collapse rows count only the cells whose published range decides. `drawn`: compared cells whose
    spread over replicate data draws was measured; `explained_by_draw`: cells that do not agree by less than two of
    those spreads (the data draw alone could move them so far)."""
    if comparison.empty:  # a study of other datasets than the paper's: no published cell compared
        comparison = pd.DataFrame(columns=[*KEYS, "agree", "draw_std", "within_draw_spread"]).astype({"agree": bool})
    cells = comparison[["protocol", "criterion", "arch", "N", "agree"]].assign(
        drawn=comparison["draw_std"].notna(),
        explained_by_draw=~comparison["agree"] & comparison["within_draw_spread"].fillna(False).astype(bool),
    )
    decided = pattern[pattern["agree"].notna()].astype({"agree": bool})
    collapse = decided.assign(criterion="collapse", arch="deep", drawn=False, explained_by_draw=False)
    rows = pd.concat([cells, collapse[cells.columns]], ignore_index=True)
    table = rows.groupby(["protocol", "criterion", "arch", "N"]).agg(
        agreeing=("agree", "sum"), compared=("agree", "size"), drawn=("drawn", "sum"),
        explained_by_draw=("explained_by_draw", "sum"),
    )  # fmt: skip
    table = table.reset_index().astype({"agreeing": int, "compared": int, "drawn": int, "explained_by_draw": int})
    order = {name: i for i, name in enumerate(CRITERIA)}
    return table.sort_values(["protocol", "criterion", "arch", "N"], key=_criteria_first(order)).reset_index(drop=True)


def _criteria_first(order: dict[str, int]):
    """Sort key: criteria in CRITERIA's order, deep before canonical, the rest as they are."""

    def key(column: pd.Series) -> pd.Series:
        if column.name == "criterion":
            return column.map(order)
        return column.map({"deep": 0, "canonical": 1}) if column.name == "arch" else column

    return key


def fidelity_document(fidelity: pd.DataFrame, pattern: pd.DataFrame) -> list[Block]:
    """The three criteria side by side per protocol, then the collapse pattern cell by cell (nothing where nothing
    was compared: the comparison says so)."""
    if fidelity.empty and pattern.empty:
        return []
    counts = tuple(
        (f"`{r.protocol}`", r.criterion, r.arch, str(r.N), f"{r.agreeing} of {r.compared}",
         f"{r.explained_by_draw} of {r.drawn}" if r.drawn else "–")
        for r in fidelity.itertuples()
    )  # fmt: skip
    cells = tuple(
        (f"`{r.protocol}`", f"d{r.d}_N{r.N}", r.variant, f"[{r.paper_a:.2f}; {r.paper_b:.2f}]", _level(r.level),
         r.collapsed, f"{r.collapsed_seeds}/{r.seeds}", _agreement(r.agree))
        for r in pattern.itertuples()
    )  # fmt: skip
    return [
        Heading("Fidelity: three criteria", 2),
        Paragraph(f"{AGREEING} The collapse rows count only the cells whose published range decides."),
        Paragraph(
            "*explained by the draw*: of the cells whose spread over replicate data draws was measured, those that do "
            "not agree but lie within two of those spreads of the paper's (another draw of the same data could move "
            "them so far)."
        ),
        Table(
            ("protocol", "criterion", "network", "N", "agreeing", "explained by the draw"),
            counts,
            (False, False, False, True, True, True),
        ),
        Heading("Collapse pattern", 2),
        Paragraph(
            f"Collapsed: test KL below {COLLAPSED_KL} nats to the end. Level: the lowest training pct of our collapsed "
            f"seeds on the dataset; the paper's training range excludes collapse (none) when it lies below the level "
            f"less {COLLAPSE_MARGIN} points, requires it (all) when it lies wholly above, admits some otherwise."
        ),
        Table(
            ("protocol", "dataset", "variant", "published train", "level", "published implies", "ours", "agree"),
            cells,
            (False, False, False, True, True, False, True, False),
        ),
    ]


def _level(level: float) -> str:
    return "–" if pd.isna(level) else f"{level:+.3f}"


def _agreement(agree) -> str:
    return "not decided" if pd.isna(agree) else ("✓ yes" if agree else "✗ no")
