"""The English a finding renders as, for tests about wording (the engine's catalogue, and the
lab's words over it where a test needs a lab's known mistake or outcome check)."""
from autograder.catalogue import Catalogue
from autograder.findings import Finding

EN = Catalogue("en")


def english(found: Finding, hidden: bool = False, name: str = "f", words: Catalogue = EN) -> str:
    """What `found` says (its item as its own path) and its likely mistake, as one line."""
    text = words.finding(found, hidden, found.where or "result", name=name)
    likely = words.mistake(found.mistake, hidden)
    return text + (f". Likely mistake: {likely}" if likely else "")
