"""Text results written as Markdown and HTML from one structure: same cells both ways, and a table's rows cannot
have more or fewer cells than its header."""

from html.parser import HTMLParser

import pytest

from bvae.report.document import Bullets, Heading, Paragraph, Table, from_markdown, inline, to_html, to_markdown
from tests.conftest import markdown_tables


class Cells(HTMLParser):
    """The text of every <th>/<td> per table row, and the captions, of an HTML page."""

    def __init__(self, page: str):
        super().__init__()
        self.rows, self.captions, self.cell = [], [], None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th", "caption"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append(self.cell)
        elif tag == "caption":
            self.captions.append(self.cell)
        if tag in ("td", "th", "caption"):
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def html_rows(page: str) -> list[list[str]]:
    return Cells(page).rows


TABLE = Table(
    ("", "bound", "a|b"), (("d=1; N=2", "1.00", "[–1.00%; 2.00%]"), ("x", "", "`y`")), (False, True, True), "Cap"
)


def test_markdown_and_html_hold_the_same_cells():
    blocks = [Heading("Title"), Paragraph("All *pct*, see `spec`."), Bullets(("one", "two")), TABLE]
    md, page = to_markdown(blocks), to_html(blocks, "t")
    ((header, rows),) = markdown_tables(md)
    assert [header, *rows] == [list(TABLE.header), *map(list, TABLE.rows)]
    assert html_rows(page) == [[cell.replace("`", "") for cell in row] for row in [header, *rows]]  # `y`: <code>
    assert md.splitlines()[:2] == ["# Title", ""] and "- one\n- two" in md
    assert "| | bound | a\\|b |" in md and "|---|---:|---:|" in md
    assert Cells(page).captions == ["Cap"] and "<em>pct</em>" in page and "<code>spec</code>" in page


def test_a_row_with_a_cell_too_many_or_too_few_is_refused():
    with pytest.raises(ValueError, match="has 3 cells; expected 2"):
        Table(("a", "b"), (("1", "2"), ("1", "2", "3")), (False, True))
    with pytest.raises(ValueError, match="1 alignments for 2 columns"):
        Table(("a", "b"), (), (False,))


def test_inline_marks_and_escaping():
    assert inline("a < b & `x*y` *em* 2*3*4") == "a &lt; b &amp; <code>x*y</code> <em>em</em> 2*3*4"
    assert inline("**holds** and *a*") == "<strong>holds</strong> and <em>a</em>"


def test_markdown_reads_back_as_the_blocks_it_was_written_from():
    blocks = [Heading("Title"), Paragraph("All *pct*."), Bullets(("one", "two")), Heading("Part", 2), TABLE]
    caption = Paragraph(TABLE.caption)  # read back, a caption is the paragraph above its table
    assert from_markdown(to_markdown(blocks)) == [*blocks[:-1], caption, Table(TABLE.header, TABLE.rows, TABLE.right)]
    wrapped = from_markdown("one line\nand the next  \nbroken\n| not a table\n\n- item")
    assert wrapped == [Paragraph("one line and the next"), Paragraph("broken"), Paragraph("| not a table"),
                       Bullets(("item",))]  # fmt: skip
    with pytest.raises(ValueError, match="has 3 cells; expected 2"):
        from_markdown("| a | b |\n|---|---|\n| 1 | 2 | 3 |")


def test_negative_numbers_take_the_minus_sign_and_marked_cells_their_colour():
    table = Table(("name", "value", "verdict"), (("lr5e-4_b256", "[-1.50; -0.20]", "**✓ holds**"),
                                                 ("d200_N100", "-.5", "✗ fails")), (False, True, False))  # fmt: skip
    text = to_markdown([table])
    assert "[−1.50; −0.20]" in text and "| −.5 |" in text and "lr5e-4_b256" in text  # names keep their hyphens
    page = to_html([table], "t")
    assert '<td class="text yes"><strong>✓ holds</strong></td>' in page and '<td class="text no">✗ fails</td>' in page
    assert "nowrap; }" in page and "td.yes" in page  # only numbers and verdicts stay on one line
