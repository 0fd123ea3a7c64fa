"""The calibration summary (`bvae calibration`): complete cells, cells at earlier epochs, the collapse map."""

import shutil

import numpy as np
import pandas as pd
import pytest

from bvae.cli import main
from bvae.data.binary import write_dataset
from bvae.data.simulate import SimSettings, simulate
from bvae.model.decision import bound_tables
from bvae.model.settings import TrainSettings
from bvae.report.calibration import decoder_family, epoch_rule, keep_complete_cells
from bvae.report.comparison import RUN_KEYS
from bvae.report.fidelity import collapse_epochs
from bvae.study.plan import run_dir
from bvae.training.results import train_and_write
from tests.conftest import markdown_tables


def history(seed, active, kl):
    return pd.DataFrame(
        {
            "protocol": "p",
            "dataset": "d",
            "arch": "deep",
            "variant": "vanilla",
            "seed": seed,
            "epoch": np.arange(1, len(active) + 1),
            "test_active_units": active,
            "test_kl": kl,
        }  # fmt: skip
    )


def test_collapse_is_read_for_good_from_the_kl_and_from_the_active_units():
    runs = [
        history(0, [2, 1, 0, 1, 0, 0], [3.0, 0.5, 0.05, 0.2, 0.05, 0.01]),
        history(1, [2, 2, 1], [1.0, 0.09, 0.4]),  # a dip below the threshold that recovers is no collapse
        history(2, [0, 0], [0.01, 0.0]),
        history(3, [1, 2, 2], [0.5, 0.05, 0.04]),  # "active" by a hair, with nothing in the code
    ]
    epochs = collapse_epochs(pd.concat(runs[::-1])).set_index("seed")[["collapse_epoch", "active_lost_epoch"]]
    assert epochs.loc[0].tolist() == [5, 5] and epochs.loc[2].tolist() == [1, 1]  # never carried: epoch 1
    assert epochs.loc[1].isna().all()
    assert epochs.loc[3, "collapse_epoch"] == 2 and np.isnan(epochs.loc[3, "active_lost_epoch"])


def test_only_cells_with_every_seed_are_complete():
    runs = pd.DataFrame(
        {
            "protocol": "p",
            "arch": "deep",
            "variant": "vanilla",
            "dataset": ["a"] * 3 + ["b"] * 2 + ["c"],
            "N": [5000] * 5 + [42],
            "seed": [0, 1, 2, 0, 1, 0],
        }  # fmt: skip
    )
    assert keep_complete_cells(runs, {5000: 3})["dataset"].tolist() == ["a"] * 3 + [
        "c"
    ]  # N = 42 is not in the map: any


def test_decoder_family_names_what_differs_besides_lr_and_epochs():
    base = pd.Series(TrainSettings().values())
    assert decoder_family(base) == "decoder he normal"
    other = base.copy()
    other[["init_output", "batch_size", "init_bias", "kl_reduction"]] = ["glorot_uniform", 128, "scheme", "mean"]
    assert decoder_family(other) == "decoder glorot uniform, batch 128, biases drawn, KL averaged"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A study root with a paper dataset (d = 200, N = 100) trained 4 epochs by one protocol, 3 seeds, both variants."""
    root = tmp_path_factory.mktemp("calibration")
    data = simulate(SimSettings(d=200, N=100))
    write_dataset(data, root / "datasets" / "d200_N100.parquet")
    bounds, _ = bound_tables([data], [2])
    (root / "bounds").mkdir()
    bounds.to_parquet(root / "bounds" / "bounds.parquet")
    settings = dict(arch="deep", hidden=(8, 8), epochs=4, batch_size=50, mc_samples=2, checkpoint_every=2)
    for variant in ("vanilla", "preinit"):
        outdirs = [run_dir(str(root), "p", data.name, "deep", variant, s) for s in range(3)]
        train_and_write(data, TrainSettings(variant=variant, **settings), [0, 1, 2], outdirs, progress=False)
    return root


def test_summary_compares_complete_cells_also_at_earlier_epochs(study, tmp_path, capsys):
    out, figure = tmp_path / "summary.md", tmp_path / "collapse.png"
    assert main(["calibration", str(study), "--epoch", "2", "--seeds", "100=3", "--out", str(out), "--figure",
                 str(figure)]) == 0  # fmt: skip
    text = out.read_text()
    assert len(markdown_tables(text)) > 3  # each with a cell per column in every row
    assert "6 finished trainings in complete cells of 1 protocols" in text
    assert "--epoch 2 --seeds 100=3`" in text  # the summary names the command that wrote it, options and all
    assert "| p     " in text and "| p@2   " in text  # the agreement table has the protocol and its epoch-2 reading
    assert "| protocol   | deep N=100 2   | deep N=100 final   |" in text  # the epoch map: a column per reading
    assert figure.stat().st_size > 1000
    capsys.readouterr()
    claims = tmp_path / "claims.md"
    comparison = tmp_path / "comparison.png"
    assert main(["calibration", str(study), "--seeds", "100=3", "--protocols", "p", "--out", str(out), "--claims",
                 str(claims), "--comparison", str(comparison)]) == 0  # fmt: skip
    assert comparison.stat().st_size > 1000
    report = claims.read_text()
    assert "| published | " in report and "| p | " in report  # the verdicts on the paper's cells and on the runs
    assert main(["calibration", str(study), "--seeds", "100=4"]) == 2  # 3 seeds are not a complete cell of 4
    assert "no cell has all its seeds finished (4 at N = 100)" in capsys.readouterr().err
    assert main(["calibration", str(study), "--protocols", "q"]) == 2
    assert "protocol(s) q: no finished run; found p" in capsys.readouterr().err
    shutil.copytree(study / "runs", tmp_path / "nobounds" / "runs")  # the claims read the bounds, the summary not
    assert main(["calibration", str(tmp_path / "nobounds"), "--seeds", "100=3", "--claims", str(claims)]) == 2
    assert "bounds.parquet: no such file" in capsys.readouterr().err


def test_a_study_without_the_papers_sizes_is_one_line(tmp_path, capsys):
    """Runs whose d and N are no cell of the paper left the comparison empty: a KeyError traceback before."""
    data = simulate(SimSettings(d=20, N=100, block=5))
    settings = TrainSettings(arch="deep", hidden=(8, 8), epochs=2, batch_size=50, mc_samples=2)
    train_and_write(data, settings, [0], [run_dir(str(tmp_path), "p", data.name, "deep", "vanilla", 0)], progress=False)
    assert main(["calibration", str(tmp_path), "--seeds", "100=1"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"bvae: error: {tmp_path}: no complete cell is a cell of the paper (d in [200, 400, 1000], N in [100, 5000, "
        "10000]); nothing to compare"
    ]


def test_the_epoch_rule_takes_the_earliest_centre_of_the_widest_agreeing_window():
    """Every cell agrees at epochs 40-60 of 100 and at epoch 90 alone: the 11-epoch windows centred on 45-55 agree
    wholly, the lone epoch 90 does not move the choice, and the earliest of the tied centres is taken."""
    from tests.test_comparison import PAPER, runs

    finals = runs([1.5, 1.5], [5.5, 5.5]).assign(final_train_loss=0.0, final_test_loss=0.0, active_units=2, epochs=100)
    fits = set(range(40, 61)) | {90}
    rows = [
        {**run[RUN_KEYS].to_dict(), "epoch": e, "train_loss": 135.0, "test_active_units": 2,
         "test_loss": 139.5 * (1 + (run["pct_test"] if e in fits else 50.0) / 100)}
        for _, run in finals.iterrows()
        for e in range(1, 101)
    ]  # fmt: skip
    rule = epoch_rule(finals, pd.DataFrame(rows), paper=PAPER).iloc[0]
    assert (rule["chosen_epoch"], rule["agreeing_there"], rule["compared"], rule["agreeing_at_end"]) == (45, 4, 4, 0)
