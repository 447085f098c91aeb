"""Which submissions the command line names, and under which name each one is recorded.

- A folder named as one argument that holds only zips, or only folders (OS litter aside), and
  no .py file, is a batch: each zip or folder inside is a submission (an LMS download: Canvas's
  `name_id_..._lab.zip` files, Moodle's or eClass's per-student folders).
- Each submission's identity is its path relative to the common root of all the submissions,
  so `a/lab.zip` and `b/lab.zip` stay apart and keep their names in any order of arguments.
- Every name a person reads is written by the parent: printable characters only (no control
  or bidi characters), no leading `= + - @` (a spreadsheet formula), never the reserved row
  `points-per-question`. A clash this cleaning creates is resolved by suffixes `~2`, `~3` given
  in the order of the original paths (not of the arguments), with a warning.
- `escaped` keeps the original path, with anything unprintable escaped, for the `source` column.
"""
from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .intake import LITTER_FILES, LITTER_FOLDERS

RESERVED = frozenset({"points-per-question"})   # report.POINTS_ROW
FORMULA_START = tuple("=+-@\t\r")
NAME_LIMIT = 120


@dataclass(frozen=True)
class Identity:
    file: str      # the grades.csv `file` column: the cleaned relative path
    folder: str    # submissions/<folder>/ in --out: one path component
    source: str    # the original relative path, escaped
    path: Path     # where the submission is


def expand(arguments: list[Path]) -> tuple[list[Path], list[str]]:
    """(submissions, notes): batch folders opened one level; the same path named twice kept once."""
    found, notes, seen = [], [], set()
    for argument in arguments:
        argument = Path(argument)
        inner = batch_members(argument)
        if inner is not None:
            notes.append(f"{escaped(str(argument))} holds {len(inner)} submission(s): graded each one")
        for path in inner if inner is not None else [argument]:
            real = os.path.realpath(path)
            if real in seen:
                notes.append(f"warning: {escaped(str(path))} was named twice; graded once")
                continue
            seen.add(real)
            found.append(path)
    return found, notes


def batch_members(folder: Path) -> list[Path] | None:
    """The submissions inside `folder` when it is a batch, else None."""
    if folder.is_symlink() or not folder.is_dir():
        return None
    try:
        children = sorted(p for p in folder.iterdir()
                          if p.name not in LITTER_FILES and p.name not in LITTER_FOLDERS and not p.name.startswith("."))
    except OSError:
        return None
    if not children or any(p.is_symlink() for p in children):
        return None
    zips = [p for p in children if p.is_file() and p.suffix.lower() == ".zip"]
    folders = [p for p in children if p.is_dir()]
    if len(zips) == len(children) and len(zips) >= 2:
        return zips
    if len(folders) == len(children) and len(folders) >= 2 and not any(looks_like_handout(p) for p in folders):
        return folders
    return None


def looks_like_handout(folder: Path) -> bool:
    """A folder that is part of one submission (the handout's tests/ or checklib/), not a student's."""
    from .intake import HANDOUT_OWN
    return folder.name in HANDOUT_OWN


def identities(paths: list[Path], log=print, known: dict | None = None) -> list[Identity]:
    """One Identity per path, in the order given; names depend only on the set of paths.
    known: {real path: (file, folder, source)} of submissions graded before into the same --out,
    so a submission graded again alone keeps the names it was first given."""
    absolute = [Path(os.path.abspath(p)) for p in paths]
    if not absolute:
        return []
    known = known or {}
    root = Path(os.path.commonpath([str(p.parent) for p in absolute]))
    relative = [p.relative_to(root).as_posix() for p in absolute]
    files = [clean_name(rel) for rel in relative]
    folders = [clean_name(rel.replace("/", "__")) for rel in relative]
    order = sorted(range(len(paths)), key=lambda i: relative[i])
    taken, final = {}, [None] * len(paths)
    for i in range(len(paths)):
        old = known.get(os.path.realpath(paths[i]))
        if old is not None and old[1].casefold() not in taken:
            taken[old[1].casefold()] = 1
            final[i] = Identity(old[0], old[1], old[2], Path(paths[i]))
    for i in order:
        if final[i] is not None:
            continue
        key = folders[i].casefold()
        count = taken.get(key, 0) + 1
        taken[key] = count
        if count > 1:
            log(f"warning: {escaped(relative[i])} is recorded as {files[i]}~{count} (its cleaned name clashed)")
        suffix = f"~{count}" if count > 1 else ""
        final[i] = Identity(files[i] + suffix, folders[i] + suffix, escaped(relative[i]), Path(paths[i]))
    return final


def clean_name(name: str) -> str:
    """A name safe to show in a table, a CSV cell or a folder name."""
    chars = [ch if ch.isprintable() and unicodedata.category(ch) not in ("Cf", "Co", "Cs") else "?" for ch in name]
    text = "".join(chars).strip() or "_"
    if text.startswith(FORMULA_START) or text in RESERVED or text in (".", ".."):
        text = "_" + text
    if len(text) > NAME_LIMIT:
        text = "..." + text[-(NAME_LIMIT - 3):]
    return text


def escaped(name: str) -> str:
    """The original name with unprintable characters as \\uXXXX and a leading formula character quoted."""
    text = "".join(ch if ch.isprintable() and unicodedata.category(ch) not in ("Cf", "Co", "Cs")
                   else f"\\u{ord(ch):04x}" for ch in name)
    return "'" + text if text.startswith(FORMULA_START) else text
