"""Reading a submission (a folder or a .zip) into a read-only folder of its modules.

A submission holds the lab's modules (tlu.py, ... for Lab 17), at its top level or inside
one folder, with or without the notebook. A zip is unpacked with limits (no absolute paths,
no "..", no links, bounded size and file count). Every .py file beside the lab's modules
is kept (a student may add helper modules); nothing else is. A missing module is reported,
not fatal: its cases fail and the others are graded.
"""
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

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
    """Copy the submission's .py files into `into` (created, world-readable, read-only)."""
    source = Path(source)
    sub = Submission(source.name, source)
    into = Path(into)
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    if source.is_dir():
        files = {p.relative_to(source).as_posix(): p.read_bytes() for p in source.rglob("*.py")
                 if p.is_file() and not p.is_symlink() and not SKIP & set(p.relative_to(source).parts)}
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
        (into / rel).write_bytes(data)
        os.chmod(into / rel, 0o644)
    os.chmod(into, 0o755)
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
                raise SubmissionError(f"{path.name}: unsafe path in the zip: {name}")
            total += info.file_size
            if total > MAX_BYTES or len(files) >= MAX_FILES:
                raise SubmissionError(f"{path.name}: the zip's .py files are larger than {MAX_BYTES >> 20} MB or more than {MAX_FILES}")
            files[Path(name).as_posix()] = archive.read(info)
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
