"""The report's landing page: what the study found, from its finished tables, with the caveat of quick settings."""

import pandas as pd

from bvae.io import write_parquet
from bvae.report.fidelity import AGREEING
from bvae.report.findings import findings


def write_tables(root, epochs):
    tables = root / "tables"
    fidelity = pd.DataFrame({
        "protocol": "spec", "criterion": ["range", "range", "mean", "collapse"], "arch": "deep",
        "N": [100, 5000, 100, 5000], "agreeing": [2, 1, 0, 1], "compared": [2, 2, 4, 2],
    })  # fmt: skip
    write_parquet(fidelity, tables / "fidelity.parquet")
    claims = pd.DataFrame({
        "protocol": ["published", "spec", "spec", "spec", "data"], "level": ["all", "all", "all", "arch", "all"],
        "verdict": ["fails", "holds", "undecided", "fails", "fails"],
    })  # fmt: skip
    write_parquet(claims, tables / "claims.parquet")
    runs = pd.DataFrame({"arch": ["deep", "canonical"], "epochs": epochs, "hidden": "[1024, 1024]"})
    write_parquet(runs, tables / "spec" / "runs.parquet")


def test_the_landing_page_counts_agreement_and_verdicts(tmp_path):
    assert findings(tmp_path, ["spec"]) == ""  # the study has not finished: the page says so instead
    write_tables(tmp_path, [300, 50])
    text = findings(tmp_path, ["spec"])
    assert ("``spec``: ranges 3 of 4, means 0 of 4, collapse pattern 1 of 2 agree (Comparison_); the claims: holds 1, "
            "fails 0, undecided 1.") in text  # fmt: skip
    assert text.startswith("What this study found") and AGREEING in text  # the one definition, as README gives it
    assert "(``published``), the claims: holds 0, fails 1, undecided 0" in text and "Claims_" in text
    assert "decide nothing" not in text
    write_tables(tmp_path, [20, 20])
    assert "Trained shorter than any protocol the project ships" in findings(tmp_path, ["spec"])
