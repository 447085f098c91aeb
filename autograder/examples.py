"""The bundled example submissions of a lab (solutions/<lab>/examples.py), written out as
folders so that a newcomer's first `grade` shows a real table."""
import shutil
from pathlib import Path

from .skeleton import skeleton_files


def lab_examples(lab) -> list[tuple[str, dict[str, str], dict[str, float]]]:
    """[(name, {module: text}, promised scores)] from the lab's examples.py."""
    module = lab.private_module("examples", "name the submissions to grade")
    skeleton = {name[:-3]: text for name, text in skeleton_files(lab.reference_dir, lab.modules).items()}
    return module.examples(lab.reference_sources(), skeleton)


def write_examples(lab, into: Path | str) -> list[tuple[Path, dict[str, float]]]:
    """Write every example as into/<name>/<module>.py; returns [(folder, promised)]."""
    into = Path(into)
    written = []
    for name, files, promised in lab_examples(lab):
        folder = into / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for module, text in files.items():
            (folder / f"{module}.py").write_text(text)
        written.append((folder, promised))
    return written
