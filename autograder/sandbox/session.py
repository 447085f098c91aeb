"""The trusted parent's side of one sandbox: start it, send cases, time them, kill it.

A Session runs the runner (runner.py) under an isolation strategy, in its own process
group, with rlimits. Every case has a wall timeout: when it passes, the whole sandbox is
killed and the next `run` starts a fresh one. The parent reads only status lines (raised or
not) from a private pipe and result files from the output folder, never stdout.

Student code runs in the runner's process and can write to that pipe and that folder at any
time, so a case counts only what was made after the parent asked for it: `run` moves what is
already at the case's folder out of the sandbox's reach before sending the case, and accepts
only the status line that echoes the case's fresh random token (a line forged in advance for
a later case cannot know it). The output folder is deleted when the sandbox closes, with a
remover that no depth of nested folders can stop (`isolation.remove_tree`).
"""
import json
import os
import secrets
import select
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import isolation

MAX_STATUS_LINE = 8192
TOKEN_BYTES = 16  # the random token a case's status line must echo
ACTIVE = set()   # running sessions, so that Ctrl-C can kill every sandbox


def kill_all():
    for session in list(ACTIVE):
        session.close()


@dataclass
class Outcome:
    """What happened to one case in the sandbox (not whether it was right)."""
    status: str                 # ok, error (raised), timeout, crash (the sandbox died), skipped
    error: str | None = None
    warnings: list = field(default_factory=list)
    seconds: float = 0.0


class StartFailure(Exception):
    """The sandbox did not get as far as importing the student's modules."""


class Session:
    def __init__(self, strategy, settings, submission, cases, modules, scratch, slot=0):
        self.strategy, self.settings = strategy, settings
        self.modules, self.slot = list(modules), slot
        self.paths = isolation.Paths(Path(submission), Path(cases), Path(scratch) / "out")
        self.stale = Path(scratch) / "stale"   # what student code left at a case's folder in advance
        self.process = None
        self.control = None
        self.buffer = b""
        self.given = set()
        self.import_errors = {}

    # -- lifecycle -----------------------------------------------------------------------
    def start(self):
        """Start the sandbox and wait for its imports. Returns {module: error or None}."""
        self.close()
        self.paths.out.parent.mkdir(parents=True, exist_ok=True)
        self.paths.out.mkdir(mode=0o700, exist_ok=True)  # exists only when close() could not remove it
        self.stale.mkdir(mode=0o700, exist_ok=True)
        if self.strategy.uses_slot_uid:
            os.chown(self.paths.out, isolation.slot_uid(self.slot), isolation.slot_uid(self.slot))
            os.chmod(self.paths.out, 0o700)
            isolation.restrict_to_slot(self.paths.submission, self.slot)
        read_fd, write_fd = os.pipe()
        spec = self.strategy.runner_spec(self.paths, self.slot)
        spec.update(modules=self.modules, control_fd=write_fd)
        argv = self.strategy.argv(self.paths, json.dumps(spec))
        settings = self.settings
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(write_fd,), start_new_session=True, env=isolation.base_env(),
            preexec_fn=lambda: isolation.set_limits(settings), close_fds=True)
        os.close(write_fd)
        ACTIVE.add(self)
        self.control, self.buffer, self.given = read_fd, b"", set()
        message = self._receive(settings.import_timeout)
        if message is None or "ready" not in message or not isinstance(message["ready"], dict):
            try:
                self.process.wait(timeout=0.2)  # tell "still running" from "just exited"
            except subprocess.TimeoutExpired:
                pass
            reason = "timed out" if message is None and self.process.poll() is None else "exited"
            self.close()
            raise StartFailure(f"the submission's modules {reason} while importing "
                               f"(limit {settings.import_timeout:g} s)" if reason == "timed out"
                               else "the submission stopped Python while its modules were importing")
        self.import_errors = {m: str(e) for m, e in message["ready"].items() if m in self.modules}
        return self.import_errors

    def close(self):
        ACTIVE.discard(self)
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if self.strategy.shares_host:
                isolation.kill_slot(self.slot)
                isolation.remove_slot_files(self.slot)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for stream in (self.process.stdin,):
                try:
                    stream.close()
                except OSError:
                    pass
            self.process = None
        if self.control is not None:
            os.close(self.control)
            self.control = None
        isolation.remove_tree(self.paths.out)
        isolation.remove_tree(self.stale)

    @property
    def alive(self):
        return self.process is not None and self.process.poll() is None

    # -- commands ------------------------------------------------------------------------
    def give(self, name, sources):
        """Load trusted helper modules into the sandbox once per sandbox life."""
        if name in self.given:
            return True
        if not self._send({"op": "give", "sources": sources}):
            return False
        reply = self._receive(self.settings.import_timeout)
        if reply is None or "given" not in reply:
            self.close()
            return False
        self.given.add(name)
        return True

    def run(self, k, timeout):
        """Run case k. The result files are in out_dir(k) when the outcome is ok."""
        token = secrets.token_hex(TOKEN_BYTES)
        self._set_aside(k, token)
        started = time.monotonic()
        if not self._send({"op": "case", "k": k, "token": token}):
            return Outcome("crash", "the sandbox was not running", seconds=0.0)
        while True:
            left = timeout - (time.monotonic() - started)
            message = self._receive(max(left, 0.0))
            seconds = time.monotonic() - started
            if message is None:
                timed_out = self.alive
                self.close()
                if timed_out:
                    return Outcome("timeout", f"took longer than {timeout:g} s", seconds=seconds)
                return Outcome("crash", "Python stopped during the call (os._exit, a signal or a resource limit)", seconds=seconds)
            if message.get("k") == k and message.get("token") == token:
                error = message.get("error")
                warns = [str(w)[:300] for w in message.get("warnings", [])][:5] if isinstance(message.get("warnings"), list) else []
                return Outcome("error" if error else "ok", str(error)[:300] if error else None, warns, seconds)
            # anything else on the channel is noise or a forgery written by student code: ignore it

    def out_dir(self, k):
        return self.paths.out / str(k)

    def _set_aside(self, k, token):
        """Move whatever is at out_dir(k) (planted before the case: a folder, file, link or
        FIFO) out of the sandbox's reach; it is deleted when the sandbox closes."""
        try:
            os.rename(self.out_dir(k), self.stale / f"{k}-{token}")
        except FileNotFoundError:  # nothing there (the usual case)
            pass

    # -- the control pipe ----------------------------------------------------------------
    def _send(self, command):
        if not self.alive:
            return False
        try:
            self.process.stdin.write((json.dumps(command) + "\n").encode())
            self.process.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def _receive(self, timeout):
        """The next JSON status line, or None on timeout or end of stream."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or self.control is None:
                return None
            ready, _, _ = select.select([self.control], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.control, 65536)
            if not chunk:
                return None
            self.buffer += chunk
            if len(self.buffer) > MAX_STATUS_LINE and b"\n" not in self.buffer:
                self.buffer = b""
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            message = json.loads(line[:MAX_STATUS_LINE])
        except ValueError:
            return {}
        return message if isinstance(message, dict) else {}


def probe_session(strategy):
    """True when `strategy` can start the runner and import NumPy on this machine."""
    from ..config import DEFAULTS
    with tempfile.TemporaryDirectory(prefix="ag-probe-") as scratch:
        scratch = Path(scratch)
        os.chmod(scratch, 0o755)
        for name in ("submission", "cases"):
            (scratch / name).mkdir()
            os.chmod(scratch / name, 0o755)
        (scratch / "submission" / "probe_module.py").write_text("import numpy\n")
        os.chmod(scratch / "submission" / "probe_module.py", 0o644)
        session = Session(strategy, DEFAULTS, scratch / "submission", scratch / "cases",
                          ["probe_module"], scratch, slot=0)
        try:
            return session.start() == {}
        except (StartFailure, OSError):
            return False
        finally:
            session.close()
