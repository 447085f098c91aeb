OK_FORMAT = True

# The public self-check for "tlu": grader.check("tlu") runs checks.run("tlu", quiet=True) from
# checks.py next to the notebook. It returns True when every check passes; otherwise it raises
# AssertionError whose message lists the FAIL lines, which Otter shows under the cell.
test = {
    "name": "tlu",
    "points": 15,
    "suites": [
        {
            "cases": [
                {
                    "code": ">>> import checks\n>>> checks.run('tlu', quiet=True)\nTrue\n",
                    "hidden": False,
                    "locked": False,
                }
            ],
            "scored": True,
            "setup": "",
            "teardown": "",
            "type": "doctest",
        }
    ],
}
