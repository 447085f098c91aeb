"""Lab 17 is taught in Korean: what students read outside the engine is Korean first, English after.

- The notebook: every markdown cell with prose has its Korean before its English (headings
  excepted: "## Part X — title" stays English for report.notebook_parts), and the Korean is the
  explanation itself, not a caption over English paragraphs.
- The reference modules and the skeletons generated from them: every module and every public
  function's docstring starts with a Korean line, followed by the English one.
- The hints (the reference's "# BEGIN SOLUTION hint: ..." lines, the skeletons' NotImplementedError
  messages): "Korean / English".
"""
import ast
import json
import re

import pytest

HANGUL = re.compile(r"[\uac00-\ud7a3]")
WORD = re.compile(r"\b[A-Za-z]{3,}\b")
# Display math, inline math and code spans are neither language.
NOT_PROSE = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$|`[^`\n]*`", re.S)
# Hangul syllables per English word of a cell's English half, at least: a whole explanation in
# Korean takes 2.4 to 4.3 in this notebook; the Korean captions and one-line summaries it had
# over English paragraphs took 0.1 to 1.1.
KOREAN_PER_ENGLISH_WORD = 1.5


def hangul(text):
    return len(HANGUL.findall(text))


def english_words(text):
    return len(WORD.findall(text))


def prose_lines(source):
    """[(kind, line)] of a markdown cell, kind "ko" (has Hangul) or "en" (three English words or
    more and no Hangul); headings, rules and lines of math or code only are left out."""
    lines = []
    for line in NOT_PROSE.sub(" ", source).splitlines():
        text = line.lstrip("> ").strip()
        if not text or text.startswith("#") or set(text) <= set("-|: "):
            continue
        if HANGUL.search(text):
            lines.append(("ko", text))
        elif english_words(text) >= 3:
            lines.append(("en", text))
    return lines


def cell_problems(source):
    """Why one markdown cell is not "Korean first, English after" (empty when it is)."""
    lines = prose_lines(source)
    kinds = [kind for kind, _ in lines]
    if not kinds:
        return []
    problems = []
    if kinds[0] != "ko":
        problems.append(f"English before any Korean: {lines[0][1][:60]!r}")
    if "en" in kinds and "ko" in kinds[kinds.index("en"):]:
        at = kinds.index("en") + kinds[kinds.index("en"):].index("ko")
        problems.append(f"Korean after the English started: {lines[at][1][:60]!r}")
    korean = sum(hangul(text) for kind, text in lines if kind == "ko")
    english = sum(english_words(text) for kind, text in lines if kind == "en")
    if english and korean < KOREAN_PER_ENGLISH_WORD * english:
        problems.append(f"{korean} Hangul syllables for {english} English words: the Korean is not the whole explanation")
    if korean >= 20 and "en" not in kinds:
        problems.append("no English after the Korean")
    return problems


def markdown_cells(lab):
    nb = json.loads((lab.assignment_dir / f"{lab.name}.ipynb").read_text(encoding="utf-8"))
    return [("".join(c["source"])) for c in nb["cells"] if c["cell_type"] == "markdown"]


def test_every_notebook_explanation_is_korean_first(lab):
    cells = markdown_cells(lab)
    assert len(cells) >= 10
    problems = {cell.splitlines()[0][:50]: p for cell in cells if (p := cell_problems(cell))}
    assert not problems, problems


def test_most_of_the_notebooks_prose_is_korean(lab):
    """Hangul syllables against Latin letters of the prose: 5% before (captions only); a third
    with every explanation in both languages (a syllable carries two or three letters' worth)."""
    text = NOT_PROSE.sub(" ", "\n".join(markdown_cells(lab)))
    korean, latin = hangul(text), len(re.findall(r"[A-Za-z]", text))
    assert korean / (korean + latin) > 0.3, f"{korean} Hangul, {latin} Latin letters"


def test_the_eq16_warning_is_in_korean(lab):
    (note,) = [c for c in markdown_cells(lab) if "Note: where the slides differ" in c]
    korean = note.split("---")[0]
    assert "식 (16)" in korean and r"\varphi'(z) = 2\varphi(2z) - 1" in korean and r"1 - \tanh^2(z)" in korean
    assert "도함수가 **아닙니다**" in korean


OLD_PART_A = """## Part A — Threshold logic unit and perceptron
*임계 논리 유닛(TLU)과 퍼셉트론*

A threshold logic unit (Fig. 10-4) takes the weighted sum of its m inputs, eq. (1),

$$z = w_1x_1 + w_2x_2 + \\dots + w_mx_m = \\mathbf w^\\top\\mathbf x \\qquad\\text{(1)}$$

and outputs a step of it. We add a bias. Mind the tie: heaviside(0) = 1, sign(0) = 0.
A **perceptron layer** is several TLUs that share the same inputs.
"""


@pytest.mark.parametrize("source, problem", [
    ("The perceptron converges on AND and OR but never on XOR.", "English before any Korean"),
    (OLD_PART_A, "the Korean is not the whole explanation"),
    ("퍼셉트론은 AND와 OR에서 수렴합니다. 하지만 XOR에서는 수렴하지 않습니다.\n\n---\n\n"
     "The perceptron converges on AND and OR.\n\n퍼셉트론 하나로는 XOR를 풀 수 없습니다.", "Korean after the English"),
    ("퍼셉트론은 AND와 OR에서는 수렴합니다. 하지만 XOR에서는 끝까지 수렴하지 않습니다. 직선 하나로 나눌 수 없기 때문입니다.",
     "no English after"),
])
def test_the_cell_check_refuses_english_first_or_korean_captions(source, problem):
    assert any(problem in p for p in cell_problems(source)), cell_problems(source)


def test_the_cell_check_passes_korean_then_english():
    source = ("## Part A — Threshold logic unit and perceptron\n*임계 논리 유닛(TLU)과 퍼셉트론*\n\n"
              "퍼셉트론은 AND와 OR에서는 수렴합니다. 하지만 XOR에서는 수렴하지 않습니다.\n\n---\n\n"
              "The perceptron converges on AND and OR, never on XOR.")
    assert cell_problems(source) == []


# ---------------------------------------------------------------------------- docstrings and hints
def docstring_problems(source, where):
    """Why a module's docstring or a public function's docstring does not start with a Korean
    line followed by its English one (empty when all do)."""
    tree = ast.parse(source)
    documented = [("module", tree)] + [(node.name, node) for node in tree.body
                                       if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")]
    problems = []
    for name, node in documented:
        lines = [line for line in (ast.get_docstring(node) or "").splitlines() if line.strip()]
        if not lines or not HANGUL.search(lines[0]):
            problems.append(f"{where}: {name}: the docstring does not start with a Korean line: {lines[:1]}")
        elif len(lines) < 2 or HANGUL.search(lines[1]) or english_words(lines[1]) < 2:
            problems.append(f"{where}: {name}: no English line after the Korean one: {lines[1:2]}")
    return problems


def hint_problems(hint, where):
    """Why a hint is not "Korean / English": the part after the last Hangul's " / " is the
    English one, with no Hangul; the part before has Korean."""
    last = max((m.end() for m in HANGUL.finditer(hint)), default=0)
    korean, slash, english = hint[:last], *hint[last:].partition(" / ")[1:]
    if hangul(korean) < 10:
        return [f"{where}: no Korean first: {hint[:60]!r}"]
    if not slash or english_words(english) < 4:
        return [f"{where}: no English after the Korean: {hint[-60:]!r}"]
    return []


def skeleton_hints(source):
    """The messages of a skeleton's `raise NotImplementedError("name: hint")`, without the name."""
    hints = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) \
                and getattr(node.exc.func, "id", "") == "NotImplementedError" and node.exc.args:
            message = node.exc.args[0].value
            hints.append(message.split(": ", 1)[1])
    return hints


@pytest.mark.parametrize("copy", ["reference", "skeleton"])
def test_every_docstring_starts_with_a_korean_line(lab, copy):
    folder = lab.reference_dir if copy == "reference" else lab.assignment_dir
    problems = []
    for module in lab.modules:
        problems += docstring_problems((folder / f"{module}.py").read_text(encoding="utf-8"), f"{copy} {module}.py")
    assert not problems, problems


def test_every_hint_is_korean_then_english(lab):
    from autograder.skeleton import BEGIN
    reference, skeleton = [], []
    for module in lab.modules:
        for line in (lab.reference_dir / f"{module}.py").read_text(encoding="utf-8").splitlines():
            if (m := BEGIN.match(line)) and m.group("hint"):
                reference.append(m.group("hint").strip())
        skeleton += skeleton_hints((lab.assignment_dir / f"{module}.py").read_text(encoding="utf-8"))
    assert len(reference) == 26 and skeleton == reference
    problems = [p for hint in reference for p in hint_problems(hint, "hint")]
    assert not problems, problems


@pytest.mark.parametrize("source", [
    'def f(z):\n    """Heaviside step: 0.0 where z < 0, 1.0 otherwise."""\n',
    'def f(z):\n    """Heaviside step: 0.0 where z < 0.\n    헤비사이드 계단 함수입니다.\n    """\n',
    'def f(z):\n    """헤비사이드 계단 함수: z < 0이면 0.0입니다.\n    """\n',
])
def test_the_docstring_check_refuses_english_first_or_korean_only(source):
    assert docstring_problems('"""모듈 설명입니다.\nThe module."""\n' + source, "probe")


@pytest.mark.parametrize("hint", [
    "the slide's heaviside step, elementwise; the trap is the tie",
    "슬라이드의 헤비사이드 계단 함수를 원소마다 적용합니다",
    "the slide's heaviside step, elementwise / 슬라이드의 헤비사이드 계단 함수를 원소마다 적용합니다",
])
def test_the_hint_check_refuses_english_only_or_korean_only(hint):
    assert hint_problems(hint, "probe")
