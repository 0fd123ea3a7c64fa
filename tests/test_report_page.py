"""The report as a reader opens it: the documented `snakemake --report` command (no other option) takes the
project's stylesheet from the default profile; the landing text starts at the top of the window, spans its width in
columns and has the rule graph below it (measured in headless Chromium where it is installed); result lists sort
datasets by their numbers."""

import json
import re
import shutil
import subprocess
from types import SimpleNamespace

import pytest

from bvae.report.labels import FIGURE_SPACE, by_number, dataset_labels
from tests.conftest import snakemake

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip

# Run in the report once it has drawn: where the landing text and the rule graph are, and how many columns the text
# fills (one left edge per column among the fragments of its blocks).
MEASURE = """<script>setTimeout(function () {
    const pane = document.querySelector('#app div.grow.h-screen.overflow-auto');
    const text = document.querySelector('#app .prose').getBoundingClientRect();
    const blocks = [...document.querySelectorAll('#app .prose :is(h1, p, ul)')];
    const lefts = new Set(blocks.flatMap(el => [...el.getClientRects()].map(r => Math.round(r.left))));
    const out = document.createElement('pre');
    out.id = 'measured';
    out.textContent = JSON.stringify({pane_top: pane.getBoundingClientRect().top, pane_width: pane.clientWidth,
        scroll_width: pane.scrollWidth, text_top: text.top, text_bottom: text.bottom, text_width: text.width,
        graph_top: document.querySelector('#rulegraph').getBoundingClientRect().top, columns: lefts.size});
    document.body.appendChild(out);
}, 1000);</script>"""


@pytest.fixture(scope="module")
def report(tiny) -> str:
    """The tiny study's report, built by the command README documents."""
    run = snakemake(tiny, "--report", "landing.html", "--configfile", ".test/config.yaml")
    assert run.returncode == 0, run.stderr[-2000:]
    return (tiny / "landing.html").read_text(encoding="utf-8")


def test_numbers_are_padded_so_that_text_order_is_number_order():
    names = ["d200_N10000", "d1000_N100", "digits", "d200_N5000", "d30_N100"]
    labels = by_number(names)
    assert labels["d30_N100"] == f"d{FIGURE_SPACE * 3}30_N{FIGURE_SPACE * 2}100" and labels["digits"] == "digits"
    # Chromium's localeCompare sorts white space before digits, as the code points of " " and "0"-"9" do.
    order = sorted(names, key=lambda name: labels[name].replace(FIGURE_SPACE, " "))
    assert order == ["d30_N100", "d200_N5000", "d200_N10000", "d1000_N100", "digits"]
    job = SimpleNamespace(dataset="d30_N100", arch="deep")  # a rule's labels, as Snakemake calls them per job
    assert dataset_labels(names, network="{arch}")(job) == {"dataset": labels["d30_N100"], "network": "{arch}"}


def test_the_report_command_as_documented_takes_the_stylesheet_and_the_number_labels(tiny, report):
    assert (tiny / "workflow" / "report" / "style.css").read_text() in report
    results = json.loads(re.search(r"var results = (\{.*?\});\n", report, re.S)[1])
    labels = {path: entry["labels"]["dataset"] for path, entry in results.items() if "/figures/" in path
              and "dataset" in entry["labels"]}  # fmt: skip
    assert len(labels) == 2 + 2 * 2 * 2  # scree per dataset, loss per protocol, dataset and network
    padded = by_number(["d24_N100", "d24_N400"])
    assert all(label == padded[next(name for name in padded if name in path)] for path, label in labels.items())


@pytest.mark.skipif(CHROMIUM is None, reason="needs headless Chromium (Debian: apt-get install chromium)")
@pytest.mark.parametrize("width, height, columns", [(1400, 900, 2), (2600, 1400, 3)])
def test_the_landing_page_starts_at_the_top_and_uses_the_width(report, tmp_path, width, height, columns):
    head, tail = report.rsplit("</body>", 1)
    page = tmp_path / "measured.html"
    page.write_text(head + MEASURE + "</body>" + tail, encoding="utf-8")
    run = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={width},{height}",
         "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    found = json.loads(run.stdout.split('<pre id="measured">', 1)[1].split("</pre>", 1)[0])
    assert found["text_top"] >= found["pane_top"]  # its first line within reach (it was 85 px above at 1400 x 900)
    assert found["scroll_width"] <= found["pane_width"]  # nothing out of reach sideways
    assert found["text_width"] >= 0.9 * found["pane_width"] and found["columns"] >= columns  # the width used
    assert found["graph_top"] >= found["text_bottom"]  # the rule graph below the text
