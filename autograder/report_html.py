"""results/report.html: the class in one self-contained page (no network, no server).

Two steps, kept apart so that either can change alone:
  build(prepared, results, feedback) -> ClassReport   plain data: every number and word the page shows
  render(report) -> str                                the page; no grading logic, every text escaped

The page holds the grades table (sorted by a click on a column header), each student's
feedback (a click on the row opens it), the score histogram and the pass rate of every
function (inline SVG and CSS bars), and the most common mistakes with the students who made
them. It loads nothing: the style and the one small script are inline, and its
Content-Security-Policy lets the browser run that script only and fetch nothing at all.

A URL fragment replays clicks, so that a headless browser can check the page:
`report.html#sort=total` clicks the "total" header once (ascending), `#sort=-total` twice
(descending), `#open=2` opens the feedback of the third student of the table as built;
they combine: `#sort=-total&open=0`.

Everything from a submission (its name, status and feedback, and a failure's words, which may
quote an exception the student's code raised) is text, escaped with html.escape.
"""
import base64
import hashlib
import html
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from statistics import mean, median

from . import report
from .catalogue import Catalogue

HISTOGRAM_COLOR = "#332288"   # Tol's indigo: apart from the questions' colours (report.PALETTE)
OTHER_COLOR = "#bbbbbb"
TOP_MISTAKES = 15
HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


# ---------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class Question:
    name: str
    points: float
    color: str          # "#rrggbb"


@dataclass(frozen=True)
class Student:
    name: str
    scores: tuple       # points earned, one per ClassReport.questions, in their order
    total: float
    percent: float      # 0..1
    status: str         # grades.csv's grading_status
    feedback: str       # feedback.txt, as the student reads it


@dataclass(frozen=True)
class Bin:
    low: float
    high: float         # the last bin is closed: it holds full marks
    count: int


@dataclass(frozen=True)
class FunctionRate:
    name: str           # "sigmoid_grad"
    question: str
    color: str
    cases: int          # cases of the function per submission
    rate: float         # share of the function's cases passed, over every submission (0..1)
    all_passed: int     # submissions that passed every case of the function


@dataclass(frozen=True)
class Mistake:
    function: str       # "sigmoid_grad", or "every function of backprop" (a shared status)
    what: str           # the likely mistake, else a few words for the failure
    students: tuple     # names, in the order of ClassReport.students


@dataclass(frozen=True)
class ClassReport:
    lab: str
    questions: tuple    # Question
    possible: float
    students: tuple     # Student, in grades.csv's order
    bins: tuple         # Bin
    functions: tuple    # FunctionRate, in grading order
    mistakes: tuple     # Mistake, most common first (at most TOP_MISTAKES)


def build(prepared, results: list, feedback: list, words=None) -> ClassReport:
    """The class report's data.

    prepared: the prepared lab (autograder.labs.prepare): its lab's questions and the cases.
    results: one autograder.grading.SubmissionResult per submission, its `cases` the
      CaseResults of every prepared case.
    feedback: the feedback text of each result, in the same order (what feedback.txt holds).
    words: the message catalogue (autograder.catalogue) the statuses and mistakes are said in.
    """
    words = words or Catalogue()
    if len(feedback) != len(results):
        raise ValueError(f"report.html needs one feedback text per result: {len(feedback)} for {len(results)}")
    lab = prepared.lab
    colors = report.question_colors(lab.questions)
    questions = tuple(Question(q.name, float(q.points), colors[q.name]) for q in lab.questions)
    possible = float(sum(q.points for q in lab.questions))
    order = sorted(range(len(results)), key=lambda i: str(results[i].name))   # as grades.csv
    students = tuple(Student(str(results[i].name), tuple(float(results[i].scores.get(q.name, 0.0)) for q in lab.questions),
                             float(results[i].total), float(results[i].percent), report.status_text(results[i], words),
                             str(feedback[i]))
                     for i in order)
    edges, counts = report.score_bins(possible, [r.total for r in results])
    bins = tuple(Bin(float(lo), float(hi), int(n)) for lo, hi, n in zip(edges, edges[1:], counts))
    return ClassReport(lab.name, questions, possible, students, bins, function_rates(prepared, results, colors),
                       top_mistakes(prepared, [results[i] for i in order], words))


def function_rates(prepared, results, colors):
    """FunctionRate of every function with cases, in the lab's question order."""
    cases_of = Counter(c.function for c in prepared.cases)
    passed, clean = Counter(), Counter()
    for result in results:
        seen, failed = set(), set()   # a submission not graded has no cases: it passed nothing
        for r in result.cases:
            passed[r.case.function] += bool(r.passed)
            seen.add(r.case.function)
            if not r.passed:
                failed.add(r.case.function)
        clean.update(seen - failed)
    out = []
    for q in prepared.lab.questions:
        for function in q.functions:
            n = cases_of.get(function, 0)
            if n:
                rate = passed[function] / (n * len(results)) if results else 0.0
                out.append(FunctionRate(function.split(".")[-1], q.name, colors[q.name], n, rate, clean[function]))
    return tuple(out)


def top_mistakes(prepared, results, words=None):
    """The most common failures, each submission counted once per function (the words of
    report.png's list), with the names of the submissions that made them."""
    namer = report.Namer(prepared, words)
    who = {}
    for result in results:
        for key in sorted(report.submission_failures(result, namer, prepared.lab.questions)):
            who.setdefault(key, []).append(str(result.name))
    ranked = sorted(who.items(), key=lambda item: (-len(item[1]), item[0]))[:TOP_MISTAKES]
    return tuple(Mistake(str(name), str(what), tuple(names)) for (name, what), names in ranked)


def write(path, prepared, results: list, feedback: list, words=None) -> None:
    """Build and render the report into `path`, atomically (see build for the arguments)."""
    report.write_atomic(Path(path), render(build(prepared, results, feedback, words), words))


# ---------------------------------------------------------------------------- the page
def e(text) -> str:
    """Text as HTML, safe in element content and in quoted attributes."""
    return html.escape(str(text), quote=True)


def num(x: float) -> str:
    return f"{x:.4g}"


def color(value: str) -> str:
    """A colour the model gives, if it is one ("#rrggbb"); grey otherwise."""
    return value if isinstance(value, str) and HEX_COLOR.fullmatch(value) else OTHER_COLOR


STYLE = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", "Apple SD Gothic Neo", "Malgun Gothic",
       "Noto Sans CJK KR", "Noto Sans KR", "NanumGothic", "Liberation Sans", sans-serif;
       margin: 24px; color: #222; background: #fff; font-size: 14px; line-height: 1.4; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
.summary { color: #555; margin: 0 0 16px; }
.figures { display: flex; flex-wrap: wrap; gap: 32px; align-items: flex-start; }
figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: 6px; }
#histogram svg { display: block; }
#histogram rect.bar { fill: """ + HISTOGRAM_COLOR + """; }
#histogram text { font-size: 11px; fill: #444; }
table { border-collapse: collapse; }
th, td { padding: 3px 8px; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
#rates td { padding: 2px 8px; }
.track { width: 180px; height: 12px; background: #eee; margin-top: 3px; }
.fill { height: 12px; }
#grades thead th { background: #f0f0f0; border-bottom: 2px solid #bbb; cursor: pointer; user-select: none;
                   white-space: nowrap; }
#grades thead th:hover { background: #e2e2e2; }
#grades th[aria-sort="ascending"]::after { content: " \\25B2"; }
#grades th[aria-sort="descending"]::after { content: " \\25BC"; }
#grades tbody tr.row { cursor: pointer; border-bottom: 1px solid #e4e4e4; }
#grades tbody tr.row:hover { background: #f6f8fb; }
#grades tbody tr.row[aria-expanded="true"] { background: #eef3fa; }
#grades td.status { max-width: 36em; color: #555; }
#grades pre { white-space: pre-wrap; margin: 4px 0 12px; padding: 10px; background: #fafafa;
              border-left: 3px solid #4477aa; font-size: 12.5px; max-width: 110ch; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; }
#mistakes li { margin-bottom: 6px; }
#mistakes .who { color: #555; }
code { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 12.5px; }
@media print { tr.feedback[hidden] { display: table-row; } #grades thead th { cursor: default; } }
"""

# Clicks on a header sort the students (first click ascending, then each click reverses);
# a click, Enter or Space on a row shows or hides its feedback. The fragment replays clicks
# (see the module docstring). It reads data-* attributes and never writes HTML.
SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("grades-table");
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var sorted = {col: -1, dir: 1};
  function key(body, col, type) {
    var v = body.rows[0].cells[col].getAttribute("data-value");
    return type === "num" ? parseFloat(v) : v;
  }
  function sortBy(col) {
    var type = heads[col].getAttribute("data-type");
    var dir = sorted.col === col ? -sorted.dir : 1;
    var bodies = Array.prototype.slice.call(table.tBodies);
    bodies.sort(function (a, b) {
      var x = key(a, col, type), y = key(b, col, type);
      var c = type === "num" ? x - y : x.localeCompare(y, "ko");
      return dir * c || a.getAttribute("data-index") - b.getAttribute("data-index");
    });
    bodies.forEach(function (b) { table.appendChild(b); });
    heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
    heads[col].setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
    sorted = {col: col, dir: dir};
  }
  heads.forEach(function (h, col) {
    h.addEventListener("click", function () { sortBy(col); });
    h.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); sortBy(col); }
    });
  });
  function toggle(row) {
    var feedback = row.nextElementSibling;
    feedback.hidden = !feedback.hidden;
    row.setAttribute("aria-expanded", feedback.hidden ? "false" : "true");
  }
  Array.prototype.forEach.call(table.tBodies, function (body) {
    var row = body.rows[0];
    row.addEventListener("click", function () { toggle(row); });
    row.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); toggle(row); }
    });
  });
  location.hash.replace(/^#/, "").split("&").forEach(function (part) {
    var kv = part.split("="), value = decodeURIComponent(kv[1] || "");
    if (kv[0] === "sort") {
      var name = value.replace(/^-/, "");
      heads.forEach(function (h) {
        if (h.getAttribute("data-key") === name) {
          h.click();
          if (value.charAt(0) === "-") { h.click(); }
        }
      });
    } else if (kv[0] === "open") {
      Array.prototype.forEach.call(table.tBodies, function (body) {
        if (body.getAttribute("data-index") === value) { body.rows[0].click(); }
      });
    }
  });
  document.documentElement.setAttribute("data-ready", "yes");
})();
"""


def script_hash(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()


def histogram_svg(model: ClassReport, say, width: int = 500, height: int = 240) -> str:
    """The score histogram as inline SVG: one bar per non-empty bin, integer count ticks."""
    left, right, top, bottom = 40, 12, 14, 38
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max([b.count for b in model.bins] + [1])
    span = model.possible or 1.0
    x = lambda v: left + plot_w * v / span
    y = lambda n: top + plot_h * (1 - n / highest)
    parts = [f'<svg width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{e(say("html.histogram"))}">']
    step = max(1, -(-highest // 5))
    for n in range(0, highest + 1, step):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(n):.1f}" y2="{y(n):.1f}" stroke="#e6e6e6"/>'
                     f'<text x="{left - 6}" y="{y(n) + 4:.1f}" text-anchor="end">{n}</text>')
    for b in model.bins:
        if b.count:
            x0, x1 = x(b.low), x(b.high)
            parts.append(f'<rect class="bar" x="{x0 + 0.5:.1f}" y="{y(b.count):.1f}" width="{max(1.0, x1 - x0 - 1):.1f}" '
                         f'height="{y(0) - y(b.count):.1f}"><title>'
                         f'{e(say("html.bin", low=num(b.low), high=num(b.high), count=b.count, s="s" if b.count != 1 else ""))}'
                         f'</title></rect>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#888"/>')
    tick = 10 if span > 40 else 5 if span > 10 else 1
    v = 0.0
    while v <= span + 1e-9:
        parts.append(f'<text x="{x(v):.1f}" y="{y(0) + 15:.1f}" text-anchor="middle">{e(num(v))}</text>')
        v += tick
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle">{e(say("report.total_points"))}</text>')
    parts.append(f'<text x="12" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
                 f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">{e(say("report.submissions"))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def rates_table(model: ClassReport, say) -> str:
    n = len(model.students)
    rows = []
    for f in model.functions:
        rows.append(f'<tr><td><span class="swatch" style="background:{color(f.color)}"></span><code>{e(f.name)}</code></td>'
                    f'<td>{e(f.question)}</td>'
                    f'<td><div class="track"><div class="fill" style="width:{100 * max(0.0, min(1.0, f.rate)):.1f}%;'
                    f'background:{color(f.color)}"></div></div></td>'
                    f'<td class="num">{100 * f.rate:.0f}%</td><td class="num">{e(say("html.of", k=f.all_passed, n=n))}</td></tr>')
    return (f'<table id="rates"><thead><tr><th>{e(say("html.function"))}</th><th>{e(say("html.question"))}</th>'
            f'<th>{e(say("html.cases_passed"))}</th><th class="num"></th>'
            f'<th class="num" title="{e(say("html.all_right_title"))}">{e(say("html.all_right"))}</th></tr></thead>'
            '<tbody>' + "".join(rows) + "</tbody></table>")


def grades_table(model: ClassReport, say) -> str:
    heads = [f'<th tabindex="0" data-key="name" data-type="text">{e(say("html.student"))}</th>']
    heads += [f'<th tabindex="0" class="num" data-key="{e(q.name)}" data-type="num">{e(q.name)} ({e(num(q.points))})</th>'
              for q in model.questions]
    heads += [f'<th tabindex="0" class="num" data-key="total" data-type="num">{e(say("table.total"))} ({e(num(model.possible))})</th>',
              f'<th tabindex="0" data-key="status" data-type="text">{e(say("table.status"))}</th>']
    columns = len(heads)
    bodies = []
    for i, s in enumerate(model.students):
        cells = [f'<td data-value="{e(s.name)}">{e(s.name)}</td>']
        cells += [f'<td class="num" data-value="{v!r}">{e(num(v))}</td>' for v in s.scores]
        cells += [f'<td class="num" data-value="{s.total!r}"><b>{e(num(s.total))}</b></td>',
                  f'<td class="status" data-value="{e(s.status)}">{e(s.status)}</td>']
        bodies.append(f'<tbody class="student" data-index="{i}"><tr class="row" tabindex="0" aria-expanded="false">'
                      + "".join(cells) + f'</tr><tr class="feedback" hidden><td colspan="{columns}">'
                      f'<pre>{e(s.feedback)}</pre></td></tr></tbody>')
    return (f'<table id="grades-table"><thead><tr>{"".join(heads)}</tr></thead>' + "".join(bodies) + "</table>")


def mistakes_list(model: ClassReport, say) -> str:
    if not model.mistakes:
        return f"<p>{e(say('report.no_failures'))}</p>"
    items = [f'<li><code>{e(m.function)}</code>: {e(m.what)} <span class="who">('
             f'{e(say("html.who", count=len(m.students), s="s" if len(m.students) != 1 else ""))}: '
             f'{", ".join(e(name) for name in m.students)})</span></li>'
             for m in model.mistakes]
    return "<ol>" + "".join(items) + "</ol>"


def render(model: ClassReport, words=None) -> str:
    """The page of `model`: one self-contained HTML document (UTF-8), in the catalogue's words."""
    words = words or Catalogue()
    say = words.say
    totals = [s.total for s in model.students]
    summary = (say("html.summary", count=len(totals), s="s" if len(totals) != 1 else "", mean=num(mean(totals)),
                   median=num(median(totals)), highest=num(max(totals)), possible=num(model.possible))
               if totals else say("html.none"))
    policy = (f"default-src 'none'; style-src 'unsafe-inline'; script-src '{script_hash(SCRIPT)}'; "
              "img-src data:; form-action 'none'; base-uri 'none'")
    title = say("html.title", lab=model.lab)
    return "".join([
        f'<!DOCTYPE html>\n<html lang="{e(words.lang)}">\n<head>\n<meta charset="utf-8">\n',
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>{e(title)}</title>\n<style>{STYLE}</style>\n",
        "<noscript><style>tr.feedback[hidden] { display: table-row; }</style></noscript>\n</head>\n<body>\n",
        f'<h1>{e(title)}</h1>\n<p class="summary">{e(summary)}</p>\n',
        '<section class="figures">\n',
        f'<figure id="histogram"><figcaption>{e(say("html.scores"))}</figcaption>{histogram_svg(model, say)}</figure>\n',
        f'<figure id="pass-rates"><figcaption>{e(say("html.rates"))}</figcaption>{rates_table(model, say)}</figure>\n',
        "</section>\n",
        f'<section id="grades"><h2>{e(say("html.grades"))}</h2><p class="summary">{e(say("html.grades_help"))}</p>\n',
        grades_table(model, say), "</section>\n",
        f'<section id="mistakes"><h2>{e(say("html.mistakes"))}</h2><p class="summary">{e(say("html.mistakes_help"))}</p>\n',
        mistakes_list(model, say), "</section>\n",
        f"<script>{SCRIPT}</script>\n</body>\n</html>\n",
    ])

