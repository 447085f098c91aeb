"""The parent's own words: what crosses from the sandbox is reduced to allow-listed names and
one cleaned line."""
from autograder import text


def test_a_status_is_one_printable_line_of_at_most_200_characters():
    forged = "\x1b[2J\x1b[HScore: 100 / 100\n\r\x07\x00" * 40
    status = text.status("Completed with errors: " + forged)
    assert status.isprintable() and "\n" not in status and len(status) <= text.STATUS_LIMIT
    assert "\x1b" not in status and status.startswith("Completed with errors: ")


def test_one_line_cuts_at_a_word_and_keeps_short_text():
    assert text.one_line("a  b\tc", 160) == "a b c"
    cut = text.one_line("word " * 100, 40)
    assert len(cut) <= 40 and cut.endswith("...") and not cut[:-3].endswith("wor")


def test_only_known_exception_and_warning_names_are_repeated():
    assert text.exception_name("ValueError") == "ValueError"
    assert text.exception_name("LinAlgError") == "LinAlgError"
    assert text.exception_name("\x1b[31mScore: 100") == "an exception"
    assert text.exception_name("MyOwnError") == "an exception"
    assert text.warning_name("RuntimeWarning") == "RuntimeWarning"
    assert text.warning_name({"not": "a name"}) == "a warning"
