"""CI runs exactly the README's test command: .ci/run's last line is the README's second
command (the one that installs bubblewrap and chromium, sets up a venv and runs the suite)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readmes_test_command():
    blocks = re.findall(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    ci = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
          if line.strip() and not line.startswith("#")]
    assert ci[-1] == blocks[1].strip()
    assert "apt-get install -y chromium" in ci[-1] and "apt-get install -y bubblewrap" in ci[-1]
