"""A protocol's own latent size: the rule bounds computes the bound at every latent size a protocol trains (the
claims' side is tests/test_claims.py::test_each_protocol_reads_the_bound_at_its_own_latent_size)."""

import pandas as pd
import pytest
import yaml

from bvae.data.binary import read_dataset
from bvae.model.bound import fit_bound
from tests.conftest import copy_workflow, snakemake


@pytest.mark.parametrize(
    ("protocols", "sizes"), [({"k1": {"latent_dim": 1}}, [1]), ({"k1": {"latent_dim": 1}, "spec": {}}, [1, 2])]
)
def test_the_bounds_are_at_each_protocols_latent_size(tmp_path, protocols, sizes):
    """The top level says latent_dim 2; a protocol of its own κ = 1 gets its bound at κ = 1 (not only at 2)."""
    workdir = copy_workflow(tmp_path)
    config = yaml.safe_load((workdir / ".test" / "config.yaml").read_text())
    (workdir / "k1.yaml").write_text(yaml.safe_dump({**config, "protocols": protocols}))
    bounds = workdir / config["results"] / "bounds" / "bounds.parquet"
    run = snakemake(workdir, str(bounds.relative_to(workdir)), "--cores", "1", "--configfile", "k1.yaml")
    assert run.returncode == 0, run.stderr[-2000:]
    table = pd.read_parquet(bounds)
    assert sorted(zip(table["dataset"], table["latent_dim"], strict=True)) == [
        (d, k) for d in ("d24_N100", "d24_N400") for k in sizes
    ]
    for row in table.itertuples():
        data = read_dataset(workdir / config["results"] / "datasets" / f"{row.dataset}.parquet")
        assert row.bound_train == fit_bound(data.train, data.test, row.latent_dim).bound_train
