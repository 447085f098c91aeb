"""Student skeletons generated from the reference: every function is written once.

In a reference module, the part a student writes sits between two marker comments:

    # BEGIN SOLUTION hint: <one line for the student>
    ... reference code ...
    # END SOLUTION

The skeleton keeps everything else (imports, signatures, docstrings, given helpers, the
scaffolding around the block) and replaces each block by
`raise NotImplementedError("<function>: <hint>")`, so the skeleton imports cleanly.
"""
import re
from pathlib import Path

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION(?: hint: (?P<hint>.*))?$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
DEF = re.compile(r"^\s*def (?P<name>\w+)\(")


class MarkerError(ValueError):
    """A reference module whose solution markers do not pair up."""


def strip_solutions(source, filename="<reference>"):
    """Return the skeleton text of one reference module (see the module docstring)."""
    out, function, inside = [], None, None
    for number, line in enumerate(source.splitlines(), start=1):
        if inside is None and (m := DEF.match(line)):
            function = m.group("name")
        if m := BEGIN.match(line):
            if inside is not None:
                raise MarkerError(f"{filename}:{number}: BEGIN SOLUTION inside another block")
            if not m.group("hint"):
                raise MarkerError(f"{filename}:{number}: BEGIN SOLUTION needs 'hint: ...'")
            inside = number
            message = f"{function}: {m.group('hint').strip()}"
            out.append(f"{m.group('indent')}raise NotImplementedError({message!r})")
        elif END.match(line):
            if inside is None:
                raise MarkerError(f"{filename}:{number}: END SOLUTION without BEGIN")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise MarkerError(f"{filename}:{inside}: BEGIN SOLUTION never ends")
    return "\n".join(out) + "\n"


def strip_markers(source):
    """Return the reference text without its marker lines (what a correct student would write)."""
    return "\n".join(
        line for line in source.splitlines() if not (BEGIN.match(line) or END.match(line))
    ) + "\n"


def skeleton_files(reference_dir, modules):
    """{file name: skeleton text} for each module name of a lab's reference folder."""
    reference_dir = Path(reference_dir)
    return {
        f"{name}.py": strip_solutions((reference_dir / f"{name}.py").read_text(), f"{name}.py")
        for name in modules
    }
