"""Finding a submission's modules as a person would, and recording every choice made.

A submission is a folder or a .zip. Its entries are listed, never extracted:
- set aside: OS litter (__MACOSX/, .DS_Store, Thumbs.db, __pycache__/, .ipynb_checkpoints/),
  what the handout itself ships (tests/, checklib/, checks.py, public_cases.json, README.md,
  requirements.txt, and whatever else assignments/<lab>/ holds beside the modules), and unsafe
  entries (absolute paths, "..", links), which are never followed;
- a container that holds no module but exactly one .zip is unwrapped, once;
- each lab module is matched by name, case-insensitively and across the copy suffixes that
  browsers and operating systems add ("name (1).py", "name-1.py", "name copy.py", "name_1.py",
  "name - 복사본.py");
- when several files could be one module, identical copies count once, an untouched skeleton
  gives way to a file that was changed, and two changed files are refused: that module is not
  graded and its problem names both files;
- only the chosen modules and the helper .py files beside them are read, each with a size
  limit: an entry that cannot be read, or is too large, costs only its own module.
A module still missing (or left as the skeleton) while the notebook defines its functions is
noted: the grader reads the .py files, never the notebook (notebook code would run demo cells
and is not what the handout asks for).

Every choice is a `Note` (typed data); `describe` renders one as a line for the status and the
top of feedback.txt. `SubmissionError` is kept for a submission that cannot be read at all.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from .findings import Kind, finding
from .text import one_line

MAX_ENTRIES = 100_000          # entries listed in a zip or walked in a folder (a zipped venv is ~10,000)
MAX_MODULE_BYTES = 2 << 20     # one module or helper .py file
MAX_TOTAL_BYTES = 8 << 20      # everything copied for the sandbox
MAX_HELPERS = 50               # helper .py files copied beside the modules
MAX_INNER_ZIP_BYTES = 64 << 20  # a zip inside the submission that is unwrapped
MAX_NOTEBOOK_BYTES = 16 << 20  # a notebook read to see whether it holds the graded functions

LITTER_FOLDERS = frozenset({"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git", ".idea", ".vscode",
                            ".pytest_cache", ".venv", "venv", "env", "site-packages", "node_modules"})
LITTER_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
EXPORT_FILES = frozenset({".OTTER_LOG", "__zip_filename__"})   # what Otter's export adds: not the student's, not worth a note
# the handout's own files (the kit writes them; a lab may ship more, see `handout_names`)
HANDOUT_OWN = frozenset({"tests", "checklib", "checks.py", "public_cases.json", "README.md", "requirements.txt"})
COPY_SUFFIX = re.compile(r"(?:\s*\(\d+\)|[-_ ]\d+|\s*[-_]?\s*(?:copy|복사본)(?:\s*\(\d+\)|\s*\d+)?)$", re.IGNORECASE)
HELPER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.py$")
NOTEBOOK_DEF = re.compile(r"^[ \t]*def[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]*\(", re.MULTILINE)


class SubmissionError(Exception):
    """A submission that cannot be read at all: a catalogue key ("refused.<key>") and its
    parameters; str() is the English line (for logs), `describe(words)` any language's."""

    def __init__(self, key: str, **params):
        self.key, self.params = key, params
        super().__init__(self.describe())

    def __reduce__(self):   # it crosses to the forked workers by pickle
        return (refusal, (self.key, self.params))

    def describe(self, words=None) -> str:
        if words is None:
            from .catalogue import Catalogue
            words = Catalogue()
        return words.say(f"refused.{self.key}", **self.params)


class EntryError(Exception):
    """One entry cannot be read; the message is a short reason ("a wrong CRC")."""


@dataclass(frozen=True)
class Note:
    """One choice the intake made. kind is a key of NOTES; subject and detail are the
    (already cleaned) names it is about."""
    kind: str
    subject: str = ""
    detail: str = ""


NOTES = ("notebook", "graded_as", "skeleton", "unreadable", "unwrapped", "handout", "duplicate", "helper_skipped",
         "unsafe", "litter", "listed_only")   # in the order a status lists them (what changes the grade first);
# their words are the catalogue's note.<kind>
ORDER = {kind: i for i, kind in enumerate(NOTES)}


def describe(note: Note, words=None) -> str:
    """The line a person reads for `note`, in the catalogue's words (`words`: a
    catalogue.Catalogue; default English)."""
    if words is None:
        from .catalogue import Catalogue
        words = Catalogue()
    return words.say(f"note.{note.kind}", subject=note.subject, detail=note.detail)


@dataclass
class Intake:
    """What a submission holds for the grader: {sandbox file name: bytes}, the modules that
    cannot be graded (module -> why), the notes, and a key of its content."""
    files: dict[str, bytes] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)

    @property
    def key(self) -> str:
        """sha256 of everything the grade depends on: the files copied, the problems, the notes."""
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(f"{name}\0{len(self.files[name])}\0".encode())
            digest.update(self.files[name])
        digest.update(json.dumps([sorted((m, repr(f)) for m, f in self.problems.items()),
                                  [(n.kind, n.subject, n.detail) for n in self.notes]]).encode())
        return digest.hexdigest()

    def write(self, into: Path) -> Path:
        """The files into a new folder `into` (this user's only)."""
        into = Path(into)
        into.mkdir(mode=0o700, parents=True)
        for name, data in self.files.items():
            fd = os.open(into / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        return into


@dataclass(frozen=True)
class Entry:
    path: str                      # posix path inside the container
    size: int
    read: Callable[[int], bytes]   # read(limit) -> bytes, raises EntryError


@dataclass(frozen=True)
class LabFiles:
    """What the intake needs to know of a lab."""
    modules: tuple[str, ...]
    skeletons: dict                 # module -> skeleton text
    functions: dict                 # module -> function names a student writes
    handout: frozenset = HANDOUT_OWN

    @classmethod
    def of(cls, lab) -> "LabFiles":
        from .skeleton import skeleton_files
        skeletons = {name[:-3]: text for name, text in skeleton_files(lab.reference_dir, lab.modules).items()}
        functions = {m: [] for m in lab.modules}
        for q in lab.questions:
            for qualified in q.functions:
                module, _, function = qualified.partition(".")
                functions.setdefault(module, []).append(function)
        return cls(tuple(lab.modules), skeletons, functions, handout_names(lab))


def handout_names(lab) -> frozenset:
    """Top-level names of the lab's handout that are not its modules or notebook."""
    names = set(HANDOUT_OWN)
    folder = Path(lab.assignment_dir)
    if folder.is_dir():
        names |= {p.name for p in folder.iterdir() if p.suffix not in (".py", ".ipynb") or p.is_dir()}
        names |= {p.name for p in folder.glob("*.py") if p.stem not in lab.modules}
    return frozenset(names)


# ---------------------------------------------------------------------------- listing
def list_folder(top: Path) -> tuple[list[Entry], list[Note]]:
    """Regular files under `top`, links never followed (a link is an unsafe entry)."""
    entries, notes = [], []
    for root, dirs, files in os.walk(top, followlinks=False):
        rel_root = Path(root).relative_to(top)
        for name in sorted(dirs):
            if os.path.islink(os.path.join(root, name)):
                notes.append(Note("unsafe", clean((rel_root / name).as_posix()), "a link"))
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(root, d)))
        for name in sorted(files):
            path = os.path.join(root, name)
            rel = (rel_root / name).as_posix()
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode):
                notes.append(Note("unsafe", clean(rel), "a link"))
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            entries.append(Entry(rel, info.st_size, lambda limit, path=path: read_file(path, limit)))
            if len(entries) >= MAX_ENTRIES:
                return entries, [*notes, Note("listed_only", f"{MAX_ENTRIES:,}")]
    return entries, notes


def read_file(path: str, limit: int) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise EntryError(type(exc).__name__) from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise EntryError("not a regular file")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise EntryError(f"larger than {limit >> 20} MB")
    return data


def list_zip(archive: zipfile.ZipFile, label: str) -> tuple[list[Entry], list[Note]]:
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise SubmissionError("too_many", label=label, count=len(infos), limit=MAX_ENTRIES)
    entries, notes = [], []
    for info in infos:
        name = info.filename.replace("\\", "/")
        if info.is_dir() or name.endswith("/"):
            continue
        parts = PurePosixPath(name).parts
        mode = info.external_attr >> 16
        if name.startswith("/") or ".." in parts or re.match(r"^[A-Za-z]:", name):
            notes.append(Note("unsafe", clean(name), "a path outside the zip"))
            continue
        if stat.S_ISLNK(mode):
            notes.append(Note("unsafe", clean(name), "a link"))
            continue
        entries.append(Entry(PurePosixPath(name).as_posix(), info.file_size,
                             lambda limit, info=info: read_member(archive, info, limit)))
    return entries, notes


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.file_size > limit:
        raise EntryError(f"larger than {limit >> 20} MB")
    try:
        with archive.open(info) as f:
            data = f.read(limit + 1)
    except NotImplementedError:   # before RuntimeError, its base class
        raise EntryError("an unknown compression method") from None
    except RuntimeError:
        raise EntryError("it has a password") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise EntryError("a wrong CRC" if "CRC" in str(exc) else "damaged") from None
    if len(data) > limit:
        raise EntryError(f"larger than {limit >> 20} MB")
    return data


def open_zip(source, label: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise SubmissionError("not_zip", label=label, error=one_line(type(exc).__name__, 40)) from None


# ---------------------------------------------------------------------------- sorting entries
def clean(name: str) -> str:
    """A name from the submission, as the parent may print it."""
    return one_line(name, 80)


def kind_of(entry: Entry, lab: LabFiles) -> str:
    """export, litter, handout, notebook, zip, py or other."""
    parts = entry.path.split("/")
    base = parts[-1]
    if base in EXPORT_FILES:
        return "export"
    if base in LITTER_FILES or base.startswith("._") or LITTER_FOLDERS & set(parts[:-1]):
        return "litter"
    if base in lab.handout or lab.handout & set(parts[:-1]):
        return "handout"
    suffix = PurePosixPath(base).suffix.lower()
    return {".ipynb": "notebook", ".zip": "zip", ".py": "py"}.get(suffix, "other")


def litter_label(entry: Entry) -> str:
    parts = entry.path.split("/")
    for part in parts[:-1]:
        if part in LITTER_FOLDERS:
            return f"{part}/"
    return "._ files" if parts[-1].startswith("._") else parts[-1]


def handout_label(entry: Entry, lab: LabFiles) -> str:
    parts = entry.path.split("/")
    for part in parts[:-1]:
        if part in lab.handout:
            return f"{part}/"
    return parts[-1]


def module_of(path: str, modules: dict[str, str]) -> str | None:
    """The lab module a .py file's name stands for ({lowercase name: module}), or None."""
    name = PurePosixPath(path).name
    name = name[:-3].strip().lower() if name.lower().endswith(".py") else ""
    while name:
        if name in modules:
            return modules[name]
        stripped = COPY_SUFFIX.sub("", name).strip()
        if stripped == name:
            return None
        name = stripped
    return None


def same_text(a: bytes, b: str) -> bool:
    """a (bytes of a file) is b (a skeleton), line endings and trailing spaces aside."""
    try:
        text = a.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    norm = lambda s: "\n".join(line.rstrip() for line in s.replace("\r\n", "\n").replace("\r", "\n").strip().split("\n"))
    return norm(text) == norm(b)


def refusal(key: str, params: dict) -> SubmissionError:
    return SubmissionError(key, **params)


# ---------------------------------------------------------------------------- the intake
def take(source, lab: LabFiles) -> Intake:
    """Find and read the modules of the submission `source` (a folder or a .zip)."""
    source = Path(source)
    if source.is_symlink():
        raise SubmissionError("link", label=clean(source.name))
    if source.is_dir():
        entries, notes = list_folder(source)
        return ordered(choose(entries, notes, lab, lambda entry: zip_in_folder(source, entry)))
    if not source.exists():
        raise SubmissionError("no_such", label=clean(str(source)))
    if source.suffix.lower() != ".zip" or not source.is_file():
        raise SubmissionError("not_a_submission", label=clean(source.name), suffix=clean(source.suffix) or "-")
    with open_zip(source, clean(source.name)) as archive:
        entries, notes = list_zip(archive, clean(source.name))
        return ordered(choose(entries, notes, lab, lambda entry: zip_in_zip(entry), depth=1))


def ordered(intake: Intake) -> Intake:
    intake.notes.sort(key=lambda n: ORDER[n.kind])
    return intake


def zip_in_folder(top: Path, entry: Entry) -> zipfile.ZipFile:
    return open_zip(top / entry.path, clean(entry.path))


def zip_in_zip(entry: Entry) -> zipfile.ZipFile:
    try:
        data = entry.read(MAX_INNER_ZIP_BYTES)
    except EntryError as exc:
        raise SubmissionError("inner_unreadable", label=clean(entry.path), why=str(exc)) from None
    return open_zip(io.BytesIO(data), clean(entry.path))


def choose(entries: list[Entry], notes: list[Note], lab: LabFiles, unwrap, depth: int = 0) -> Intake:
    """The Intake of a listing; `unwrap(entry)` opens a zip entry. depth: 0 a folder, 1 a zip,
    2 a zip inside a zip (unwrapped no further)."""
    notes = list(notes)
    modules = {m.lower(): m for m in lab.modules}
    by_kind: dict[str, list[Entry]] = {}
    for entry in entries:
        by_kind.setdefault(kind_of(entry, lab), []).append(entry)
    candidates: dict[str, list[Entry]] = {m: [] for m in lab.modules}
    others = []
    for entry in by_kind.get("py", []):
        module = module_of(entry.path, modules)
        (candidates[module] if module else others).append(entry)
    zips = by_kind.get("zip", [])
    if unwrap is not None and not any(candidates.values()) and len(zips) == 1:
        # a folder (an LMS's per-student folder) that holds one zip is that zip; a zip that
        # holds one zip is unwrapped once, and the inner one no further
        with unwrap(zips[0]) as inner:
            inner_entries, inner_notes = list_zip(inner, clean(zips[0].path))
            again = (lambda entry: zip_in_zip(entry)) if depth == 0 else None
            intake = choose(inner_entries, inner_notes, lab, again, depth=depth + 1)
        if depth == 1:
            intake.notes[:0] = [Note("unwrapped", clean(zips[0].path)), *notes]
        return intake
    handout = sorted({handout_label(e, lab) for e in by_kind.get("handout", [])}, key=str.lower)
    if handout:
        notes.append(Note("handout", clean(", ".join(handout))))
    litter = by_kind.get("litter", [])
    if litter:
        labels = sorted({litter_label(e) for e in litter}, key=str.lower)
        notes.append(Note("litter", f"{len(litter)} file(s) the grader does not need",
                          clean(", ".join(labels[:3]) + (", ..." if len(labels) > 3 else ""))))
    intake = Intake(notes=notes)
    folders = set()
    for module in lab.modules:
        chosen = pick(module, candidates[module], lab, intake)
        if chosen is not None:
            entry, data = chosen
            intake.files[f"{module}.py"] = data
            folders.add(str(PurePosixPath(entry.path).parent))
            if entry.path != f"{module}.py" and PurePosixPath(entry.path).name != f"{module}.py":
                intake.notes.append(Note("graded_as", clean(entry.path), f"{module}.py"))
    copy_helpers(others, folders or {"."}, intake)
    notebook_code(by_kind.get("notebook", []), lab, intake)
    return intake


def pick(module: str, entries: list[Entry], lab: LabFiles, intake: Intake):
    """(entry, bytes) of the file graded as `module`, or None with intake.problems[module] set."""
    name = f"{module}.py"
    if not entries:
        intake.problems[module] = finding(Kind.IMPORT, module=module, cause="missing", file=name)
        return None
    readable, unreadable = [], []
    for entry in sorted(entries, key=lambda e: (e.path.count("/"), e.path)):
        try:
            readable.append((entry, entry.read(MAX_MODULE_BYTES)))
        except EntryError as exc:
            unreadable.append((entry, str(exc)))
    distinct = []
    for entry, data in readable:
        twin = next((e for e, d in distinct if d == data), None)
        if twin is None:
            distinct.append((entry, data))
        elif len(readable) > 1:
            intake.notes.append(Note("duplicate", clean(entry.path), clean(twin.path)))
    if len(distinct) > 1:
        changed = [(e, d) for e, d in distinct if not same_text(d, lab.skeletons.get(module, ""))]
        for entry, _ in distinct:
            if changed and (entry, _) not in changed:
                intake.notes.append(Note("skeleton", clean(entry.path)))
        distinct = changed or distinct[:1]
    if len(distinct) > 1:
        names = " and ".join(clean(e.path) for e, _ in distinct[:2])
        intake.problems[module] = finding(Kind.IMPORT, module=module, cause="ambiguous", file=name, names=names)
        return None
    for entry, why in unreadable:
        if distinct:
            intake.notes.append(Note("unreadable", clean(entry.path), why))
    if not distinct:
        entry, why = unreadable[0]
        intake.problems[module] = finding(Kind.IMPORT, module=module, cause="unreadable", path=clean(entry.path), why=why)
        return None
    return distinct[0]


def copy_helpers(others: list[Entry], folders: set, intake: Intake) -> None:
    """The student's own .py files beside the chosen modules (importable names only)."""
    total = sum(map(len, intake.files.values()))
    count = 0
    for entry in sorted(others, key=lambda e: e.path):
        path = PurePosixPath(entry.path)
        if str(path.parent) not in folders or not HELPER_NAME.match(path.name) or path.name in intake.files:
            continue
        if count >= MAX_HELPERS:
            intake.notes.append(Note("helper_skipped", clean(entry.path), f"more than {MAX_HELPERS} helper files"))
            continue
        try:
            data = entry.read(MAX_MODULE_BYTES)
        except EntryError as exc:
            intake.notes.append(Note("helper_skipped", clean(entry.path), str(exc)))
            continue
        if total + len(data) > MAX_TOTAL_BYTES:
            intake.notes.append(Note("helper_skipped", clean(entry.path), f"over {MAX_TOTAL_BYTES >> 20} MB in all"))
            continue
        intake.files[path.name] = data
        total += len(data)
        count += 1


def notebook_code(notebooks: list[Entry], lab: LabFiles, intake: Intake) -> None:
    """A note for each module that is missing or the untouched skeleton while a notebook
    defines its functions (the notebook is read as JSON text, never run)."""
    waiting = [m for m in lab.modules if m in intake.problems and intake.problems[m].param("cause") == "missing"
               or f"{m}.py" in intake.files and same_text(intake.files[f"{m}.py"], lab.skeletons.get(m, ""))]
    if not waiting or not notebooks:
        return
    defined = set()
    for entry in notebooks:
        try:
            cells = json.loads(entry.read(MAX_NOTEBOOK_BYTES)).get("cells", [])
        except (EntryError, ValueError, AttributeError, RecursionError):
            continue
        for cell in cells if isinstance(cells, list) else []:
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                source = cell.get("source", "")
                source = "".join(s for s in source if isinstance(s, str)) if isinstance(source, list) else str(source)
                defined |= set(NOTEBOOK_DEF.findall(source))
    for module in waiting:
        found = [f for f in lab.functions.get(module, []) if f in defined]
        if found:
            intake.notes.insert(0, Note("notebook", f"{module}.py", "(" + ", ".join(found[:4]) + (", ..." if len(found) > 4 else "") + ")"))
