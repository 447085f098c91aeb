"""Throughput of `grade` against serial `otter run`: figures and ratios, never a test.

`python -m autograder benchmark` builds N submissions (copies of the reference and of the
bank's mistakes, in turn), grades them all with `grade -jJ`, grades a sample with
`otter run -a dist/autograder.zip` one after the other (as a TA without Docker would), and
prints seconds per submission for each and their ratio. Both run in the same process on the
same machine at the same time of day, so the ratio is comparable even on a noisy machine.
"""
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from . import bank as schema
from . import batch, build, mutants


def write_submissions(lab, into, n):
    """n folders: the reference, then each mistake of the bank in turn, then again."""
    reference = lab.reference_sources()
    bank = mutants.load_bank(lab)
    variants = [("reference", reference)] + [(m.name, schema.apply(m.edits, reference)) for m in bank.MISTAKES]
    folders = []
    for i in range(n):
        name, sources = variants[i % len(variants)]
        folder = Path(into) / f"{i:04d}_{name}"
        folder.mkdir(parents=True)
        for module, text in sources.items():
            (folder / f"{module}.py").write_text(text)
        folders.append(folder)
    return folders


def zipped(folder):
    path = folder.with_suffix(".zip")
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folder.glob("*.py")):
            archive.write(file, file.name)
    return path


def otter_executable():
    candidate = Path(sys.executable).with_name("otter")
    found = candidate if candidate.exists() else shutil.which("otter")
    if not found:
        raise RuntimeError("otter is not installed in this environment (pip install -e .)")
    return str(found)


def run(lab, settings, n=200, jobs=2, otter_sample=5, log=print):
    """Print and return {"kit": s per submission, "otter": s per submission, "ratio": ...}."""
    with tempfile.TemporaryDirectory(prefix="benchmark-") as tmp:
        tmp = Path(tmp)
        folders = write_submissions(lab, tmp / "subs", n)
        started = time.perf_counter()
        batch.grade_batch(lab, folders, tmp / "out", settings, jobs=jobs, log=lambda *a: None, progress=False)
        kit = (time.perf_counter() - started) / n
        log(f"grade -j{jobs}: {n} submissions in {kit * n:.1f} s = {kit:.3f} s a submission "
            f"(includes preparing the cases, report.png and report.html once)")
        figures = {"kit": kit}
        if otter_sample:
            built = build.build(lab, tmp / "dist", settings, log=lambda *a: None)
            otter = otter_executable()
            times = []
            for folder in folders[:otter_sample]:
                archive = zipped(folder)
                (tmp / "otter" / folder.name).mkdir(parents=True)
                t = time.perf_counter()
                subprocess.run([otter, "run", "-a", str(built.autograder_zip), "-o", str(tmp / "otter" / folder.name),
                                str(archive)], check=True, capture_output=True, timeout=600)
                times.append(time.perf_counter() - t)
            figures["otter"] = sum(times) / len(times)
            figures["ratio"] = figures["otter"] / kit
            log(f"otter run (serial, {otter_sample} submissions): {figures['otter']:.2f} s a submission")
            log(f"throughput ratio grade -j{jobs} / serial otter run: {figures['ratio']:.1f}x "
                f"(target >= 15x; and grade under 0.3 s a submission: {'met' if kit < 0.3 else 'NOT met'})")
    return figures
