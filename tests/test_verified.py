"""Nothing read back is trusted unverified: archived records and histories, runs' records and datasets are checked
whole and consistent with what they claim before anything uses them, and a failure is one line naming the file."""

import json
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bvae.cli import main
from bvae.data.binary import read_dataset, write_dataset
from bvae.errors import DataError
from bvae.io import read_metadata, read_parquet, write_parquet
from bvae.study.archive import read_index, record_identity, restore
from tests.conftest import copy_workflow, snakemake
from tests.test_reliability import one_line_error

CELL = ("spec", "d24_N100", "deep", "vanilla")
RUN = "runs/spec/d24_N100/deep/vanilla/seed0"


@pytest.fixture
def archive(archived, tmp_path):
    copy = tmp_path / "archive"
    shutil.copytree(archived, copy)
    return copy


def rewrite(path, change, how):
    """Rewrite a Parquet file with `change` applied to its frame: by pyarrow keeping every metadata key, by pandas
    (no bvae metadata), or by bvae's own writer (valid checksums: a consistent forgery or a bug)."""
    table = pq.read_table(path)
    frame = change(table.to_pandas())
    if how == "keeping":
        new = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(table.schema.metadata)
        pq.write_table(new, path)
    elif how == "pandas":
        frame.to_parquet(path, index=False)
    else:
        write_parquet(frame, path, read_metadata(path))


def set_first(column, value):
    def change(frame):
        frame[column] = frame[column].astype(object)
        frame.loc[0, column] = value
        return frame

    return change


def wanted(cell) -> str:
    return record_identity(read_parquet(cell / "final.parquet").iloc[0])


@pytest.mark.parametrize("how", ["keeping", "pandas", "bvae"])
def test_a_record_whose_pct_was_edited_is_not_restored(tiny, archive, tmp_path, how):
    """pct_train set to -42 (loss and bound unchanged): restored and printed in table 2 before."""
    cell, out = archive.joinpath(*CELL), tmp_path / "out"
    identity = wanted(cell)
    rewrite(cell / "final.parquet", set_first("pct_train", -42.0), how)
    with pytest.raises(DataError, match=rf"^{cell / 'final.parquet'}: ") as error:
        restore(cell, identity, out, tiny / "results/test/datasets/d24_N100.parquet")
    expected = {"keeping": "its values do not match the checksum", "pandas": "carries no bvae metadata",
                "bvae": "seed 0: pct_train = -42.0 disagrees with final_train_loss"}[how]  # fmt: skip
    assert expected in str(error.value) and "\n" not in str(error.value)
    assert not out.exists() or not list(out.iterdir())


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("epochs_to_bound", 1, "epochs_to_bound = 1.0 disagrees with its history in "),
        ("active_units", 7, "active_units 7 > latent_dim 2"),
        ("n_train", 3, "n_train 3 + n_test 33 != N 100"),
        ("data_sha256", "0" * 12, "data_sha256 = '000000000000', not a SHA-256"),
        ("final_test_loss", float("nan"), "final_test_loss = None"),
    ],
)
def test_a_record_whose_numbers_disagree_is_refused(tiny, archive, tmp_path, column, value, message):
    cell = archive.joinpath(*CELL)
    identity = wanted(cell)
    rewrite(cell / "final.parquet", set_first(column, value), "bvae")
    with pytest.raises(DataError, match=f"^{cell / 'final.parquet'}: seed 0: ") as error:
        restore(cell, identity, tmp_path / "out", tiny / "results/test/datasets/d24_N100.parquet")
    assert message in str(error.value)


def test_a_history_that_lost_an_epoch_is_refused(tiny, archive, tmp_path):
    cell = archive.joinpath(*CELL)
    identity = wanted(cell)
    rewrite(cell / "history.parquet", lambda frame: frame[frame["epoch"] != 2], "bvae")
    with pytest.raises(DataError, match="seed 0: its history has epochs 1 to 3 in 2 rows; expected epochs 1 to 3"):
        restore(cell, identity, tmp_path / "out", tiny / "results/test/datasets/d24_N100.parquet")


def test_a_record_is_restored_only_beside_its_own_data(tiny, archived, tmp_path):
    """A dataset made by other code under the same numerics version (a changed replicate stream, say): its records
    were restored beside it before, though their data_sha256 named other bits."""
    workdir = copy_workflow(tmp_path)
    dataset = workdir / "results/test/datasets/d24_N100.parquet"
    data = read_dataset(tiny / "results/test/datasets/d24_N100.parquet")
    data.train[0, 0] ^= 1  # one bit of another draw
    write_dataset(data, dataset, read_metadata(tiny / "results/test/datasets/d24_N100.parquet")["definition"])
    target = f"results/test/{RUN}/final.parquet"
    run = snakemake(workdir, "--cores", "1", target, "--configfile", ".test/config.yaml", "--config",
                    f"archive={archived}")  # fmt: skip
    assert run.returncode != 0 and not (workdir / target).exists()
    log = (workdir / "results/test/logs/restore/spec/d24_N100/deep/vanilla/seed0.log").read_text()
    assert f"{archived.joinpath(*CELL) / 'final.parquet'}: seed 0: data_sha256 " in log
    assert f"is not the digest of the data {dataset.relative_to(workdir)}" in log


def test_a_rewrite_that_keeps_the_metadata_is_caught_by_the_values_checksum(tmp_path):
    path = tmp_path / "table.parquet"
    write_parquet(pd.DataFrame({"x": [1.0, 2.0], "name": ["a", "b"]}), path, {"why": "test"})
    rewrite(path, set_first("x", 1.5), "keeping")
    with pytest.raises(DataError, match=f"^{path}: its values do not match the checksum bvae stored with them"):
        read_parquet(path)
    assert read_metadata(path)["why"] == "test"  # the metadata alone still reads: only the values changed


def test_every_kind_of_column_reads_back_with_its_checksum(tmp_path):
    frame = pd.DataFrame({
        "int": [1, 2], "float": [np.nan, 1.0], "text": ["x", None], "bool": [True, False],
        "nullable": pd.array([1, None], dtype="Int64"), "category": pd.Categorical(["a", "b"]),
        "bits": np.uint8([0, 1]), "when": pd.to_datetime(["2020-01-01", None]), "list": [[1, 2], [3]],
    })  # fmt: skip
    write_parquet(frame, tmp_path / "kinds.parquet")
    assert read_parquet(tmp_path / "kinds.parquet")["nullable"].isna().tolist() == [False, True]


def test_a_missing_history_is_named_missing(archive, capsys):
    cell = archive.joinpath(*CELL)
    (cell / "history.parquet").unlink()
    with pytest.raises(DataError, match=f"^{cell / 'history.parquet'}: does not exist beside"):
        read_index(archive)
    with pytest.raises(DataError, match=f"^{cell / 'history.parquet'}: does not exist; expected a Parquet file"):
        read_parquet(cell / "history.parquet")


DEFINITIONS = [  # what an archived record's data definition was changed to, and the one line that names it
    (
        lambda d: {"simulated": {**d["simulated"], "colour": 1}},
        "its simulated data have the unknown settings ['colour']",
    ),
    (lambda d: {"example": "nope"}, "its data are the example 'nope'; expected 'd24_N100', one of digits"),
    (lambda d: {"simulated": {**d["simulated"], "N": 10**12}}, "its simulated data are d24_N1000000000000 (d = 24, "),
    (lambda d: "N12", "data_definition 'N12' is not JSON"),
]


@pytest.mark.parametrize(("change", "message"), DEFINITIONS)
def test_a_record_of_unknown_data_is_one_line(archive, capsys, change, message):
    """A TypeError, a KeyError, a 14.6 TiB allocation and a JSONDecodeError before."""
    path = archive.joinpath(*CELL) / "final.parquet"
    definition = json.loads(read_parquet(path)["data_definition"].iloc[0])
    new = change(definition)
    rewrite(path, lambda frame: frame.assign(data_definition=new if isinstance(new, str) else json.dumps(new)), "bvae")
    assert main(["answer", str(archive)]) == 2
    assert one_line_error(capsys).startswith(f"bvae: error: {path}: seed 0: {message}")


def test_a_consistent_record_of_a_dataset_too_large_to_make_is_one_line(archived, tmp_path, capsys):
    """A record that says N = 10^12 throughout: the answer would allocate 14.6 TiB to make its data again."""
    name, archive = "d24_N1000000000000", tmp_path / "archive"
    cell = archive / "spec" / name / "deep" / "vanilla"
    shutil.copytree(archived.joinpath(*CELL), cell)
    definition = json.loads(read_parquet(cell / "final.parquet")["data_definition"].iloc[0])
    definition["simulated"]["N"] = 10**12
    rows = {"N": 10**12, "n_train": 10**12 - 33, "dataset": name, "data_definition": json.dumps(definition)}
    rewrite(cell / "final.parquet", lambda frame: frame.assign(**rows), "bvae")
    assert main(["answer", str(archive)]) == 2
    err = one_line_error(capsys)
    assert f"dataset {name}: making it again needs 424,683 GiB, more than this machine's" in err


def test_a_damaged_archive_stops_the_workflow_in_one_line(archived, tmp_path):
    """The right message, then five Snakemake frames, before."""
    archive = tmp_path / "archive"
    shutil.copytree(archived, archive)
    (archive.joinpath(*CELL) / "final.parquet").write_bytes(b"x")
    workdir = tmp_path / "workflow"
    workdir.mkdir()
    copy_workflow(workdir)
    run = snakemake(workdir, "-n", "--configfile", ".test/config.yaml", "--config", f"archive={archive}")
    assert run.returncode != 0
    assert (
        run.stderr.strip()
        .splitlines()[-1]
        .startswith(f"bvae: error: {archive.joinpath(*CELL) / 'final.parquet'}: cannot be read (")
    )
    assert "Traceback" not in run.stderr and 'File "' not in run.stderr


def test_a_record_in_another_cell_or_without_its_provenance_is_refused(archive):
    cell, other = archive.joinpath(*CELL), archive / "spec" / "d24_N100" / "deep" / "preinit"
    shutil.rmtree(other)
    shutil.copytree(cell, other)  # vanilla's records where preinit's belong
    with pytest.raises(DataError, match=f"^{other / 'final.parquet'}: seed 0: a record of d24_N100 deep vanilla; "):
        read_index(archive)
    shutil.rmtree(other)
    rewrite(cell / "final.parquet", set_first("provenance", "{"), "bvae")
    with pytest.raises(DataError, match="seed 0: its training key .+ or its provenance is not as bvae archive"):
        read_index(archive)
