"""What a study found, as tables and text: the paper's eight tables, the comparison with its published cells, the
claims decided, the calibration summary, the front page's answer and the Markdown/HTML documents they are written in.

Layer 4: imports `bvae.study.plan`, `bvae.model`, `bvae.data` and the base modules; no torch, no matplotlib.
(`findings`, the function, is `bvae.report.findings.findings`.)
"""

from bvae.report.answer import answer_parts, readme_block, with_block
from bvae.report.calibration import (
    calibration_markdown,
    decide_calibration_claims,
    summarise_calibration,
    summarise_runs,
)
from bvae.report.claims import Thresholds, claims_markdown, epochs_to_region, evaluate
from bvae.report.comparison import at_epoch, compare, comparison_document, history_paths, paper_tables, read_histories
from bvae.report.document import Block, Bullets, Heading, Paragraph, Table, from_markdown, to_html, to_markdown
from bvae.report.evidence import Cell, combine, narrower, sign, within
from bvae.report.fidelity import COLLAPSED_KL, collapse_pattern, fidelity_table, paper_collapse
from bvae.report.labels import by_number, dataset_labels
from bvae.report.tables import (
    COLUMN_ORDER,
    TABLES,
    TableSpec,
    collect_runs,
    deviation_table,
    table_document,
    training_text,
    with_exact_nll,
)

__all__ = [
    "Block",
    "Bullets",
    "COLLAPSED_KL",
    "COLUMN_ORDER",
    "Cell",
    "Heading",
    "Paragraph",
    "TABLES",
    "Table",
    "TableSpec",
    "Thresholds",
    "answer_parts",
    "at_epoch",
    "by_number",
    "calibration_markdown",
    "claims_markdown",
    "collapse_pattern",
    "collect_runs",
    "combine",
    "compare",
    "comparison_document",
    "dataset_labels",
    "decide_calibration_claims",
    "deviation_table",
    "epochs_to_region",
    "evaluate",
    "fidelity_table",
    "from_markdown",
    "history_paths",
    "narrower",
    "paper_collapse",
    "paper_tables",
    "read_histories",
    "readme_block",
    "sign",
    "summarise_calibration",
    "summarise_runs",
    "table_document",
    "to_html",
    "to_markdown",
    "training_text",
    "with_block",
    "with_exact_nll",
    "within",
]
