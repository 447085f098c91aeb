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


def test_one_line_keeps_exactly_limit_characters_and_cuts_at_a_space_in_its_second_half():
    assert text.one_line("x" * 40, 40) == "x" * 40                    # at the limit: kept whole
    assert text.one_line("x" * 100, 40) == "x" * 37 + "..."           # over it: limit - 3 and "..."
    late = "a" * 100 + " " + "b" * 100                                 # a space in the second half: cut there
    assert text.one_line(late, 160) == "a" * 100 + "..."
    early = "a" * 60 + " " + "b" * 140                                 # only in the first half: a hard cut
    assert text.one_line(early, 160) == early[:157] + "..."


def test_the_documented_limits_are_the_ones_applied():
    """README: a status is at most 200 characters, a public case's student line at most 160."""
    from autograder import grading
    from autograder.cases import Case, Matches
    assert len(text.status("x" * 500)) == 200
    line = grading.student_line(Case("m.f", (), Matches(), hidden=False), "y" * 500)
    assert len(line) == 160


def test_numpys_own_exception_and_warning_names_are_repeated():
    assert text.exception_name("AxisError") == "AxisError"
    assert text.warning_name("ComplexWarning") == "ComplexWarning" and text.warning_name("RankWarning") == "RankWarning"
