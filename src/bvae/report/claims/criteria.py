"""The claims' criteria, one claim at a time: each `decide_*` function turns cells (or epochs, or bounds) into unit
rows, a row per dataset (or d and split) with its criterion, numbers, seeds and verdict (method §8, docs/claims.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bvae.data.simulate import loadings
from bvae.model.architectures import VARIANTS
from bvae.report.claims.cells import (
    DATA,
    PUBLISHED,
    SPLITS,
    Thresholds,
    is_simulated,
    restrict_epochs,
    select_counted,
    to_cell,
)
from bvae.report.evidence import Cell, combine, narrower, sign, within
from bvae.report.tables import PAPER_SEEDS, seeds_text

CLAIMS = {  # number -> (title, the paper's claim, paraphrased, with its sections)
    1: ("Faster convergence", "VAE preinit reaches the bound region in fewer epochs than VAE, on training and test "
        "data (paper §4 message 1, §4.3.2, §5)."),
    2: ("Vanilla gets there too", "Without the initialisation the VAE approaches the bound after a longer training; "
        "after enough epochs both reach comparable final losses (paper §4 message 2, §4.3.2)."),
    3: ("Less over-fitting", "VAE preinit is less prone to over-fitting than VAE, most visibly at N = 100 where both "
        "over-fit (paper §4 message 3, table conclusion 2)."),
    4: ("Preinit wins on test data in all but one setup", "On test data VAE preinit is better than VAE in all but one "
        "of the simulations (paper: table conclusion 1, §5; its exception: deep, d = 1000, N = 10000)."),
    5: ("Training losses reach the bound, test losses lie above it", "The final training losses reach the bound, the "
        "test losses lie above it (table conclusion 3)."),
    6: ("Tighter with more data; the bound is robust", "The [min; max] intervals narrow as N grows; the bound for a "
        "given d changes little with N (table conclusion 4)."),
    7: ("Canonical favours preinit even more", "With the canonical architecture the advantage of VAE preinit is "
        "larger still (paper §4.2, supplementary canonical results)."),
    8: ("Decision support", "On the simulated data the eigenvalue criterion (eigenvalues of S above 4, method §3) "
        "picks the true latent size, 2 (paper §3.3, §4.1)."),
}  # fmt: skip


HOLDS, FAILS, UNDECIDED = "holds", "fails", "undecided"


TRUE_LATENT = loadings(2, 1).shape[1]  # the generating model's latent size: the columns of its loadings (method §4)


TOO_FEW = "too few seeds"


MISSING = "missing cells"


NOT_REACHED = "neither variant reaches the region"


NOT_PUBLISHED = "not in the published tables"


ONE_N = "one N for this d: nothing to compare across N"


ONE_ARCH = "one architecture for this dataset: nothing to compare"


OUT_OF_SCOPE = {NOT_REACHED, ONE_N, ONE_ARCH}  # units a claim says nothing about: counted, they do not decide


COLUMNS = ["claim", "title", "protocol", "level", "arch", "dataset", "split", "criterion", "numbers", "seeds",
           "verdict", "reason"]  # fmt: skip


def _describe_median(epochs: pd.DataFrame) -> str:
    median = float(np.median(restrict_epochs(epochs)))
    reached = int(epochs["first"].notna().sum())
    shown = f"> {int(epochs['epochs'].max())}" if median > epochs["epochs"].max() else f"{median:g}"
    return f"median {shown}, {reached}/{len(epochs)} reach"


def _state_criterion(claim: int, t: Thresholds, published: bool = False) -> str:
    k = f"{t.noise_se:g} SE (t-corrected)"
    region = f"loss ≤ bound·(1 + r/100), r = {t.region_pct_train:g} % train, {t.region_pct_test:g} % test"
    text = {
        1: f"first epoch with {region}; never = epochs + 1; preinit's mean below vanilla's beyond {k}",
        2: f"(a) median vanilla seed reaches the training region ({t.region_pct_train:g} %) by the last epoch; "
           f"(b) both mean pct_train below it, or |vanilla − preinit| ≤ {t.comparable_pct:g} points, beyond {k}",
        3: f"preinit's mean gap pct_test − pct_train below vanilla's beyond {k}",
        4: f"preinit's mean pct_test below vanilla's beyond {k}",
        5: f"both variants: mean pct_train < {t.region_pct_train:g} and mean pct_test > 0, beyond {k}",
        6: f"(a) std of pct narrows at every step up in N (F-test at the level of {t.noise_se:g} SE), both variants; "
           f"(b) the bound changes ≤ {t.bound_robust_pct:g} % across N",
        7: f"(vanilla − preinit) mean pct_test larger for canonical than for deep beyond {k}",
        8: f"number of eigenvalues of S above 4 = the true latent size {TRUE_LATENT}",
    }[claim]  # fmt: skip
    if published and claim == 2:
        return "published: part (b) only: " + text.split("; (b) ", 1)[1]
    return text


def _make_unit(claim, protocol, arch, dataset, split, numbers, n, verdict, reason, t) -> dict:
    """One row of the report at the unit level; `n`: the seed counts behind it."""
    published = protocol == PUBLISHED
    seeds = f"{PAPER_SEEDS} seeds per cell (the paper)" if published else seeds_text(n)
    return {
        "claim": claim,
        "title": CLAIMS[claim][0],
        "protocol": protocol,
        "level": "dataset",
        "arch": arch,
        "dataset": dataset,
        "split": split,
        "criterion": _state_criterion(claim, t, published),
        "numbers": numbers,
        "seeds": seeds,
        "verdict": verdict,
        "reason": reason,
        "_n": list(n),
    }


def _noise_reason(protocol: str) -> str:
    return "margin inside noise and the printed precision" if protocol == PUBLISHED else "margin inside seed noise"


def _judge_sign(s: int, protocol: str, good: int) -> tuple[str, str]:
    """Verdict and reason of a decided sign: `good` is the sign the claim predicts."""
    return (HOLDS, "") if s == good else (FAILS, "") if s == -good else (UNDECIDED, _noise_reason(protocol))


def _judge_parts(parts: list[tuple[int, str]], protocol: str) -> tuple[str, str]:
    """Verdict and reason of a claim made of parts (state, name), state +1 holds, -1 fails, 0 undecided:
    fails when one part fails, holds when all hold; the reason names the parts that do not hold."""
    failed = [name for state, name in parts if state < 0]
    open_ = [name for state, name in parts if state == 0]
    inside = f"{_noise_reason(protocol)}: " + ", ".join(open_) if open_ else ""
    if failed:
        return FAILS, "; ".join(filter(None, ["not: " + ", ".join(failed), inside]))
    return (UNDECIDED, inside) if open_ else (HOLDS, "")


def _pair_variants(cells: pd.DataFrame):
    """Per (arch, dataset): (arch, dataset, {variant: cell row}) for every dataset, in order."""
    for (arch, dataset), part in cells.groupby(["arch", "dataset"], sort=False):
        yield arch, dataset, {row["variant"]: row for _, row in part.iterrows()}


def _find_gaps(rows: list, t: Thresholds) -> str:
    """The reason a comparison of these cells cannot be made, or ''."""
    if any(r is None for r in rows):
        return MISSING
    return TOO_FEW if any(r["n"] < t.min_seeds for r in rows) else ""


def _preinit_and_vanilla(variants: dict) -> list:
    return [variants.get("preinit"), variants.get("vanilla")]


def decide_convergence(epochs: pd.DataFrame, protocol: str, t: Thresholds) -> list[dict]:
    """Claim 1 per (arch, dataset, split)."""
    rows = []
    for (arch, dataset, split), part in epochs.groupby(["arch", "dataset", "split"], sort=False):
        per = {v: part[part["variant"] == v] for v in VARIANTS}
        n = [len(per["preinit"]), len(per["vanilla"])]
        args = (1, protocol, arch, dataset, split)
        if min(n) == 0 or min(n) < t.min_seeds:
            rows.append(_make_unit(*args, "", n, UNDECIDED, MISSING if min(n) == 0 else TOO_FEW, t))
            continue
        numbers = "; ".join(f"{v} {_describe_median(per[v])}" for v in ("preinit", "vanilla"))
        if part["first"].isna().all():
            rows.append(_make_unit(*args, numbers, n, UNDECIDED, NOT_REACHED, t))
            continue
        preinit, vanilla = (restrict_epochs(per[v]) for v in ("preinit", "vanilla"))
        estimate = combine((1, Cell(preinit.mean(), preinit.std(), len(preinit))),
                           (-1, Cell(vanilla.mean(), vanilla.std(), len(vanilla))))  # fmt: skip
        numbers += f"; mean epochs preinit − vanilla {estimate.text(t.noise_se)}"
        rows.append(_make_unit(*args, numbers, n, *_judge_sign(sign(estimate, t.noise_se), protocol, -1), t))
    return rows


def _select_vanilla_train(epochs: pd.DataFrame, arch: str, dataset: str) -> pd.DataFrame:
    return epochs[(epochs["arch"] == arch) & (epochs["dataset"] == dataset) & (epochs["variant"] == "vanilla")
                  & (epochs["split"] == "train")]  # fmt: skip


def _compare_final_train(preinit: pd.Series, vanilla: pd.Series, t: Thresholds) -> tuple[int, str]:
    """Claim 2 (b): +1 comparable, -1 not, 0 undecided; with its numbers."""
    below = [
        sign(combine((1, to_cell(r, "train"))).minus(t.region_pct_train), t.noise_se) < 0 for r in (preinit, vanilla)
    ]
    difference = combine((1, to_cell(vanilla, "train")), (-1, to_cell(preinit, "train")))
    text = (f"pct_train preinit {preinit['mean_train']:+.3f}, vanilla {vanilla['mean_train']:+.3f}; "
            f"vanilla − preinit {difference.text(t.noise_se)}")  # fmt: skip
    if all(below):
        return 1, text + f"; both below the training region ({t.region_pct_train:g} %)"
    return within(difference, t.comparable_pct, t.noise_se), text


def decide_vanilla_reaches(
    cells: pd.DataFrame, epochs: pd.DataFrame | None, protocol: str, t: Thresholds
) -> list[dict]:
    """Claim 2 per (arch, dataset); `epochs` None for the published cells (part b only)."""
    rows = []
    for arch, dataset, variants in _pair_variants(cells):
        preinit, vanilla = _preinit_and_vanilla(variants)
        n = [int(r["n"]) for r in (preinit, vanilla) if r is not None]
        args = (2, protocol, arch, dataset, "train")
        if reason := _find_gaps([preinit, vanilla], t):
            rows.append(_make_unit(*args, "", n, UNDECIDED, reason, t))
            continue
        part_b, numbers = _compare_final_train(preinit, vanilla, t)
        part_a = 1
        if epochs is not None:
            runs = _select_vanilla_train(epochs, arch, dataset)
            if runs.empty:
                rows.append(_make_unit(*args, numbers, n, UNDECIDED, f"{MISSING} (no histories)", t))
                continue
            part_a = 1 if runs["first"].notna().mean() >= 0.5 else -1
            numbers = f"vanilla {_describe_median(runs)}; " + numbers
        parts = [(part_a, "(a) vanilla reaches the training region"), (part_b, "(b) comparable final pct_train")]
        rows.append(_make_unit(*args, numbers, n, *_judge_parts(parts, protocol), t))
    return rows


def decide_variant_contrast(claim: int, q: str, cells: pd.DataFrame, protocol: str, t: Thresholds) -> list[dict]:
    """Claims 3 and 4 per (arch, dataset): preinit's mean of `q` below vanilla's beyond noise."""
    rows = []
    for arch, dataset, variants in _pair_variants(cells):
        preinit, vanilla = _preinit_and_vanilla(variants)
        n = [int(r["n"]) for r in (preinit, vanilla) if r is not None]
        args = (claim, protocol, arch, dataset, "" if q == "gap" else q)
        if reason := _find_gaps([preinit, vanilla], t):
            rows.append(_make_unit(*args, "", n, UNDECIDED, reason, t))
            continue
        estimate = combine((1, to_cell(preinit, q)), (-1, to_cell(vanilla, q)))
        name = "gap" if q == "gap" else f"pct_{q}"
        numbers = (f"{name} preinit {preinit[f'mean_{q}']:+.3f}, vanilla {vanilla[f'mean_{q}']:+.3f}; "
                   f"preinit − vanilla {estimate.text(t.noise_se)}")  # fmt: skip
        rows.append(_make_unit(*args, numbers, n, *_judge_sign(sign(estimate, t.noise_se), protocol, -1), t))
    return rows


def decide_bound_position(cells: pd.DataFrame, protocol: str, t: Thresholds) -> list[dict]:
    """Claim 5 per (arch, dataset): both variants' training pct below the region, test pct above 0."""
    rows = []
    for arch, dataset, variants in _pair_variants(cells):
        present = [variants[v] for v in ("preinit", "vanilla") if v in variants]
        n = [int(r["n"]) for r in present]
        args = (5, protocol, arch, dataset, "")
        if reason := _find_gaps(present or [None], t):
            rows.append(_make_unit(*args, "", n, UNDECIDED, reason, t))
            continue
        parts, numbers = [], []
        for r in present:
            train = combine((1, to_cell(r, "train"))).minus(t.region_pct_train)
            test = combine((1, to_cell(r, "test")))
            parts += [(-sign(train, t.noise_se), f"{r['variant']} train below"),
                      (sign(test, t.noise_se), f"{r['variant']} test above")]  # fmt: skip
            numbers.append(f"{r['variant']} train {r['mean_train']:+.3f} (SE {train.se:.2g}), "
                           f"test {r['mean_test']:+.3f} (SE {test.se:.2g})")  # fmt: skip
        rows.append(_make_unit(*args, "; ".join(numbers), n, *_judge_parts(parts, protocol), t))
    return rows


def _judge_narrowing(series: list[pd.Series], split: str, t: Thresholds) -> list[tuple[int, str]]:
    """Claim 6 (a) for one variant's cells in order of N: per step up, +1 narrower, -1 wider, 0 undecided."""
    steps = []
    for small, large in zip(series[:-1], series[1:], strict=True):
        if narrower(_bound_std(small, split, -1), _bound_std(large, split, 1), t.noise_se):
            state = 1
        else:
            state = -1 if narrower(_bound_std(large, split, -1), _bound_std(small, split, 1), t.noise_se) else 0
        steps.append((state, f"(a) {small['variant']} narrows {small['N']}→{large['N']}"))
    return steps


def _bound_std(row: pd.Series, split: str, side: int) -> tuple[float, int]:
    """(std, seeds) of a cell at the bottom (side -1) or top (+1) of the std's rounding interval."""
    std, rounding = row[f"std_{split}"], row[f"sround_{split}"]
    return max(std + side * rounding, 0.0), int(row["n"])


def decide_more_data(cells: pd.DataFrame, protocol: str, t: Thresholds) -> list[dict]:
    """Claim 6 per (arch, d, split) over the study's N of simulated datasets."""
    rows = []
    sim = cells[np.array([is_simulated(ds) for ds in cells["dataset"]], dtype=bool)]
    for (arch, d), part in sim.groupby(["arch", "d"], sort=False):
        sizes = sorted(part["N"].unique())
        for split in SPLITS:
            args = (6, protocol, arch, f"d{d}", split)
            if len(sizes) < 2:
                rows.append(_make_unit(*args, f"N = {sizes[0]}", part["n"], UNDECIDED, ONE_N, t))
                continue
            series = {v: [part[(part["variant"] == v) & (part["N"] == n)] for n in sizes] for v in VARIANTS}
            rows_of = [r.iloc[0] if len(r) else None for v in series for r in series[v]]
            n = [int(r["n"]) for r in rows_of if r is not None]
            if reason := _find_gaps(rows_of, t):
                rows.append(_make_unit(*args, "", n, UNDECIDED, reason, t))
                continue
            parts, numbers = [], [f"N = {', '.join(map(str, sizes))}"]
            for v in ("preinit", "vanilla"):
                cells_v = [r.iloc[0] for r in series[v]]
                parts += _judge_narrowing(cells_v, split, t)
                numbers.append(f"std {v} " + ", ".join(f"{r[f'std_{split}']:.3g}" for r in cells_v))
            bounds = part.groupby("N")[f"bound_{split}"].first().loc[sizes]
            change = 100 * (bounds.max() / bounds.min() - 1)
            numbers.append(f"bound {', '.join(f'{b:.2f}' for b in bounds)} (change {change:.2f} %)")
            parts.append((1 if change <= t.bound_robust_pct else -1, f"(b) bound within {t.bound_robust_pct:g} %"))
            rows.append(_make_unit(*args, "; ".join(numbers), n, *_judge_parts(parts, protocol), t))
    return rows


def decide_canonical_more(cells: pd.DataFrame, protocol: str, t: Thresholds) -> list[dict]:
    """Claim 7 per dataset that both architectures cover."""
    rows = []
    for dataset, part in cells.groupby("dataset", sort=False):
        got = {(r["arch"], r["variant"]): r for _, r in part.iterrows()}
        needed = [got.get((a, v)) for a in ("canonical", "deep") for v in ("vanilla", "preinit")]
        n = [int(r["n"]) for r in needed if r is not None]
        args = (7, protocol, "", dataset, "test")
        if {a for a, _ in got} != {"canonical", "deep"}:
            rows.append(_make_unit(*args, f"{next(iter(got))[0]} only", n, UNDECIDED, ONE_ARCH, t))
            continue
        if reason := _find_gaps(needed, t):
            rows.append(_make_unit(*args, "", n, UNDECIDED, reason, t))
            continue
        cv, cp, dv, dp = (to_cell(r, "test") for r in needed)
        estimate = combine((1, cv), (-1, cp), (-1, dv), (1, dp))
        numbers = (f"advantage canonical {cv.mean - cp.mean:+.3f}, deep {dv.mean - dp.mean:+.3f}; "
                   f"canonical − deep {estimate.text(t.noise_se)}")  # fmt: skip
        rows.append(_make_unit(*args, numbers, n, *_judge_sign(sign(estimate, t.noise_se), protocol, 1), t))
    return rows


def decide_decision_support(bounds: pd.DataFrame, t: Thresholds) -> list[dict]:
    """Claim 8 per simulated dataset (first draws)."""
    rows = []
    for _, b in select_counted(bounds).drop_duplicates("dataset").iterrows():  # the counts do not depend on κ
        if not is_simulated(b["dataset"]):
            continue
        numbers = (f"{b['n_eig_gt_4']} eigenvalues > 4 (the paper's criterion), {b['n_eig_gt_mp']} > the "
                   f"Marchenko–Pastur edge {b['mp_edge']:.2f} (noise-aware); true size {TRUE_LATENT}")  # fmt: skip
        verdict = HOLDS if b["n_eig_gt_4"] == TRUE_LATENT else FAILS
        rows.append(_make_unit(8, DATA, "", b["dataset"], "", numbers, [], verdict, "", t))
    return rows


def mark_not_published(claim: int, t: Thresholds) -> dict:
    return {**_make_unit(claim, PUBLISHED, "", "", "", "", [], UNDECIDED, NOT_PUBLISHED, t), "level": "all"}
