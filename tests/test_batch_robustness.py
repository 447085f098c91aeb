"""A batch always finishes with a row for everyone, whatever one submission holds, and leaves
nothing behind: unreadable zips, trees no recursive remover can delete, names planted where
the remover renames things, a batch stopped by SIGTERM, copies never readable by others."""
import os
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from conftest import skip_mode

from autograder import batch, submission
from autograder.config import DEFAULTS
from autograder.sandbox import cleanup, slots

ROOT = Path(__file__).resolve().parents[1]


def reference_zip(lab, path):
    with zipfile.ZipFile(path, "w") as archive:
        for module, text in lab.reference_sources().items():
            archive.writestr(f"{module}.py", text)
    return path


def damaged(path, lab, how):
    """A zip that `zipfile` lists but cannot read: an entry flagged encrypted, a wrong CRC,
    or an unknown compression method."""
    reference_zip(lab, path)
    data = bytearray(path.read_bytes())
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    if how == "encrypted":
        data[local + 6] |= 1
        data[central + 8] |= 1
    elif how == "crc":
        data[local + 14] ^= 0xFF
        data[central + 16] ^= 0xFF
    else:  # compression method 99 (AES), which zipfile does not know
        data[local + 8:local + 10] = (99).to_bytes(2, "little")
        data[central + 10:central + 12] = (99).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("how", ["encrypted", "crc", "method"])
def test_an_unreadable_module_costs_that_module_only_and_the_batch_goes_on(tmp_path, lab, how):
    bad = damaged(tmp_path / f"bad_{how}.zip", lab, how)
    with zipfile.ZipFile(bad) as archive:
        assert archive.namelist()[0] == "tlu.py"   # it lists ...
        with pytest.raises(Exception):
            archive.read(archive.namelist()[0])   # ... but cannot read its first module
    good = reference_zip(lab, tmp_path / "good.zip")
    log = []
    rows = batch.grade_batch(lab, [bad, good], tmp_path / "out", DEFAULTS.with_overrides(isolation="rlimits"),
                             jobs=1, log=log.append, progress=False, report_png=False)
    assert [r["file"] for r in rows] == [bad.name, good.name]
    why = {"encrypted": "it has a password", "crc": "a wrong CRC", "method": "an unknown compression method"}[how]
    assert rows[0]["grading_status"] == f"Completed with errors: tlu.py cannot be read ({why}); zip it again without a password"
    assert rows[0]["tlu"] == 0 and rows[0]["total_points_earned"] == lab.total_points - lab.points["tlu"]
    assert rows[1]["grading_status"] == "Completed"
    assert "2 submission(s): 1 graded, 1 with errors, 0 not graded" in log


def test_a_zip_that_cannot_be_opened_is_one_not_graded_row(tmp_path, lab):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    good = reference_zip(lab, tmp_path / "good.zip")
    log = []
    rows = batch.grade_batch(lab, [bad, good], tmp_path / "out", DEFAULTS.with_overrides(isolation="rlimits"),
                             jobs=1, log=log.append, progress=False, report_png=False)
    assert rows[0]["grading_status"] == "Not graded: bad.zip: not a readable zip file (BadZipFile)"
    assert rows[0]["total_points_earned"] == 0 and rows[1]["grading_status"] == "Completed"
    assert "2 submission(s): 1 graded, 0 with errors, 1 not graded" in log


def test_an_engine_failure_is_a_row_not_a_stopped_batch(tmp_path, lab, monkeypatch):
    good = reference_zip(lab, tmp_path / "good.zip")
    other = reference_zip(lab, tmp_path / "other.zip")
    real = batch.grade

    def sometimes(prepared, sub, name, *args, **kwargs):
        if name == "good.zip":
            raise RecursionError("deep")
        return real(prepared, sub, name, *args, **kwargs)
    monkeypatch.setattr(batch, "grade", sometimes)
    rows = batch.grade_batch(lab, [good, other], tmp_path / "out", DEFAULTS.with_overrides(isolation="rlimits"),
                             jobs=1, log=lambda *a: None, progress=False, report_png=False)
    assert rows[0]["grading_status"] == "Not graded: internal error (RecursionError); grade it again or report it"
    assert rows[1]["grading_status"] == "Completed"


def test_a_tree_deeper_than_the_recursion_limit_is_removed(tmp_path):
    top = tmp_path / "top"
    top.mkdir()
    fd = os.open(top, os.O_RDONLY)
    for _ in range(sys.getrecursionlimit() * 3):
        os.mkdir("d", dir_fd=fd)
        deeper = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = deeper
    os.close(fd)
    for name in [f".rm{i}" for i in range(1, 50)]:   # the names the old remover renamed to
        (top / name).write_text("planted")
    os.symlink("/etc", top / "link")
    assert cleanup.remove_tree(top) and not top.exists()
    assert os.path.exists("/etc/passwd")


def test_what_cannot_be_removed_is_reported_once(tmp_path):
    folder = tmp_path / "stuck"
    (folder / "inner").mkdir(parents=True)
    os.chmod(folder, 0o500)  # root ignores modes: make the folder a mount point's parent instead
    try:
        if os.geteuid() == 0:
            from autograder.sandbox import linux
            linux.tmpfs(folder / "inner", 1 << 20, 16)
        assert not cleanup.remove_tree(folder)
        assert cleanup.left_behind() == [str(folder)] and cleanup.left_behind() == []
    finally:
        if os.geteuid() == 0:
            from autograder.sandbox import linux
            linux.umount(folder / "inner")
        os.chmod(folder, 0o700)
        cleanup.remove_tree(folder)


def test_a_copy_is_never_readable_by_others(tmp_path, lab):
    source = tmp_path / "sub"
    source.mkdir()
    for module, text in lab.reference_sources().items():
        (source / f"{module}.py").write_text(text)
    sub = submission.load(source, lab, tmp_path / "copy")
    assert stat.S_IMODE(sub.folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in sub.folder.iterdir()} == {0o600}


def test_lock_files_live_in_a_private_folder_and_a_planted_one_is_refused(tmp_path, monkeypatch):
    folder = slots.lock_dir()
    info = os.lstat(folder)
    assert stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077
    monkeypatch.setattr(slots.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(slots.os, "geteuid", lambda: 4242)   # not root: the folder goes under tmp_path
    os.symlink("/etc", tmp_path / "autograder-slots-4242")
    with pytest.raises(RuntimeError, match="not a private folder"):
        slots.lock_dir()


def test_sigterm_stops_a_batch_and_leaves_nothing(tmp_path, lab):
    """A batch killed with SIGTERM (like Ctrl-C) kills its sandboxes and removes its working
    folder: no hidden case input stays on the host."""
    looping = tmp_path / "looping"
    looping.mkdir()
    for module, text in lab.reference_sources().items():
        if module == "activations":
            text += "\n\ndef sigmoid(z):\n    while True:\n        pass\n"
        (looping / f"{module}.py").write_text(text)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = dict(os.environ, AUTOGRADER_SCRATCH=str(scratch), AUTOGRADER_ISOLATION="rlimits", AUTOGRADER_CASE_TIMEOUT="30")
    process = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(looping), "--out", str(tmp_path / "out")],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not list(scratch.glob("autograder-*/slot*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(scratch.glob("autograder-*")), "the batch never started"
    time.sleep(1)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    assert process.returncode != 0
    assert list(scratch.iterdir()) == []


def test_bwrap_works_wherever_it_is_installed():
    """A bwrap that is installed but broken (a typo in a flag) must fail loudly here, not drop
    out of the campaign's parametrisation (network isolation would then be tested nowhere)."""
    import shutil
    from autograder.sandbox import isolation
    if not shutil.which("bwrap") and not os.environ.get("AUTOGRADER_REQUIRE_BWRAP"):
        skip_mode("bubblewrap is not installed (KIT_REQUIRE_MODES=1 or AUTOGRADER_REQUIRE_BWRAP=1 require it)")
    assert "bwrap" in isolation.working(DEFAULTS)


def test_the_uid_sandbox_works_as_root_wherever_python_lives():
    """As root, the uid sandbox (Gradescope's) must work here, even with the virtual
    environment inside a temporary folder that its private tmpfs covers: a probe that fails
    would drop it from the campaign's parametrisation without a word."""
    from autograder.sandbox import isolation
    if os.geteuid() != 0:
        skip_mode("the uid sandbox needs root")
    assert "nobody" in isolation.working(DEFAULTS)


def test_a_python_in_a_temporary_folder_stays_visible_under_private_mounts(tmp_path):
    from autograder.sandbox import strategies
    assert strategies.under_shared_temp("/tmp/kit/.venv") and strategies.under_shared_temp("/dev/shm")
    assert not strategies.under_shared_temp("/tmpfoo/x") and not strategies.under_shared_temp("/work/kit/.venv")
