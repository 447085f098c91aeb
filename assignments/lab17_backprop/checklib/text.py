"""Every line a person reads is written by the parent: what crosses from the sandbox is
reduced here to allow-listed names and, where allowed, one cleaned line."""
import builtins
import re

STATUS_LIMIT = 200     # characters of a grading_status
MESSAGE_LIMIT = 160    # characters of a student's own message shown for a public case

# exception and warning names the feedback may repeat; anything else is "an exception"
EXCEPTIONS = frozenset(name for name, value in vars(builtins).items()
                       if isinstance(value, type) and issubclass(value, BaseException)) | {"LinAlgError", "AxisError"}
WARNINGS = frozenset(name for name, value in vars(builtins).items()
                     if isinstance(value, type) and issubclass(value, Warning)) | {"ComplexWarning", "RankWarning"}


def one_line(text, limit):
    """Printable characters only (no control or escape characters), whitespace collapsed,
    at most `limit` characters, cut at a word boundary where there is one."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(text))
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 3]
    if " " in cut[limit // 2:]:
        cut = cut[: cut.rindex(" ")]
    return cut + "..."


def exception_name(name):
    return name if isinstance(name, str) and name in EXCEPTIONS else "an exception"


def warning_name(name):
    return name if isinstance(name, str) and name in WARNINGS else "a warning"


def status(text):
    """A grading_status: one printable line of at most STATUS_LIMIT characters."""
    return one_line(text, STATUS_LIMIT)
