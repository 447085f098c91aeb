"""Every grading setting in one declared place: a default and a description each.

`python -m autograder settings` prints this table. The engine reads these values; nothing
else in the kit hard-codes a timeout, a cap or a tolerance.

Any setting can be overridden from the environment as AUTOGRADER_<NAME> (e.g.
AUTOGRADER_ISOLATION=nobody, AUTOGRADER_CASE_TIMEOUT=10): `from_environment` applies them.
Command-line options beat the environment, which beats the defaults (and, in autograder.zip,
the settings stored in otter_config.json).
"""
import os
from dataclasses import dataclass, field, fields, replace

ENV_PREFIX = "AUTOGRADER_"


def setting(default, description):
    return field(default=default, metadata={"description": description})


@dataclass(frozen=True)
class Settings:
    case_timeout: float = setting(5.0, "wall seconds one hidden case may take before the sandbox is killed")
    import_timeout: float = setting(10.0, "wall seconds the student modules may take to import")
    submission_budget: float = setting(120.0, "wall seconds for all cases of one submission; later cases fail once it is spent")
    cpu_seconds: int = setting(60, "RLIMIT_CPU of one sandbox process (CPU seconds)")
    memory_bytes: int = setting(1 << 30, "RLIMIT_AS of one sandbox process (address space, bytes)")
    max_processes: int = setting(64, "RLIMIT_NPROC inside the sandbox (processes and threads)")
    output_bytes: int = setting(8 << 20, "RLIMIT_FSIZE: the largest file (stdout, results) the sandbox may write")
    max_result_bytes: int = setting(16 << 20, "the most result data read back from one case")
    sandbox_disk_bytes: int = setting(64 << 20, "bytes a sandbox may write into its own temporary folders (a private tmpfs each)")
    sandbox_files: int = setting(4096, "files and folders a sandbox may make there (where its tmpfs can be capped in inodes)")
    restarts: int = setting(25, "sandbox restarts allowed per submission (after timeouts or crashes) before the rest fails")
    workers: int = setting(0, "submissions graded at once (-j); 0 means the number of cores")
    isolation: str = setting("auto", "sandbox: auto, bwrap, nobody or rlimits (auto takes the first that works here)")
    scratch: str = setting("auto", "folder for the batch's working files; auto: /dev/shm when writable (small files "
                                   "are much faster on tmpfs), else the system's temporary folder")
    gradcheck_h: float = setting(1e-5, "step of the engine's central differences")
    gradcheck_tol: float = setting(1e-6, "largest relative error max|a-n| / max(1e-8, max|a|+max|n|) a correct derivative may show")
    form_share: float = setting(0.25, "share of a function's points deducted, once, when a result's values are right but "
                                      "its form breaks the contract (an integer dtype or a list where a float64 "
                                      "ndarray is asked)")
    lang: str = setting("auto", "language of feedback, results.json and the status: ko or en; auto: the lab's (its contract's LANGUAGE)")
    kink_margin: float = setting(1e-3, "random points stay this far from the kinks of relu and leaky_relu")

    def describe(self):
        """Rows (name, value, description) for the settings table."""
        return [(f.name, getattr(self, f.name), f.metadata["description"]) for f in fields(self)]

    def with_overrides(self, **overrides):
        unknown = set(overrides) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; see `python -m autograder settings`")
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


DEFAULTS = Settings()


def from_environment(base=DEFAULTS, environ=None):
    """`base` with every AUTOGRADER_<NAME> variable of `environ` (default os.environ) applied.
    Variables that name no setting are ignored (AUTOGRADER_PYTHON is read by run_autograder)."""
    environ = os.environ if environ is None else environ
    overrides = {}
    for f in fields(base):
        text = environ.get(ENV_PREFIX + f.name.upper())
        if text is None or text.strip() == "":
            continue
        kind = type(f.default)
        try:
            overrides[f.name] = kind(text.strip()) if kind is not int else int(float(text.strip()))
        except ValueError:
            raise ValueError(f"{ENV_PREFIX + f.name.upper()}={text!r} is not a valid {kind.__name__}") from None
    return base.with_overrides(**overrides)
