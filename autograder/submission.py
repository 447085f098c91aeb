"""A submission ready for its sandbox: what the intake chose, written to a folder of its own.

`autograder.intake` finds and reads the modules (see there); `load` writes them where the
sandbox's strategy opens them to the sandbox, and to no other.
"""
from dataclasses import dataclass, field
from pathlib import Path

from .intake import Intake, LabFiles, Note, SubmissionError, take

__all__ = ["Submission", "SubmissionError", "load", "write"]


@dataclass
class Submission:
    name: str                 # the `file` column of grades.csv
    source: Path
    folder: Path = None       # the copy the sandbox reads
    problems: dict = field(default_factory=dict)   # module -> why it cannot be graded
    notes: list[Note] = field(default_factory=list)


def write(intake: Intake, name: str, source, into) -> Submission:
    """The intake's files in the new folder `into`."""
    folder = intake.write(Path(into))
    return Submission(name, Path(source), folder, dict(intake.problems), list(intake.notes))


def load(source, lab, into) -> Submission:
    """Take the submission `source` of `lab` (a Lab or LabFiles) and write it to `into`."""
    files = lab if isinstance(lab, LabFiles) else LabFiles.of(lab)
    return write(take(source, files), Path(source).name, source, into)
