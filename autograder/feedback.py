"""One submission's feedback as data, built once from its findings: points lost per function,
the headline mistake, one example, what to reread, how to reproduce. Every output
(feedback.txt, results.json, the grades.csv status, the terminal table, report.png and
report.html) renders this model in autograder.report; nothing reads rendered words back.

Visibility is a property of the model: an example of a hidden case (or of a public case judged
after hidden inputs entered the sandbox) is marked `hidden`, and the renderer then shows only
what the finding's kind allows for a hidden case (findings.Kind.hidden_params).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .findings import Finding, Kind, Mistake
from .grading import function_points

HEADLINE_SHARE = 1 / 3   # a likely mistake heads a function's block when it explains this share of its failures


@dataclass(frozen=True)
class Label:
    """What went wrong in a few words, the same for every case that failed the same way (so
    failures group): a likely mistake, else a finding's kind at an item."""
    mistake: Mistake | None = None
    kind: Kind | None = None
    where: str = ""
    params: tuple = ()   # only a kind's name-like parameters (the exception, the module, the argument)

    @property
    def key(self) -> tuple:
        return (self.mistake.key if self.mistake else "", dict(self.mistake.params).get("text", "") if self.mistake else "",
                self.kind.value if self.kind else "", self.where, self.params)


LABEL_PARAMS = {Kind.IMPORT: ("module",)}   # a kind whose every parameter may be shown, grouped by these


def label_of(found: Finding, hidden: bool) -> Label:
    """The finding's label: what a hidden case may say of it (its kind's hidden parameters:
    settings and the contract's names), so that the same failure groups however it was seen."""
    if found.mistake is not None and (found.mistake.named or not hidden):
        return Label(mistake=found.mistake)
    allowed = found.kind.hidden_params
    names = LABEL_PARAMS.get(found.kind, ()) if allowed is None else sorted(allowed)
    return Label(kind=found.kind, where=found.where, params=tuple((n, found.param(n)) for n in names if n in dict(found.params)))


@dataclass
class Example:
    case: object          # cases.Case: a public one is shown with its inputs and can be rerun
    finding: Finding
    hidden: bool          # its finding in the words of a hidden case (a hidden case, or a tainted public one)


@dataclass
class FunctionFeedback:
    """One function's failed cases among `results` (all of them, or one visibility's)."""
    function: str
    question: str
    earned: float
    points: float
    failed: int
    total: int
    visibility: str                  # "" (every case), "public" or "hidden"
    headline: Mistake | None = None
    headline_count: int = 0
    also: Label | None = None
    also_count: int = 0
    also_mutated: bool = False       # a right value changed an input, besides the failures shown
    example: Example | None = None
    example_mistake: Mistake | None = None   # the example's own likely mistake, when not the headline
    equation: str = ""
    reproduce_case: int | None = None        # a public example: `checks.py --case N`

    @property
    def name(self) -> str:
        return self.function.split(".")[1]


@dataclass
class SharedFailure:
    """One finding that is every case of two or more functions (a module that does not
    import, nothing written yet): said once."""
    finding: Finding
    functions: list
    cases: int
    points: float


@dataclass
class QuestionFeedback:
    name: str
    score: float
    points: float
    shared: list = field(default_factory=list)
    functions: list = field(default_factory=list)   # FunctionFeedback of the functions that lost points


def mistake_of(result) -> Mistake | None:
    found = result.message
    return found.mistake if isinstance(found, Finding) else None


# Likely mistakes guessed from one case's numbers or error text (a transpose, a factor, a sign, the
# shapes an exception names), unlike a lab's known mistakes and the grader's rerun diagnoses, which
# apply the mistake to the case's inputs. On the bank a guess that explained only some of a
# function's failures named the wrong fix (a factor 1/2 of an mse over K = 2 columns, keepdims for
# a transposed product): a guess heads a block only when it explains every failed case.
GUESSES = frozenset({"transposed", "sign_flipped", "only_at_zero", "factor", "constant_factor",
                     "keepdims", "broadcast", "matmul", "index"})
# failures whose returned values were judged (a timeout or an unwritten function says nothing of them)
VALUE_KINDS = frozenset({Kind.VALUES, Kind.SHAPE, Kind.NOT_FINITE, Kind.GRADCHECK, Kind.RAISED, Kind.TYPE, Kind.DTYPE,
                         Kind.ITEMS, Kind.PAIR})


def headline(failed) -> tuple[Mistake | None, int]:
    """(likely mistake, in how many of the failed cases) of a function's failed cases: the
    most common one, when it explains at least HEADLINE_SHARE of them (a rarer one is more
    likely a coincidence of one case's numbers), or all of them for a guess (GUESSES);
    (None, 0) when there is none."""
    counts = Counter(m for m in (shown_mistake(r) for r in failed) if m is not None)
    if counts:
        mistake, count = counts.most_common(1)[0]
        judged = sum(r.message is not None and r.message.kind in VALUE_KINDS for r in failed)
        needed = judged if mistake.key in GUESSES else HEADLINE_SHARE * len(failed)
        if count >= needed:
            return mistake, count
    return None, 0


def shown_mistake(result) -> Mistake | None:
    """The likely mistake of a failed case as its visibility may show it."""
    found = mistake_of(result)
    if found is None or (result.hidden_words and not found.named):
        return None
    return found


def function_feedback(results, share_of_cases, earned, visibility="") -> FunctionFeedback:
    """The block of one function's `results` (see FunctionFeedback); share_of_cases: points per case."""
    failed = [r for r in results if not r.passed]
    case = results[0].case
    block = FunctionFeedback(case.function, case.question, earned, share_of_cases * len(results), len(failed),
                             len(results), visibility, equation=case.equation)
    block.headline, block.headline_count = headline(failed)
    others = Counter(label_of(r.message, r.hidden_words) for r in failed
                     if block.headline is None or shown_mistake(r) != block.headline)
    if block.headline is not None and others:
        other, count = others.most_common(1)[0]
        if count >= HEADLINE_SHARE * len(failed):
            block.also, block.also_count = other, count
    block.also_mutated = any(r.mutated and r.message.kind != Kind.MUTATED for r in results if r.message is not None)
    same = [r for r in failed if shown_mistake(r) == block.headline] or failed
    if same:
        example = min(same, key=lambda r: (r.case.hidden, r.hidden_words, r.case.number))
        block.example = Example(example.case, example.message, example.hidden_words)
        own = shown_mistake(example)
        if own is not None and own != block.headline:
            block.example_mistake = own
        block.reproduce_case = None if example.case.hidden else example.case.number
    return block


def shared_failures(groups, shares) -> list[SharedFailure]:
    """The findings that are every failed case of two or more functions that failed all their
    cases with no likely mistake: said once, not once per function."""
    single = {}
    for function, results in groups.items():
        found = {r.message for r in results}
        if all(not r.passed for r in results) and len(found) == 1 and mistake_of(results[0]) is None:
            single.setdefault(found.pop(), []).append(function)
    return [SharedFailure(f, fs, sum(len(groups[x]) for x in fs), sum(shares[x] for x in fs))
            for f, fs in single.items() if len(fs) >= 2]


def group_points(results, per_case, share, all_results=None):
    """Points that `results` (one function's cases, all of them or those of one visibility)
    earn: per_case times their credits, less their part of the function's fixed deduction for
    an input changed in place (grading.function_points), taken first from the visibility
    that holds the first such case, so that the parts add up to the function's points."""
    everyone = all_results if all_results is not None else results
    raw = per_case * sum(r.credit for r in results)
    deduction = per_case * sum(r.credit for r in everyone) - function_points(share, everyone)
    if deduction <= 1e-12 or len(results) == len(everyone):
        return max(0.0, raw - deduction)
    first = next(r for r in everyone if r.mutated or r.misformed)
    holder = [r for r in everyone if r.case.hidden == first.case.hidden]
    taken_first = min(deduction, per_case * sum(r.credit for r in holder))
    mine = taken_first if results[0].case.hidden == first.case.hidden else deduction - taken_first
    return max(0.0, raw - mine)


def by_function(results) -> dict:
    groups = {}
    for r in results:
        groups.setdefault(r.case.function, []).append(r)
    return groups


def question_feedback(question, results, prepared, counts, score) -> QuestionFeedback:
    """Feedback of one question: its shared failures, then a block per failing function."""
    groups = by_function(results)
    model = QuestionFeedback(question.name, score, question.points, shared_failures(groups, prepared.shares))
    collapsed = {f for s in model.shared for f in s.functions}
    for function in question.functions:
        if function in collapsed or function not in groups or all(r.passed for r in groups[function]):
            continue
        per_case = prepared.shares[function] / counts[function]
        earned = group_points(groups[function], per_case, prepared.shares[function])
        model.functions.append(function_feedback(groups[function], per_case, earned))
    return model


@dataclass
class SubmissionFeedback:
    """Everything a submission's outputs say, as data."""
    result: object                     # grading.SubmissionResult (scores, state, problem, notes)
    questions: list = field(default_factory=list)


def submission_feedback(result, prepared) -> SubmissionFeedback:
    counts = Counter(c.function for c in prepared.cases)
    model = SubmissionFeedback(result)
    for q in prepared.lab.questions:
        mine = [r for r in result.cases if r.case.question == q.name]
        model.questions.append(question_feedback(q, mine, prepared, counts, result.scores[q.name]))
    return model
