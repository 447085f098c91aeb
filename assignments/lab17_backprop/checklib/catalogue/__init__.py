"""Every sentence a student or TA reads, in one catalogue per language (en.toml, ko.toml), and
the renderer of findings (autograder.findings) into those sentences.

Keys are dotted: "kind.<kind>[.<variant>]" for a finding's kind (a variant picks a form of
it: the type that was wanted, the cause of an import failure), "hidden.<kind>[.<variant>]" for
the same kind in a hidden case (only the parameters `Kind.hidden_params` allows reach it),
"mistake.<key>" for a likely mistake, and one key per sentence of each output (feedback.*,
status.*, note.*, check.*). A lab adds its own words (its known mistakes, what to reread, its
outcome checks) in solutions/<lab>/catalogue/<lang>.toml, under the same schema.

Placeholders are Python's str.format fields over the finding's parameters and the context the
renderer passes (the function's name, the contract's name of the returned item). A key that is
missing in the reader's language falls back to English, and a test checks that none is.
"""
from __future__ import annotations

import json
import unicodedata
from functools import lru_cache
from pathlib import Path

from ..findings import Finding, Kind, Mistake

HERE = Path(__file__).resolve().parent
LANGUAGES = ("ko", "en")
DEFAULT = "en"


def flatten(table, prefix=""):
    """{"kind.values": ...} from TOML's nested tables."""
    flat = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


@lru_cache(maxsize=None)
def load(path: str) -> dict:
    """The flattened words of <lang>.toml, or of <lang>.json beside it (the handout's copy,
    which needs no tomllib); {} when there is neither."""
    path = Path(path)
    if path.exists():
        import tomllib   # Python 3.11: the grader's; the handout reads JSON
        with open(path, "rb") as file:
            return flatten(tomllib.load(file))
    shipped = path.with_suffix(".json")
    if shipped.exists():
        return json.loads(shipped.read_text(encoding="utf-8"))
    return {}


# the parameter that picks a kind's variant key, and how a variant is derived from a finding
VARIANTS = {
    Kind.TYPE: lambda f: f.param("wanted") or "",
    Kind.DTYPE: lambda f: f.param("wanted") or "",
    Kind.ITEMS: lambda f: (f.param("unit") or "") + ("_type" if f.param("got") is None and f.param("unit") == "items" else ""),
    Kind.GRADCHECK: lambda f: (f.param("of") or "") + ("_at" if f.param("index") is not None else ""),
    Kind.VALUES: lambda f: "zero" if "max_rel" in dict(f.params) and f.param("max_rel") is None else "",
    Kind.NOT_RUN: lambda f: f.param("reason") or "",
    Kind.IMPORT: lambda f: f.param("cause") or "",
    Kind.OUTCOME: lambda f: f.param("check") or "",
    Kind.CRASHED: lambda f: f.param("reason") or "",
    Kind.RAISED: lambda f: "" if f.param("line") is None else "line",
    Kind.WARNED: lambda f: "" if f.param("line") is None else "line",
    Kind.FORM: lambda f: f.param("wanted") or "",
}


class Catalogue:
    """The words of one language: the engine's, then the lab's (`extra`: folders holding
    <lang>.toml), English beneath both where a key is missing."""

    def __init__(self, lang: str = DEFAULT, extra: tuple = ()):
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGUAGES)}")
        self.lang = lang
        layers = [load(str(HERE / "en.toml"))]
        layers += [load(str(Path(folder) / "en.toml")) for folder in extra]
        if lang != "en":
            layers += [load(str(HERE / f"{lang}.toml"))]
            layers += [load(str(Path(folder) / f"{lang}.toml")) for folder in extra]
        self.words = {}
        for layer in layers:
            self.words.update(layer)

    def has(self, key: str) -> bool:
        return key in self.words

    def say(self, key: str, **params) -> str:
        """The sentence of `key` with `params` filled in (a KeyError names a missing key)."""
        try:
            template = self.words[key]
        except KeyError:
            raise KeyError(f"the message catalogue has no {key!r}") from None
        return template.format(**params)

    # -- findings -----------------------------------------------------------------------
    def kind_key(self, found: Finding, hidden: bool) -> str:
        hidden = hidden and found.kind.hidden_params is not None   # a kind that shows every parameter
        base = ("hidden." if hidden else "kind.") + found.kind.value
        variant = VARIANTS.get(found.kind, lambda f: "")(found) or ""
        key = f"{base}.{variant}" if variant else base
        if key in self.words:
            return key
        return base

    def finding(self, found: Finding, hidden: bool, where: str = "result", **context) -> str:
        """What `found` says, without its likely mistake (see `mistake`). For a hidden case
        only the parameters its kind allows reach the template (Finding.hidden)."""
        shown = found.hidden() if hidden else found
        params = dict(context)
        params.update(shown.params)
        params["where"] = where
        for name in ("got", "expected"):   # shapes print as NumPy does
            if isinstance(params.get(name), tuple):
                params[name] = str(params[name])
        if isinstance(params.get("index"), tuple):
            params["index"] = str(params["index"])
        if found.kind == Kind.SHAPE and not hidden:
            params["hint"] = self.say(f"shape_hint.{found.param('hint')}") if found.param("hint") else ""
        if "line" in params and params["line"] is not None:
            params["line"] = str(params["line"])
        if found.kind == Kind.IMPORT:   # "module m.py could not be imported: <why>"
            return self.say("kind.import", **params) + ": " + self.cause(found)
        return self.say(self.kind_key(shown, hidden), **params)

    def cause(self, found: Finding) -> str:
        """Why a module could not be imported (Kind.IMPORT), the status's words."""
        return self.say(f"cause.{found.param('cause')}", **dict(found.params))

    def mistake(self, mistake: Mistake | None, hidden: bool = False) -> str:
        """The likely mistake in words ("" for none, or for an unnamed one in a hidden case)."""
        if mistake is None or (hidden and not mistake.named):
            return ""
        params = dict(mistake.params)
        if mistake.key == "known":
            text = params.get("text", "")
            return self.words.get(f"known.{text}", text)
        return self.say(f"mistake.{mistake.key}", **params)


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


def cut(text: str, width: int) -> str:
    """`text` cut to `width` columns."""
    out, used = [], 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > width:
            break
        out.append(ch)
        used += w
    return "".join(out)
