"""The schema of a lab's bank of known mistakes: the lab's mistakes.py holds data only.

solutions/<lab>/mistakes.py lists

    MISTAKES = (Mistake(name, part, function, description, edits), ...)
    VARIANTS = (Variant(name, description, edits), ...)

built with the classes below (`from autograder.bank import Edit, Mistake, Variant`). Every
entry is a small textual edit of the marker-stripped reference modules
(`autograder.skeleton.strip_markers`):
- a `Mistake` is what a real student writes: it must lose points in its `part` (a question of
  the lab) and nowhere else; `function` names the function that is wrong;
- a `Variant` is a correct way of writing the same thing: it must earn every point.

`apply(edits, sources)` builds an entry's modules; `load(path)` reads a bank and checks it
(`problems`). `python -m autograder mutants` grades the whole bank (autograder.mutants).
"""
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType


@dataclass(frozen=True)
class Edit:
    module: str   # a module of the lab ("tlu")
    old: str      # text that occurs exactly once in the marker-stripped reference module
    new: str      # its replacement


@dataclass(frozen=True)
class Mistake:
    name: str          # snake_case, unique in the bank
    part: str          # the question that must lose points
    function: str      # the function that is wrong ("heaviside" or "tlu.heaviside")
    description: str   # one line, as a TA would say it
    edits: tuple       # of Edit


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    edits: tuple       # a correct alternative way of writing it


def edit(module: str, old: str, new: str) -> Edit:
    """Edit(module, old, new): shorthand for long banks."""
    return Edit(module=module, old=old, new=new)


def apply(edits, sources: dict[str, str]) -> dict[str, str]:
    """Apply `edits` in order to `sources` ({module: marker-stripped text}); return a new dict.

    Raises ValueError naming the edit when its module is unknown or its `old` text does not
    occur exactly once in the (already partly edited) module text.
    """
    out = dict(sources)
    for number, change in enumerate(edits):
        if change.module not in out:
            raise ValueError(f"edit {number} ({change.module}: {change.old!r}): unknown module {change.module!r}")
        text = out[change.module]
        count = text.count(change.old)
        if count != 1:
            raise ValueError(f"edit {number} ({change.module}: {change.old!r}): `old` occurs {count} times, not exactly once")
        out[change.module] = text.replace(change.old, change.new)
    return out


def load(path: Path, name: str = "_mistakes") -> ModuleType:
    """A lab's mistakes.py, imported in the trusted parent (not added to sys.modules)."""
    from .labs import load_file
    return load_file(Path(path), name)


def problems(bank: ModuleType, modules, questions) -> list[str]:
    """What is wrong with a bank's data (one line each; empty when it is usable): entries of
    the wrong type, repeated names, parts that are no question, edits of unknown modules."""
    found = []
    entries = list(getattr(bank, "MISTAKES", None) or ()) + list(getattr(bank, "VARIANTS", None) or ())
    if not hasattr(bank, "MISTAKES") or not hasattr(bank, "VARIANTS"):
        found.append("mistakes.py must define MISTAKES and VARIANTS")
    names = [getattr(e, "name", "?") for e in entries]
    found += [f"{n}: the name is used twice" for n in sorted({n for n in names if names.count(n) > 1})]
    for e in getattr(bank, "MISTAKES", ()):
        if not isinstance(e, Mistake):
            found.append(f"{getattr(e, 'name', e)!s}: a MISTAKES entry must be an autograder.bank.Mistake")
        elif e.part not in questions:
            found.append(f"{e.name}: part {e.part!r} is no question ({', '.join(questions)})")
    for e in getattr(bank, "VARIANTS", ()):
        if not isinstance(e, Variant):
            found.append(f"{getattr(e, 'name', e)!s}: a VARIANTS entry must be an autograder.bank.Variant")
    for e in entries:
        for change in getattr(e, "edits", ()):
            if not isinstance(change, Edit) or change.module not in modules:
                found.append(f"{e.name}: an edit of {getattr(change, 'module', change)!r}, which is no module of the lab")
    return found
