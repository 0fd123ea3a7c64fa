"""Text results (the paper's tables, the comparison, the claims) as one structure, written as Markdown and HTML.

Markdown reads well in a terminal and on GitHub; Snakemake's report shows an `.html` result in a frame but an `.md`
one only as a link, so each text result is written both ways from the same blocks (`from_markdown` reads the blocks
back from Markdown that a module writes as text). Inline text uses three Markdown marks, `code`, *emphasis* and
**strong**, which the HTML writer translates.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table of text cells; `right` marks the columns aligned right (numbers). Every row has a cell per column."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    right: tuple[bool, ...]
    caption: str = ""

    def __post_init__(self):
        if len(self.right) != len(self.header):
            raise ValueError(f"{len(self.right)} alignments for {len(self.header)} columns; expected one per column")
        for row in self.rows:
            if len(row) != len(self.header):
                raise ValueError(f"row {row!r} has {len(row)} cells; expected {len(self.header)}, one per column")


Block = Heading | Paragraph | Bullets | Table


NEGATIVE = re.compile(r"(?<![\w.\-])-(?=\.?\d)")  # a hyphen before a number that starts no word: a minus sign
MARKS = {"✓": "yes", "✗": "no", "?": "open", "≈": "open"}  # a cell opening with one of these, then a space


def minus(cell: str) -> str:
    """A table cell with its negative numbers written with the minus sign (−), as the text writes them."""
    return NEGATIVE.sub("−", cell)


def mark(cell: str) -> str:
    """The class of a cell that opens with a verdict mark (also in **strong**), or ""."""
    bare = cell.lstrip("*")
    return MARKS.get(bare[:1], "") if bare[1:2] == " " else ""


def _markdown_row(cells: tuple[str, ...]) -> str:
    """One table line; a | inside a cell is escaped, an empty cell stays empty."""
    return "|" + "|".join(" " + minus(cell).replace("|", "\\|") + " " if cell else " " for cell in cells) + "|"


def _markdown_table(table: Table) -> list[str]:
    rule = "|" + "".join("---:|" if right else "---|" for right in table.right)
    caption = [table.caption, ""] if table.caption else []
    return [*caption, _markdown_row(table.header), rule, *map(_markdown_row, table.rows)]


def to_markdown(blocks: list[Block]) -> str:
    """The blocks as Markdown, separated by blank lines."""
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(["#" * block.level + " " + block.text])
        elif isinstance(block, Paragraph):
            parts.append([block.text])
        elif isinstance(block, Bullets):
            parts.append([f"- {item}" for item in block.items])
        else:
            parts.append(_markdown_table(block))
    return "\n\n".join("\n".join(part) for part in parts) + "\n"


TABLE_RULE = re.compile(r"\|(\s*:?-+:?\s*\|)+")


def cells(line: str) -> tuple[str, ...]:
    """The cells of a Markdown table line (outer pipes dropped, escaped pipes kept in their cell)."""
    return tuple(cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1]))


def _run_end(lines: list[str], start: int, ends) -> int:
    """The index of the first line from `start` on for which `ends(line)` holds, or the number of lines."""
    return next((j for j in range(start, len(lines)) if ends(lines[j])), len(lines))


def from_markdown(text: str) -> list[Block]:
    """The blocks of Markdown as this project writes it: # headings, - bullets, pipe tables, paragraphs (a line ending
    in a hard break closes its paragraph). A table row with another number of cells than its header is refused."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if not line:
            end = i + 1
        elif line.startswith("#"):
            marks = len(line) - len(line.lstrip("#"))
            blocks.append(Heading(line[marks:].strip(), marks))
            end = i + 1
        elif line.startswith("|") and i + 1 < len(lines) and TABLE_RULE.fullmatch(lines[i + 1].strip()):
            right = tuple(rule.endswith(":") for rule in cells(lines[i + 1]))
            end = _run_end(lines, i + 2, lambda row: not row.startswith("|"))
            blocks.append(Table(cells(lines[i]), tuple(cells(row) for row in lines[i + 2 : end]), right))
        elif line.startswith("- "):
            end = _run_end(lines, i, lambda item: not item.startswith("- "))
            blocks.append(Bullets(tuple(item[2:] for item in lines[i:end])))
        else:  # a paragraph runs to a blank line or the start of another block, or through a hard break ("  ")
            end = _run_end(lines, i + 1, lambda part: not part.strip() or part[0] in "#|-")
            end = min(end, _run_end(lines, i, lambda part: part.endswith("  ")) + 1)
            blocks.append(Paragraph(" ".join(part.strip() for part in lines[i:end])))
        i = end
    return blocks


def inline(text: str) -> str:
    """Escaped HTML of a line of text, with `code`, *emphasis* and **strong** as Markdown writes them."""
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*\s][^*]*?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"<em>\1</em>", text)


def _html_row(cells: tuple[str, ...], right: tuple[bool, ...], tag: str) -> str:
    tagged = (f'<{tag} class="{" ".join(filter(None, ("num" if r else "text", mark(c))))}">{inline(minus(c))}</{tag}>'
              for c, r in zip(cells, right, strict=True))  # fmt: skip
    return "<tr>" + "".join(tagged) + "</tr>"


def _html_table(table: Table) -> list[str]:
    caption = [f"<caption>{inline(table.caption)}</caption>"] if table.caption else []
    head = f"<thead>{_html_row(table.header, table.right, 'th')}</thead>"
    body = [_html_row(cells, table.right, "td") for cells in table.rows]
    return ["<table>", *caption, head, "<tbody>", *body, "</tbody>", "</table>"]


STYLE = """
body { font-family: system-ui, sans-serif; font-size: 14px; color: #1f2937; margin: 1.5em; max-width: 96em; }
table { border-collapse: collapse; margin: 1em 0; }
caption { caption-side: top; text-align: left; padding-bottom: 0.6em; max-width: 60em; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #d1d5db; vertical-align: top; }
th { border-bottom: 2px solid #6b7280; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.text { text-align: left; overflow-wrap: break-word; }  /* long cells wrap between words, short ones whole */
tbody tr:nth-child(even) { background: #f3f4f6; }
td.yes { background: #dcfce7; color: #14532d; }
td.no { background: #fee2e2; color: #7f1d1d; }
td.open { background: #fef3c7; color: #78350f; }
td.yes, td.no, td.open { white-space: nowrap; }
code { font-size: 0.95em; }
"""


def to_html(blocks: list[Block], title: str) -> str:
    """The blocks as a self-contained HTML page (inline style, no script, nothing fetched)."""
    body = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{inline(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{inline(block.text)}</p>")
        elif isinstance(block, Bullets):
            body += ["<ul>", *(f"<li>{inline(item)}</li>" for item in block.items), "</ul>"]
        else:
            body += _html_table(block)
    head = ['<meta charset="utf-8">', f"<title>{html.escape(title)}</title>", f"<style>{STYLE}</style>"]
    page = ["<!DOCTYPE html>", '<html lang="en">', "<head>", *head, "</head>", "<body>", *body, "</body>", "</html>"]
    return "\n".join(page) + "\n"
