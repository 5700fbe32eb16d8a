"""The gallery: every lesson's sections, figures, checked numbers and source claims as web pages.

`python -m course gallery` runs each lesson (or reuses its `summary.json` when it is newer than
the lesson file) and writes `figures/index.html` and `figures/<lesson>.html`: the sections in the
lesson's order with their prose, each figure with its caption, the numbers with the status of
each check (tool checks apart from claim checks), and the box of source claims with their status.
The pages are self-contained: images by relative path, styles inline, no script, no network.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from course.runtime.cells import Cell, lesson_cells

STATUS_CLASS = {"reproduced": "good", "partial": "mixed", "constructed only": "built", "not reproduced": "bad"}


@dataclass
class LessonPage:
    entry: object  # syllabus.LessonEntry
    summary: dict
    folder: Path  # the lesson's output folder (figures and summary.json)

    @property
    def file(self) -> str:
        return f"{self.entry.stem}.html"


def summary_is_fresh(entry, folder: Path, fast: bool) -> bool:
    """A summary.json newer than the lesson file, from a full run or (when fast is asked) any run."""
    path = folder / "summary.json"
    if not path.is_file() or path.stat().st_mtime < entry.path.stat().st_mtime:
        return False
    try:
        summary = json.loads(path.read_text())
    except ValueError:
        return False
    return "sections" in summary and (fast or not summary.get("fast"))


def write_gallery(pages: list[LessonPage], root: Path) -> list[Path]:
    """Write root/index.html and one page per lesson; return their paths."""
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for i, page in enumerate(pages):
        neighbours = (pages[i - 1] if i > 0 else None, pages[i + 1] if i + 1 < len(pages) else None)
        path = root / page.file
        path.write_text(lesson_html(page, root, neighbours))
        written.append(path)
    index = root / "index.html"
    index.write_text(index_html(pages, root))
    return [index] + written


# --- pages -----------------------------------------------------------------------------------

def index_html(pages: list[LessonPage], root: Path) -> str:
    from course.runtime.lesson import check_tally, claim_tally, run_total

    rows = []
    for page in pages:
        s = page.summary
        thumbs = "".join(f'<img src="{_src(page.folder / f, root)}" alt="{_e(f)}">'
                         for f in s.get("figures", [])[:4])
        rows.append(f"""<li class="lesson"><a href="{page.file}"><h2>{page.entry.number:02d} · {_e(s.get('title', ''))}</h2>
<div class="thumbs">{thumbs}</div></a>
<p class="tally">{len(s.get('figures', []))} figures · {_e(check_tally(s.get('checks', {})))} ·
claims: {_e(claim_tally(s.get('claims', [])))}{' · fast mode' if s.get('fast') else ''}</p></li>""")
    body = f"""<h1>Conv Circuits: the lessons</h1>
<p class="total">{_e(run_total([p.summary for p in pages]))}</p>
<ol class="lessons">{''.join(rows)}</ol>"""
    return _document("Conv Circuits: the lessons", body)


def lesson_html(page: LessonPage, root: Path, neighbours) -> str:
    from course.runtime.lesson import check_tally, claim_tally

    s, cells = page.summary, lesson_cells(page.entry.path)
    ran = {section["title"]: section for section in s.get("sections", [])}
    checks = s.get("checks", {})
    parts = [f'<nav><a href="index.html">all lessons</a>{_neighbour_links(neighbours)}</nav>',
             f"<h1>{page.entry.number:02d} · {_e(s.get('title', ''))}</h1>",
             _prose_html(_intro(cells)),
             f'<p class="tally">{_e(check_tally(checks))} · claims: {_e(claim_tally(s.get("claims", [])))}'
             f'{" · fast mode" if s.get("fast") else ""} · {s.get("seconds", "?")} s</p>']
    if "" in ran:  # figures or numbers before the first heading
        parts.append(_section_html("", "", ran.pop(""), checks, page, root))
    for cell in cells:
        if cell.heading is not None:
            parts.append(_section_html(cell.heading, cell.prose, ran.pop(cell.heading, None), checks, page, root))
    for title, section in ran.items():  # a heading that changed since the run
        parts.append(_section_html(title, "", section, checks, page, root))
    parts.append(_claims_html(s.get("claims", [])))
    return _document(f"{page.entry.number:02d} · {s.get('title', '')}", "\n".join(parts))


def _section_html(title: str, prose: str, ran: dict | None, checks: dict, page: LessonPage, root: Path) -> str:
    anchor = _anchor(title or "start")
    out = [f'<section id="{anchor}">']
    if title:
        out.append(f'<h2><a href="#{anchor}">{_e(title)}</a></h2>')
    out.append(_prose_html(prose))
    if ran:
        for figure in ran["figures"]:
            src = _src(page.folder / figure["file"], root)
            out.append(f'<figure><a href="{src}"><img src="{src}" alt="{_e(figure["caption"] or figure["file"])}">'
                       f'</a><figcaption>{_inline(figure["caption"])}</figcaption></figure>')
        if ran["numbers"]:
            out.append('<table class="numbers"><tr><th>number</th><th>value</th><th>meaning</th><th>check</th></tr>')
            for number in ran["numbers"]:
                out.append(_number_row(number, page.summary, checks.get(number["key"])))
            out.append("</table>")
    out.append("</section>")
    return "\n".join(out)


def _number_row(number: dict, summary: dict, check: dict | None) -> str:
    key = number["key"]
    value = check["value"] if check else summary.get(key)
    meaning = number.get("meaning") or number["text"].split("#", 1)[-1].strip()
    if check:
        status = "ok" if check["ok"] else "FAILED"
        verdict = f'<span class="{"good" if check["ok"] else "bad"}">{status}</span> {_e(check["limit"])}' \
                  f' <span class="kind">{check.get("kind", "claim")} check</span>'
    else:
        verdict = ""
    return (f'<tr id="n-{_e(key)}"><td><code>{_e(key)}</code></td><td>{_e(_value_text(value))}</td>'
            f"<td>{_inline(meaning)}</td><td>{verdict}</td></tr>")


def _claims_html(claims: list) -> str:
    if not claims:
        return '<section class="claims"><h2>Claims of the source texts</h2><p>None recorded for this lesson.</p></section>'
    rows = []
    for c in claims:
        evidence = ", ".join(f'<a href="#n-{_e(k)}"><code>{_e(k)}</code></a>' for k in c["evidence"])
        note = f'<br><span class="note">{_inline(c["note"])}</span>' if c.get("note") else ""
        rows.append(f'<tr><td><span class="badge {STATUS_CLASS[c["status"]]}">{_e(c["status"])}</span></td>'
                    f'<td><strong>{_e(c["id"])}</strong>: {_inline(c["claim"])}{note}</td>'
                    f'<td>{_e(c["source"])}</td><td>{evidence}</td></tr>')
    return ('<section class="claims"><h2>Claims of the source texts</h2><table><tr><th>status</th><th>claim</th>'
            '<th>source</th><th>evidence</th></tr>' + "".join(rows) + "</table></section>")


def _neighbour_links(neighbours) -> str:
    previous, following = neighbours
    links = ""
    if previous is not None:
        links += f' · <a href="{previous.file}">← {previous.entry.number:02d}</a>'
    if following is not None:
        links += f' · <a href="{following.file}">{following.entry.number:02d} →</a>'
    return links


def _intro(cells: list[Cell]) -> str:
    """The first markdown cell's prose (the lesson's opening paragraph)."""
    first = next((cell for cell in cells if cell.kind == "markdown"), None)
    return first.prose if first is not None and first.heading is None else ""


# --- text ------------------------------------------------------------------------------------

def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _inline(text: str) -> str:
    """Escaped text with `code`, **strong** and *emphasis* marked up."""
    text = _e(text or "")
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"<em>\1</em>", text)


def _prose_html(prose: str) -> str:
    """Paragraphs and '- ' lists of a markdown cell (the subset lessons use)."""
    blocks, out = re.split(r"\n\s*\n", prose.strip()), []
    for block in blocks:
        lines = block.splitlines()
        if not block.strip():
            continue
        if all(line.startswith(("- ", "  ")) for line in lines) and lines[0].startswith("- "):
            items, current = [], []
            for line in lines:
                if line.startswith("- ") and current:
                    items.append(" ".join(current))
                    current = []
                current.append(line[2:].strip() if line.startswith("- ") else line.strip())
            items.append(" ".join(current))
            out.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + "</ul>")
        else:
            out.append(f"<p>{_inline(' '.join(line.strip() for line in lines))}</p>")
    return "\n".join(out)


def _value_text(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"


def _src(path: Path, root: Path) -> str:
    import os

    return html.escape(Path(os.path.relpath(path, root)).as_posix(), quote=True)


def _document(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>
body {{ font: 17px/1.5 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }}
h1 {{ font-size: 1.9em; }} h2 {{ margin-top: 2em; border-bottom: 1px solid #ddd; }}
h2 a {{ color: inherit; text-decoration: none; }}
figure {{ margin: 1.2em 0; }} figure img {{ max-width: 100%; border: 1px solid #eee; }}
figcaption {{ color: #555; font-size: 0.95em; }}
table {{ border-collapse: collapse; width: 100%; margin: 1em 0; font-size: 0.92em; }}
td, th {{ border-top: 1px solid #e4e4e4; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }}
code {{ background: #f4f4f4; padding: 0 0.2em; }}
.good {{ color: #1a7f37; font-weight: 600; }} .bad {{ color: #c62828; font-weight: 600; }}
.kind, .note, .tally, .total {{ color: #666; }}
.badge {{ padding: 0.1em 0.5em; border-radius: 0.8em; white-space: nowrap; color: white; font-size: 0.9em; }}
.badge.good {{ background: #1a7f37; }} .badge.mixed {{ background: #b26a00; }}
.badge.built {{ background: #5a5a9c; }} .badge.bad {{ background: #c62828; }}
.claims {{ background: #fafafa; border: 1px solid #ddd; padding: 0 1em; margin-top: 2em; }}
ol.lessons {{ list-style: none; padding: 0; }} li.lesson {{ margin: 1.5em 0; }}
li.lesson a {{ color: inherit; text-decoration: none; }}
.thumbs img {{ height: 110px; margin-right: 0.5em; border: 1px solid #eee; }}
nav {{ font-size: 0.95em; }}
</style></head>
<body>
{body}
</body></html>
"""
