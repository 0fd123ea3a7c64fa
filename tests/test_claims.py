"""The claims report: each criterion on hand-made runs whose verdict is known, and the paper's own verdicts."""

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from bvae.errors import ConfigError, DataError
from bvae.io import write_parquet
from bvae.plots.claims import CEILING, NEVER, claims_figure
from bvae.report.claims import (
    CLAIMS,
    NOT_PUBLISHED,
    NOT_REACHED,
    ONE_ARCH,
    ONE_N,
    PUBLISHED,
    TOO_FEW,
    Thresholds,
    claims_markdown,
    epochs_to_region,
    evaluate,
)
from bvae.report.comparison import history_paths, paper_tables, read_histories
from bvae.report.evidence import Cell, combine, critical, narrower, sign, within
from bvae.study.plan import run_dir
from tests.conftest import ROOT

BOUND_TRAIN, BOUND_TEST = 100.0, 101.0
HISTORY = ["epoch", "train_loss", "test_loss"]
NO_PAPER = paper_tables().iloc[:0]
SPREAD = np.array([-1.0, 0.0, 1.0])  # three seeds around a mean: std exactly 1


def runs(cells, protocol="p", arch="deep", d=200, N=100, dataset=None):
    """Runs of one dataset: cells {variant: (mean pct_train, mean pct_test, seed spread)}, 3 seeds each; a seed
    that fits the training split better does worse on the test split."""
    rows = []
    for variant, (train, test, spread) in cells.items():
        for seed, step in enumerate(SPREAD * spread):
            rows.append({
                "protocol": protocol, "dataset": dataset or f"d{d}_N{N}", "d": d, "N": N, "arch": arch,
                "variant": variant, "seed": seed, "pct_train": train - step, "pct_test": test + step,
                "bound_train": BOUND_TRAIN, "bound_test": BOUND_TEST, "latent_dim": 2,
            })  # fmt: skip
    return pd.DataFrame(rows)


def histories(reach, protocol="p", arch="deep", dataset="d200_N100", epochs=10):
    """Per-epoch losses: {variant: [first epoch in both bound regions per seed, None = never]}."""
    rows = []
    for variant, firsts in reach.items():
        for seed, first in enumerate(firsts):
            for epoch in range(1, epochs + 1):
                inside = first is not None and epoch >= first
                factor = 0.999 if inside else 1.05
                rows.append({"protocol": protocol, "dataset": dataset, "arch": arch, "variant": variant,
                             "seed": seed, "epoch": epoch, "train_loss": factor * BOUND_TRAIN,
                             "test_loss": factor * BOUND_TEST})  # fmt: skip
    return pd.DataFrame(rows, columns=["protocol", "dataset", "arch", "variant", "seed", *HISTORY])


def bounds(*datasets, eig=2, latent_dim=2, bound=(BOUND_TRAIN, BOUND_TEST)):
    return pd.DataFrame({"dataset": list(datasets), "latent_dim": latent_dim, "bound_train": bound[0],
                         "bound_test": bound[1], "n_eig_gt_4": eig, "n_eig_gt_mp": 2, "mp_edge": 4.5})  # fmt: skip


def trained(history, latent_dim=2):
    """The runs table's keys and latent size of the trainings whose `history` it is."""
    return history[["protocol", "dataset", "arch", "variant", "seed"]].drop_duplicates().assign(latent_dim=latent_dim)


def claim(table, number, protocol="p", level="dataset", **where):
    rows = table[(table["claim"] == number) & (table["protocol"] == protocol) & (table["level"] == level)]
    for key, value in where.items():
        rows = rows[rows[key] == value]
    return rows


def verdicts(table, number, protocol="p", **where) -> list[str]:
    return claim(table, number, protocol, **where)["verdict"].tolist()


def decide(run_table, history=None, t=None, paper=NO_PAPER):
    """The claims table of hand-made runs; by default without the paper's cells (paper=None: the shipped ones)."""
    t = t or Thresholds()
    history = history if history is not None else histories({}, dataset="none")
    epochs = epochs_to_region(history, run_table, bounds(*run_table["dataset"].unique()), t)
    return evaluate(run_table, epochs, bounds(*run_table["dataset"].unique()), t, paper=paper)


# --- the noise rule -------------------------------------------------------------------------------------------------


def test_noise_rule_is_a_t_test_at_the_level_of_k_standard_errors():
    a, b = Cell(1.0, 1.0, 3), Cell(0.0, 1.0, 3)
    estimate = combine((1, a), (-1, b))
    assert estimate.se == pytest.approx(math.sqrt(2 / 3)) and estimate.df == pytest.approx(4)  # Welch: 2 (n - 1)
    q = stats.norm.cdf(2)  # t with 2 degrees of freedom: the quantile of q is (2q - 1) sqrt(2 / (1 - (2q - 1)^2))
    assert critical(2, 2.0) == pytest.approx((2 * q - 1) * math.sqrt(2 / (1 - (2 * q - 1) ** 2)))
    assert critical(math.inf, 2.0) == 2.0 and 2.0 < critical(198, 2.0) < 2.02
    assert sign(estimate, 2.0) == 0  # 1.22 SE
    assert sign(combine((1, Cell(5.0, 1.0, 3)), (-1, b)), 2.0) == 1
    assert sign(combine((1, Cell(0.02, 0.0, 100, 0.005)), (-1, Cell(0.0, 0.0, 100, 0.005))), 2.0) == 1
    assert sign(combine((1, Cell(0.01, 0.0, 100, 0.005)), (-1, Cell(0.0, 0.0, 100, 0.005))), 2.0) == 0  # rounding
    assert within(combine((1, Cell(0.1, 0.01, 100)), (-1, Cell(0.0, 0.01, 100))), 0.5, 2.0) == 1
    assert within(combine((1, Cell(3.0, 0.01, 100)), (-1, Cell(0.0, 0.01, 100))), 0.5, 2.0) == -1
    assert within(combine((1, Cell(0.5, 1.0, 3)), (-1, Cell(0.0, 1.0, 3))), 0.5, 2.0) == 0
    assert narrower((10.0, 3), (0.1, 3), 2.0) and not narrower((1.2, 3), (1.0, 3), 2.0)
    assert narrower((1.0, 3), (0.0, 3), 2.0) and not narrower((0.0, 3), (0.0, 3), 2.0)


# --- each claim on hand-made runs ------------------------------------------------------------------------------------


def test_claim1_convergence_holds_fails_undecided():
    table = decide(runs({"preinit": (-5, 5, 1), "vanilla": (-5, 5, 1)}),
                   histories({"preinit": [1, 1, 2], "vanilla": [6, 7, 8]}))  # fmt: skip
    assert verdicts(table, 1, split="train") == verdicts(table, 1, split="test") == ["holds"]
    swapped = decide(runs({"preinit": (-5, 5, 1), "vanilla": (-5, 5, 1)}),
                     histories({"preinit": [6, 7, None], "vanilla": [1, 1, 2]}))  # fmt: skip
    assert verdicts(swapped, 1, split="train") == ["fails"]
    never = decide(runs({"preinit": (-5, 5, 1), "vanilla": (-5, 5, 1)}),
                   histories({"preinit": [None] * 3, "vanilla": [None] * 3}))  # fmt: skip
    assert claim(never, 1, split="train")["reason"].tolist() == [NOT_REACHED]
    assert claim(never, 1, level="all")["reason"].str.contains(NOT_REACHED).all()  # nothing in scope
    reached = histories({"preinit": [1, 1, 2], "vanilla": [6, 7, 8]})
    unreached = histories({"preinit": [None] * 3, "vanilla": [None] * 3}, dataset="d200_N5000")
    two = pd.concat([runs({"preinit": (-5, 5, 1), "vanilla": (-5, 5, 1)}, N=n) for n in (100, 5000)])
    both = decide(two, pd.concat([reached, unreached]))
    overall = claim(both, 1, level="all").iloc[0]  # the unreached dataset is named but does not block
    assert overall["verdict"] == "holds" and f"scope ({NOT_REACHED}): deep d200_N5000 train" in overall["numbers"]
    noisy = decide(runs({"preinit": (-5, 5, 1), "vanilla": (-5, 5, 1)}),
                   histories({"preinit": [1, 5, 9], "vanilla": [2, 6, 10]}))  # fmt: skip
    assert verdicts(noisy, 1, split="train") == ["undecided"]
    few = decide(runs({"preinit": (-5, 5, 1), "vanilla": (-5, 5, 1)}),
                 histories({"preinit": [1, 1], "vanilla": [8, 8]}))  # fmt: skip
    assert claim(few, 1, split="train")["reason"].tolist() == [TOO_FEW]


def test_claim1_region_is_the_threshold_on_the_history_loss():
    history = histories({"preinit": [1, 1, 1], "vanilla": [5, 5, 5]})  # outside: 5 % above the bound
    epochs = epochs_to_region(history, trained(history), bounds("d200_N100"), Thresholds(region_pct_train=6))
    train = epochs[epochs["split"] == "train"]
    assert (train["first"] == 1).all()  # every epoch is within 6 %
    test = epochs[(epochs["split"] == "test") & (epochs["variant"] == "vanilla")]
    assert (test["first"] == 5).all() and (test["epochs"] == 10).all()


def test_each_protocol_reads_the_bound_at_its_own_latent_size():
    """bounds.parquet holds a row per dataset and latent size; a protocol of κ = 1 beside one of κ = 2 (the config's
    top level) reads the bound at κ = 1, and a latent size without a bound is an error, not the other's bound."""
    reach = {"preinit": [3, 3, 3], "vanilla": [3, 3, 3]}  # 0.999 x BOUND from epoch 3, 1.05 x before
    history = pd.concat([histories(reach, protocol="k1"), histories(reach, protocol="k2")])
    run_table = pd.concat(
        [trained(history[history["protocol"] == "k1"], 1), trained(history[history["protocol"] == "k2"])]
    )
    lower = bounds("d200_N100", latent_dim=1, bound=(BOUND_TRAIN * 1.04, BOUND_TEST * 1.04))  # κ = 1: 1.05/1.04 < 1.01
    both = pd.concat([lower, bounds("d200_N100")])
    epochs = epochs_to_region(history, run_table, both, Thresholds(region_pct_train=1, region_pct_test=1))
    first = epochs[epochs["split"] == "train"].groupby("protocol")["first"].unique()
    assert first["k1"].tolist() == [1] and first["k2"].tolist() == [3]
    with pytest.raises(DataError, match="no bound of d200_N100 at latent_dim 1"):
        epochs_to_region(history, run_table, bounds("d200_N100"), Thresholds())
    cells = {"preinit": (-5, 5, 1), "vanilla": (-5, 5, 1)}
    table = evaluate(pd.concat([runs(cells, protocol=p) for p in ("k1", "k2")]), epochs, both)
    assert len(claim(table, 8, protocol="data")) == 1  # claim 8 per dataset, whatever its latent sizes


def test_claim2_vanilla_gets_there_too():
    reach = histories({"preinit": [1, 1, 1], "vanilla": [5, 6, 7]})
    both_below = decide(runs({"preinit": (-10, 5, 1), "vanilla": (-20, 8, 1)}), reach)
    assert verdicts(both_below, 2) == ["holds"]  # both beat the bound: the difference is over-fitting
    close = decide(runs({"preinit": (0.1, 5, 0.01), "vanilla": (0.2, 8, 0.01)}), reach)
    assert verdicts(close, 2) == ["holds"]  # within 0.5 points
    apart = decide(runs({"preinit": (-1, 5, 0.01), "vanilla": (2.5, 8, 0.01)}), reach)
    assert verdicts(apart, 2) == ["fails"] and "(b)" in claim(apart, 2)["reason"].iloc[0]
    never = decide(runs({"preinit": (-10, 5, 1), "vanilla": (-20, 8, 1)}),
                   histories({"preinit": [1, 1, 1], "vanilla": [None, None, 9]}))  # fmt: skip
    assert verdicts(never, 2) == ["fails"] and "(a)" in claim(never, 2)["reason"].iloc[0]
    noisy = decide(runs({"preinit": (0.1, 5, 1), "vanilla": (0.6, 8, 1)}), reach)
    assert verdicts(noisy, 2) == ["undecided"]


@pytest.mark.parametrize(
    ("claim_number", "preinit", "vanilla", "expected"),
    [
        (3, (-10, 5, 1), (-20, 15, 1), "holds"),  # gaps 15 and 35
        (3, (-20, 15, 1), (-10, 5, 1), "fails"),
        (3, (-10, 5, 1), (-10, 5.5, 1), "undecided"),
        (4, (-10, 5, 1), (-20, 15, 1), "holds"),
        (4, (-10, 15, 1), (-20, 5, 1), "fails"),
        (4, (-10, 5, 1), (-20, 5.5, 1), "undecided"),
        (5, (-10, 5, 1), (-20, 15, 1), "holds"),
        (5, (-10, 5, 1), (2, -3, 0.1), "fails"),  # vanilla above the training bound, below the test bound
        (5, (-10, 5, 1), (-0.5, 15, 1), "undecided"),  # vanilla's training mean within noise of the bound
    ],
)
def test_claims_3_4_5_on_one_dataset(claim_number, preinit, vanilla, expected):
    table = decide(runs({"preinit": preinit, "vanilla": vanilla}))
    assert verdicts(table, claim_number) == [expected]


def test_claim4_allows_one_lost_setup():
    win, loss, tie = ((-10, 5, 1), (-20, 15, 1)), ((-20, 15, 1), (-10, 5, 1)), ((-10, 5, 1), (-20, 5.5, 1))

    def study(*outcomes):
        return pd.concat([runs({"preinit": p, "vanilla": v}, N=100 + i) for i, (p, v) in enumerate(outcomes)])

    assert verdicts(decide(study(win, win, loss)), 4, level="all") == ["holds"]
    assert verdicts(decide(study(win, loss, loss)), 4, level="all") == ["fails"]
    assert verdicts(decide(study(win, loss, tie)), 4, level="all") == ["undecided"]  # the tie may be a second loss
    assert verdicts(decide(study(win, win, tie)), 4, level="all") == ["holds"]
    assert verdicts(decide(study(win, win, loss)), 3, level="all") == ["fails"]  # other claims: every unit holds


def test_claim6_spread_narrows_and_bound_is_robust():
    def study(spreads, bound_change=0.0, test_bounds=(101.0, 101.0)):
        parts = []
        for N, spread, tb in zip((100, 5000), spreads, test_bounds, strict=True):
            part = runs({"preinit": (-5, 5, spread), "vanilla": (-5, 5, spread)}, N=N)
            parts.append(part.assign(bound_train=BOUND_TRAIN * (1 + bound_change / 100 * (N == 100)), bound_test=tb))
        return pd.concat(parts)

    narrowing = decide(study((1.0, 0.01)))
    assert verdicts(narrowing, 6, split="train") == verdicts(narrowing, 6, split="test") == ["holds"]
    assert claim(narrowing, 6)["dataset"].tolist() == ["d200", "d200"]
    widening = decide(study((0.01, 1.0)))
    assert verdicts(widening, 6, split="train") == ["fails"]
    moving = decide(study((1.0, 0.01), bound_change=-3.0))
    assert verdicts(moving, 6, split="train") == ["fails"] and verdicts(moving, 6, split="test") == ["holds"]
    assert "(b)" in claim(moving, 6, split="train")["reason"].iloc[0]
    similar = decide(study((1.0, 0.9)))
    assert verdicts(similar, 6, split="train") == ["undecided"]
    robust = decide(study((1.0, 0.01), bound_change=-3.0), t=Thresholds(bound_robust_pct=5))
    assert verdicts(robust, 6, split="train") == ["holds"]


def test_claim7_canonical_favours_preinit_more():
    def study(canonical_advantage):
        deep = runs({"preinit": (-5, 5, 1), "vanilla": (-5, 7, 1)}, arch="deep")
        canonical = runs({"preinit": (-5, 5, 1), "vanilla": (-5, 5 + canonical_advantage, 1)}, arch="canonical")
        return pd.concat([deep, canonical])

    more = decide(study(12))
    assert verdicts(more, 7) == ["holds"] and claim(more, 7)["arch"].tolist() == [""]  # over both architectures
    assert len(claim(more, 7, level="all")) == 1 and claim(more, 7, level="arch").empty
    assert verdicts(decide(study(-8)), 7) == ["fails"]
    assert verdicts(decide(study(2.5)), 7) == ["undecided"]
    one_arch = decide(runs({"preinit": (-5, 5, 1), "vanilla": (-5, 7, 1)}))  # present, and undecided with its reason
    assert claim(one_arch, 7)["reason"].tolist() == [ONE_ARCH]
    overall = claim(one_arch, 7, level="all")["reason"].tolist()
    assert overall == [f"outside the claim's scope on every unit: {ONE_ARCH}"]


def test_claim8_eigenvalues_above_4_count_the_true_latent_size():
    run_table = runs({"preinit": (-5, 5, 1), "vanilla": (-5, 7, 1)})
    epochs = epochs_to_region(histories({}, dataset="none"), run_table, bounds("d200_N100"), Thresholds())
    right = evaluate(run_table, epochs, bounds("d200_N100", eig=2))
    wrong = evaluate(run_table, epochs, bounds("d200_N100", eig=5))
    mine = evaluate(run_table, epochs, bounds("d200_N100", "mine", eig=2))
    assert verdicts(right, 8, protocol="data") == ["holds"] and verdicts(wrong, 8, protocol="data") == ["fails"]
    assert claim(mine, 8, protocol="data")["dataset"].tolist() == ["d200_N100"]  # no true size for a user's file


def test_further_draws_and_user_files():
    first = runs({"preinit": (-10, 5, 1), "vanilla": (-20, 15, 1)})
    draw = runs({"preinit": (-10, 15, 1), "vanilla": (-20, 5, 1)}, dataset="d200_N100_r1")
    mine = runs({"preinit": (-10, 5, 1), "vanilla": (-20, 15, 1)}, dataset="mine", d=24, N=60)
    table = decide(pd.concat([first, draw, mine]))
    assert claim(table, 4)["dataset"].tolist() == ["d200_N100", "mine"]  # the draw measures the data spread only
    assert set(claim(table, 6)["reason"]) == {ONE_N}  # one N per d: every claim has its row, undecided with why
    assert verdicts(table, 6, level="all") == ["undecided"]


# --- the paper's own cells --------------------------------------------------------------------------------------------


def paper_runs(paper, seeds_spread=1.0):
    """Our runs on every dataset and architecture of the paper (values irrelevant: the published rows read the CSV)."""
    cells = paper[["arch", "d", "N"]].drop_duplicates()
    return pd.concat([runs({"preinit": (-5, 5, seeds_spread), "vanilla": (-5, 5, seeds_spread)}, arch=a, d=d, N=n)
                      for a, d, n in cells.itertuples(index=False)])  # fmt: skip


def printed(terms, means=None, k=2.0):
    """Σ c·mean over printed cells (c, mean, std) of 100 seeds and the margin beyond which its sign is decided,
    derived here from the noise rule's words: the worst-case rounding 0.005 per printed mean (`means` of them, one
    per term unless said) plus k SE as the Welch t quantile of the one-sided level Φ(-k), each printed std at the top
    of its rounding interval."""
    value = sum(c * m for c, m, _ in terms)
    parts = [(s + 0.005) ** 2 / 100 for _, _, s in terms]
    df = sum(parts) ** 2 / sum(p * p / 99 for p in parts)
    return value, 0.005 * (means or len(terms)) + stats.t.isf(stats.norm.sf(k), df) * math.sqrt(sum(parts))


def expected_sign(terms, means=None):
    value, margin = printed(terms, means)
    return 0 if abs(value) <= margin else int(np.sign(value))


def gap(cells, variant):
    """(mean, std) of a variant's over-fitting gap from its printed train and test cells: the std at the worst case
    (correlation -1), s_test + s_train, each at the top of its rounding interval (printed() adds one 0.005)."""
    (mean_test, std_test), (mean_train, std_train) = cells[variant, "test"], cells[variant, "train"]
    return mean_test - mean_train, std_test + std_train + 0.005


def test_published_verdicts_derived_from_the_shipped_tables():
    paper = paper_tables()
    table = decide(paper_runs(paper), paper=None)
    ms = paper[paper["stat"] == "meanstd"].set_index(["arch", "split", "d", "N"])
    words = {-1: "holds", 1: "fails", 0: "undecided"}  # preinit below vanilla is what claims 3 and 4 predict
    losses = []
    for arch, d, N in ms.xs("test", level="split").index:
        test, train = ms.loc[(arch, "test", d, N)], ms.loc[(arch, "train", d, N)]
        cells = {(v, split): (row[f"{p}_a"], row[f"{p}_b"]) for split, row in (("train", train), ("test", test))
                 for v, p in (("preinit", "preinit"), ("vanilla", "vae"))}  # fmt: skip
        at = {"arch": arch, "dataset": f"d{d}_N{N}"}
        win = expected_sign([(1, *cells["preinit", "test"]), (-1, *cells["vanilla", "test"])])
        assert verdicts(table, 4, PUBLISHED, **at) == [words[win]]
        if win == 1:
            losses.append(f"{arch} d{d}_N{N}")
        smaller = expected_sign([(1, *gap(cells, "preinit")), (-1, *gap(cells, "vanilla"))], means=4)
        assert verdicts(table, 3, PUBLISHED, **at) == [words[smaller]]
        # claim 5: both training means below the bound, both test means above it
        sides = [-expected_sign([(1, *cells[v, "train"])]) for v in ("preinit", "vanilla")]
        sides += [expected_sign([(1, *cells[v, "test"])]) for v in ("preinit", "vanilla")]
        five = "fails" if -1 in sides else "holds" if min(sides) == 1 else "undecided"
        assert verdicts(table, 5, PUBLISHED, **at) == [five]
        # claim 2 (b): both training means below the bound, else vanilla - preinit within 0.5 points
        value, margin = printed([(1, *cells["vanilla", "train"]), (-1, *cells["preinit", "train"])])
        both_below = max(sides[:2]) == 1 and min(sides[:2]) == 1
        two = "holds" if both_below or abs(value) + margin <= 0.5 else "fails" if abs(value) - margin > 0.5 else ""
        assert verdicts(table, 2, PUBLISHED, **at) == [two or "undecided"]
    # The paper names one exception, deep d = 1000, N = 10000: its deep table has exactly that one loss.
    assert [x for x in losses if x.startswith("deep")] == ["deep d1000_N10000"]
    assert verdicts(table, 4, PUBLISHED, level="arch", arch="deep") == ["holds"]
    overall = "fails" if len(losses) > 1 else "holds"
    assert verdicts(table, 4, PUBLISHED, level="all") == [overall]
    text = claims_markdown(table)
    assert (f"**Claim 4 ({CLAIMS[4][0]}) fails on the paper's own tables**" in text) == (overall == "fails")
    # Claim 7: the test advantage of preinit larger for canonical than for deep.
    for d, N in ms.xs(("canonical", "test"), level=["arch", "split"]).index:
        c, dp = ms.loc[("canonical", "test", d, N)], ms.loc[("deep", "test", d, N)]
        more = expected_sign([(1, c["vae_a"], c["vae_b"]), (-1, c["preinit_a"], c["preinit_b"]),
                              (-1, dp["vae_a"], dp["vae_b"]), (1, dp["preinit_a"], dp["preinit_b"])])  # fmt: skip
        assert verdicts(table, 7, PUBLISHED, dataset=f"d{d}_N{N}") == [{1: "holds", -1: "fails", 0: "undecided"}[more]]
    # Claim 6 (b): the bound's relative change across N per d, from the bound column.
    for (arch, split, d), group in paper[paper["stat"] == "range"].groupby(["arch", "split", "d"]):
        change = 100 * (group["bound"].max() / group["bound"].min() - 1)
        row = claim(table, 6, PUBLISHED, arch=arch, dataset=f"d{d}", split=split).iloc[0]
        assert f"(change {change:.2f} %)" in row["numbers"]
        assert ("(b)" in row["reason"]) == (change > Thresholds().bound_robust_pct)
    # Claims 1 and 8 cannot be decided from final-loss tables: one undecided row each.
    for number in (1, 8):
        assert claim(table, number, PUBLISHED, level="all")["reason"].tolist() == [NOT_PUBLISHED]


def test_published_rows_cover_only_the_studys_cells():
    paper = paper_tables()
    quick = runs({"preinit": (-10, 5, 1), "vanilla": (-20, 15, 1)}, d=30, N=100)
    assert not (decide(quick, paper=None)["protocol"] == PUBLISHED).any()
    assert "no `published` rows" in claims_markdown(decide(quick, paper=None))
    one = decide(runs({"preinit": (-10, 5, 1), "vanilla": (-20, 15, 1)}, arch="deep", d=200, N=100), paper=paper)
    assert set(claim(one, 4, PUBLISHED)["dataset"]) == {"d200_N100"}
    assert claim(one, 7, PUBLISHED)["reason"].tolist() == [ONE_ARCH]  # the study has one architecture there


# --- thresholds, files, figure ----------------------------------------------------------------------------------------


def test_thresholds_are_checked_and_match_the_config_schema():
    with pytest.raises(ConfigError, match="claims.min_seeds = 1"):
        Thresholds(min_seeds=1)
    with pytest.raises(ConfigError, match="claims.noise_se = 0"):
        Thresholds.from_config({"noise_se": 0})
    with pytest.raises(ConfigError, match="unknown key"):
        Thresholds.from_config({"noise": 2})
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    defaults = {k: v["default"] for k, v in schema["properties"]["claims"]["properties"].items()}
    assert Thresholds(**defaults) == Thresholds() == Thresholds.from_config(None)
    assert Thresholds.from_config(yaml.safe_load((ROOT / "config.yaml").read_text())["claims"]) == Thresholds()


def test_histories_read_from_the_runs_layout_and_figure(tmp_path, monkeypatch):
    history = histories({"preinit": [1, 1, 2], "vanilla": [6, 7, None]})
    for (variant, seed), part in history.groupby(["variant", "seed"]):
        write_parquet(part[HISTORY], f"{run_dir(tmp_path, 'p', 'd200_N100', 'deep', variant, seed)}/history.parquet")
    run_table = trained(history)
    epochs = epochs_to_region(read_histories(history_paths(tmp_path, run_table)), run_table, bounds("d200_N100"),
                              Thresholds())  # fmt: skip
    assert sorted(epochs.loc[epochs["split"] == "train", "first"].dropna().tolist()) == [1, 1, 2, 6, 7]
    claims_figure(epochs, Thresholds(), tmp_path / "claims.png")
    claims_figure(epochs.iloc[:0], Thresholds(), tmp_path / "empty.png")
    assert (tmp_path / "claims.png").stat().st_size > 10_000 and (tmp_path / "empty.png").exists()
    drawn = []
    monkeypatch.setattr("bvae.plots.claims.save", lambda fig, path: drawn.append(fig))
    claims_figure(epochs, Thresholds(), tmp_path / "again.png")
    (legend,) = drawn[0].legends
    labels = [text.get_text() for text in legend.get_texts()]
    assert {"preinit, a seed", "vanilla, a seed", "a seed that never reaches"} <= set(labels)  # as CLI and config
    train = drawn[0].axes[0]
    never = [line for line in train.get_lines() if line.get_marker() == "o" and line.get_markerfacecolor() == "none"]
    heights = np.concatenate([line.get_ydata() for line in never])
    assert heights.tolist() == [NEVER * 10]  # vanilla's seed 2, in the band "never" above the last epoch (10)
    assert NEVER * 10 > CEILING * 10 > 10


def test_the_report_says_when_settings_decide_nothing_about_the_paper():
    """A protocol trained shorter or narrower than every protocol the project ships gets the caveat; the study's
    own protocols do not."""
    quick = runs({"preinit": (-10, 5, 1), "vanilla": (-20, 15, 1)}).assign(epochs=20, hidden="[64, 64]")
    full = quick.assign(protocol="calibrated", epochs=300, hidden="[1024, 1024]")
    text = claims_markdown(decide(pd.concat([quick, full])), runs=pd.concat([quick, full]))
    lines = {line.split("`")[1]: line for line in text.splitlines() if line.startswith("- `")}
    assert "deep 20 epochs, hidden widths 64 64; 3 seeds per cell (the paper: 100)" in lines["p"]
    assert "Trained shorter and narrower than any protocol the project ships" in lines["p"]
    assert "deep 300 epochs, hidden width 1024; canonical 50 epochs" in lines["p"]  # from the shipped protocols
    assert "decide nothing about the paper" in lines["p"]
    assert "decide nothing" not in lines["calibrated"]
