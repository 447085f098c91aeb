"""Reading a submission (a folder or a .zip) into a read-only folder of its modules.

A submission holds the lab's modules (tlu.py, ... for Lab 17), at its top level or inside
one folder, with or without the notebook. A zip is unpacked with limits (no absolute paths,
no "..", no links, bounded size and file count). Every .py file beside the lab's modules
is kept (a student may add helper modules); nothing else is. A missing module is reported,
not fatal: its cases fail and the others are graded.
"""
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from .text import one_line

MAX_FILES = 200
MAX_BYTES = 20 << 20
SKIP = {"__pycache__", "__MACOSX", ".ipynb_checkpoints"}


class SubmissionError(Exception):
    """A submission that cannot be read at all; the message is one line for the TA."""


@dataclass
class Submission:
    name: str                 # the file or folder name (the `file` column of grades.csv)
    source: Path
    folder: Path = None       # read-only copy holding the .py files
    problems: dict = field(default_factory=dict)   # module -> why it cannot be imported


def load(source, lab_modules, into):
    """Copy the submission's .py files into `into` (a new folder, this user's only: the
    sandbox's strategy opens it to the sandbox, and to no other)."""
    source = Path(source)
    sub = Submission(source.name, source)
    into = Path(into)
    into.mkdir(mode=0o700, parents=True)
    if source.is_dir():
        try:
            files = {p.relative_to(source).as_posix(): p.read_bytes() for p in source.rglob("*.py")
                     if p.is_file() and not p.is_symlink() and not SKIP & set(p.relative_to(source).parts)}
        except (OSError, RecursionError) as exc:
            raise SubmissionError(f"{source.name}: the folder cannot be read ({type(exc).__name__})") from None
    elif source.suffix == ".zip" and source.is_file():
        files = read_zip(source)
    elif not source.exists():
        raise SubmissionError(f"{source}: no such file or folder")
    else:
        raise SubmissionError(f"{source}: a submission is a folder or a .zip, not a {source.suffix or 'file without extension'}")
    root = module_root(files, lab_modules)
    for rel, data in files.items():
        if root and not rel.startswith(root + "/"):
            continue
        rel = rel[len(root) + 1:] if root else rel
        if "/" in rel:
            continue  # only top-level modules are importable by name
        fd = os.open(into / rel, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    for module in lab_modules:
        if not (into / f"{module}.py").exists():
            sub.problems[module] = f"{module}.py is missing from the submission"
    sub.folder = into
    return sub


def read_zip(path):
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(f"{path.name}: not a readable zip file ({exc})")
    files, total = {}, 0
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_FILES * 10:
            raise SubmissionError(f"{path.name}: too many files in the zip ({len(infos)})")
        for info in infos:
            name = info.filename
            parts = Path(name).parts
            mode = info.external_attr >> 16
            if info.is_dir() or not name.endswith(".py") or SKIP & set(parts):
                continue
            if name.startswith("/") or ".." in parts or stat.S_ISLNK(mode):
                raise SubmissionError(f"{path.name}: unsafe path in the zip: {one_line(name, 60)}")
            total += info.file_size
            if total > MAX_BYTES or len(files) >= MAX_FILES:
                raise SubmissionError(f"{path.name}: the zip's .py files are larger than {MAX_BYTES >> 20} MB or more than {MAX_FILES}")
            try:
                files[Path(name).as_posix()] = archive.read(info)
            except (RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                # encrypted, an unknown compression method, a wrong CRC, a truncated entry
                raise SubmissionError(f"{path.name}: {one_line(name, 60)} cannot be read from the zip "
                                      f"({type(exc).__name__}); zip the files again without a password") from None
    return files


def module_root(files, lab_modules):
    """"" when the modules are at the top level, else the one folder that holds them."""
    wanted = {f"{m}.py" for m in lab_modules}
    if wanted & set(files):
        return ""
    folders = {rel.rsplit("/", 1)[0] for rel in files if "/" in rel and rel.rsplit("/", 1)[1] in wanted}
    if len(folders) == 1:
        return folders.pop()
    if len(folders) > 1:
        raise SubmissionError(f"the modules appear in several folders ({', '.join(sorted(folders))}); submit one copy")
    return ""
