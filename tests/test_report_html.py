"""results/report.html: its data (autograder.report_html.build), a page that loads nothing and
escapes everything a submission wrote, and the page in a real headless browser (Debian's
chromium): the DOM holds the rows and nothing a student wrote runs, a header click sorts,
a row click opens the feedback, and a screenshot shows the histogram and the pass-rate bars.

The class is four SubmissionResults built here on the lab's prepared cases (no grading): the
reference, a Korean name, a submission named like a script whose feedback closes the page's
tags, and a skeleton."""
import os
import shutil
import signal
import subprocess
import tempfile
from html.parser import HTMLParser

import numpy as np
import pytest

from autograder import report, report_html
from autograder.config import DEFAULTS
from autograder.findings import Kind, finding, known
from autograder.grading import CaseResult, SubmissionResult, score
from autograder.labs import load_lab, prepare

HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_FEEDBACK = '</details></pre></td></tr></table><script>document.title="pwned"</script><img src=x onerror="document.title=1">'
KOREAN = "김민수"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium): "
                                                              "the browser tests of report.html need it")
WINDOW = (1280, 1500)
BROWSER_TIMEOUT = 20   # seconds; a page takes about one


def graded(prepared, name, fails, problem=None):
    """A SubmissionResult: fails(case) gives the failing Finding of a case, or None."""
    cases = []
    for case in prepared.cases:
        message = fails(case)
        cases.append(CaseResult(case, message is None, message, credit=1.0 if message is None else 0.0))
    return SubmissionResult(name, score(prepared, cases), prepared.lab.points, cases, problem, "bwrap")


def class_results(prepared):
    on_output = finding(Kind.VALUES, "result", known("sigma' applied to sigma(z) (the output) instead of z"),
                        wrong=3, size=5, max_abs=0.06, max_rel=0.2, index=(0,), expected=0.25, got=0.1966)
    hostile = finding(Kind.RAISED, error="ValueError", line=HOSTILE_FEEDBACK)   # the student's own line, public cases
    problem = finding(Kind.IMPORT, module="mlp", cause="ambiguous", file="mlp.py", names=HOSTILE_NAME)   # file names are theirs
    return [
        graded(prepared, "reference", lambda c: None),
        graded(prepared, KOREAN, lambda c: on_output if c.function in ("activations.sigmoid_grad", "activations.tanh_grad")
               else None),
        graded(prepared, HOSTILE_NAME, lambda c: hostile if c.question in ("forward", "training")
               else on_output if c.function == "activations.sigmoid_grad" else None, problem=problem),
        graded(prepared, "skeleton", lambda c: None if c.question == "tlu" else finding(Kind.NOT_WRITTEN)),
    ]


@pytest.fixture(scope="module")
def built():
    prepared = prepare(load_lab("lab17_backprop"), DEFAULTS)
    results = class_results(prepared)
    feedback = [report.feedback_text(r, prepared) + (HOSTILE_FEEDBACK if r.name == HOSTILE_NAME else "") for r in results]
    return prepared, results, report_html.build(prepared, results, feedback)


@pytest.fixture(scope="module")
def page(built, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(report_html.render(built[2]), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- the model and the page's source
def test_the_model_holds_rows_histogram_rates_and_mistakes(built):
    prepared, results, model = built
    assert [s.name for s in model.students] == sorted(r.name for r in results)   # grades.csv's order
    by_name = {s.name: s for s in model.students}
    assert by_name["reference"].total == 100 and by_name["skeleton"].total == 15
    assert by_name[KOREAN].scores == tuple(next(r for r in results if r.name == KOREAN).scores[q.name]
                                           for q in prepared.lab.questions)
    assert HOSTILE_FEEDBACK in by_name[HOSTILE_NAME].feedback
    assert sum(b.count for b in model.bins) == 4 and model.bins[-1].count == 1 and model.bins[-1].high == 100
    rates = {f.name: f for f in model.functions}
    assert len(rates) == len(set(c.function for c in prepared.cases))
    assert rates["heaviside"].rate == 1 and rates["heaviside"].all_passed == 4
    assert rates["sigmoid_grad"].rate == pytest.approx(0.25) and rates["sigmoid_grad"].all_passed == 1
    assert rates["mlp_forward"].rate == pytest.approx(0.5)
    mistakes = {(m.function, m.what): m.students for m in model.mistakes}
    on_output = next(k for k in mistakes if k[0] == "sigmoid_grad" and "applied to sigma(z) (the output)" in k[1])
    assert mistakes[on_output] == (HOSTILE_NAME, KOREAN)   # in the table's order
    assert model.mistakes[0] == mistakes[on_output] or len(model.mistakes[0].students) == 2   # the most common first
    assert all(len(m.students) == 1 for m in model.mistakes[1:] if m.what != model.mistakes[0].what)
    with pytest.raises(ValueError, match="one feedback text per result"):
        report_html.build(prepared, results, [])


def test_a_submission_not_graded_and_an_empty_class_render(built):
    prepared = built[0]
    from autograder.intake import SubmissionError
    lost = SubmissionResult("late.zip", {q.name: 0.0 for q in prepared.lab.questions}, prepared.lab.points, [],
                            refused=SubmissionError("not_zip", label="late.zip", error="BadZipFile"))
    model = report_html.build(prepared, [lost], ["Submission: late.zip\n"])
    assert model.students[0].total == 0 and all(f.rate == 0 and f.all_passed == 0 for f in model.functions)
    assert "Not graded: late.zip: not a readable zip file (BadZipFile)" in report_html.render(model)
    assert "no submissions" in report_html.render(report_html.build(prepared, [], []))


def test_the_page_loads_nothing_and_runs_only_its_own_script(page):
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in text
    dom = Dom(text)
    assert dom.tags.count("script") == 1 and dom.tags.count("style") == 2   # the page's, and its no-script fallback
    assert not {"link", "img", "iframe", "object", "embed", "base", "form"} & set(dom.tags)
    loading = {"src", "href", "srcset", "action", "xlink:href", "data", "poster"}
    assert not [(tag, name) for tag, attrs in dom.attrs for name in attrs if name in loading or name.startswith("on")]
    code = "".join(dom.code).lower()   # inside <style> and <script>
    for external in ("url(", "@import", "http:", "https:", "fetch(", "xmlhttprequest", "websocket", "innerhtml"):
        assert external not in code, external
    assert f"script-src '{report_html.script_hash(report_html.SCRIPT)}'" in text and "default-src 'none'" in text


def test_everything_a_student_wrote_is_escaped_in_the_source(page):
    text = page.read_text(encoding="utf-8")
    assert HOSTILE_NAME not in text and "<img" not in text and "</details>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert KOREAN in text


# ---------------------------------------------------------------------------- in the browser
def chromium(*args, timeout=BROWSER_TIMEOUT):
    """Headless chromium with a fresh profile; its stdout. A page that never finishes (a script
    it should not have run opened a dialog: alert() holds headless chromium) fails the test."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        browser = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                    "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
                                    f"--user-data-dir={profile}", *args], cwd=profile, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = browser.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(browser.pid, signal.SIGKILL)   # the browser's own group: its renderers too
            browser.communicate()
            pytest.fail(f"chromium did not finish the page in {timeout} s: a dialog (alert) of a script that ran?")
    assert browser.returncode == 0, err[-2000:]
    return out


class Dom(HTMLParser):
    """What a test reads of a dumped DOM: the title, the students' order and their feedback
    rows' visibility, attributes of the headers, every tag's name, and the text."""

    def __init__(self, text):
        super().__init__()
        self.title, self.order, self.hidden, self.heads, self.tags, self.text = "", [], {}, {}, [], []
        self.attrs, self.code = [], []
        self._in, self._body = None, None
        self.root = {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        self.attrs.append((tag, attrs))
        self._in = tag
        if tag == "html":
            self.root = attrs
        if tag == "tbody" and "student" in (attrs.get("class") or ""):
            self._body = attrs["data-index"]
            self.order.append(self._body)
        if tag == "tr" and "feedback" in (attrs.get("class") or ""):
            self.hidden[self._body] = "hidden" in attrs
        if tag == "th" and "data-key" in attrs:
            self.heads[attrs["data-key"]] = attrs

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "title" and "svg" not in self.tags:   # the page's, not a bar's tooltip
            self.title += data
        if self._in in ("script", "style"):
            self.code.append(data)
        else:
            self.text.append(data)


def dump_dom(page, fragment=""):
    return Dom(chromium("--dump-dom", page.as_uri() + fragment))


@needs_chromium
def test_chromium_renders_the_rows_and_runs_nothing_a_student_wrote(page, built):
    dom = dump_dom(page)
    model = built[2]
    assert dom.root.get("data-ready") == "yes"   # the page's script ran (its CSP hash is right)
    assert dom.title == f"{model.lab}: class report"   # not "pwned", not "1"
    assert dom.order == [str(i) for i in range(len(model.students))]
    assert dom.tags.count("script") == 1 and "img" not in dom.tags and "details" not in dom.tags
    text = "".join(dom.text)
    for student in model.students:
        assert student.name in text
    assert KOREAN in text and HOSTILE_NAME in text and HOSTILE_FEEDBACK in text   # shown as text, inert
    assert all(dom.hidden.values()) and len(dom.hidden) == len(model.students)   # feedback closed until clicked


@needs_chromium
def test_a_header_click_sorts_and_a_row_click_opens_the_feedback(page, built):
    model = built[2]
    names = [s.name for s in model.students]
    by_total = sorted(range(len(names)), key=lambda i: model.students[i].total)
    assert len({s.total for s in model.students}) == len(names)   # no ties: one right order
    up = dump_dom(page, "#sort=total")
    assert up.order == [str(i) for i in by_total] and up.heads["total"].get("aria-sort") == "ascending"
    korean = names.index(KOREAN)
    down = dump_dom(page, f"#sort=-total&open={korean}")
    assert down.order == [str(i) for i in reversed(by_total)] and down.heads["total"].get("aria-sort") == "descending"
    assert down.hidden[str(korean)] is False and sum(down.hidden.values()) == len(names) - 1


def color_mask(image, hex_color, tolerance=12):
    rgb = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)])
    return np.all(np.abs(image[..., :3] * 255 - rgb) <= tolerance, axis=-1)


@needs_chromium
def test_the_screenshot_shows_the_histogram_the_pass_rates_and_the_table(page, built, tmp_path):
    import matplotlib.image

    shot = tmp_path / "report.png"
    chromium(f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}", page.as_uri())
    image = matplotlib.image.imread(shot)
    height, width = image.shape[:2]
    assert (width, height) == WINDOW
    white = np.all(image[..., :3] > 0.97, axis=-1)
    assert 0.03 < 1 - white.mean() < 0.6   # neither blank nor a wall of colour
    bars = color_mask(image, report_html.HISTOGRAM_COLOR)
    ys, xs = np.nonzero(bars)
    assert bars.sum() > 1500, "no histogram bars"
    assert xs.max() < width / 2 and ys.max() < 450   # the histogram: top left
    assert len(np.unique(xs // 8)) >= 3   # several bars, not one
    colors = report.question_colors(built[0].lab.questions)
    right = np.zeros_like(bars)
    right[:, width // 2:] = True
    for question, hex_color in colors.items():
        rate_bars = color_mask(image, hex_color) & right
        assert rate_bars.sum() > 200, f"no pass-rate bars of {question}"
    header = color_mask(image, "#f0f0f0", tolerance=2)   # the grades table's header, below the figures
    header_rows = np.nonzero(header.sum(axis=1) > width / 3)[0]
    assert len(header_rows) > 10 and header_rows.min() > ys.max()


def test_the_page_speaks_the_batchs_language(built):
    from autograder.catalogue import Catalogue
    korean = report_html.render(built[2], Catalogue("ko"))
    assert '<html lang="ko">' in korean and "반 전체 보고서" in korean and "함수별 통과율" in korean
    assert "Pass rate per function" not in korean and "Pass rate per function" in report_html.render(built[2])
