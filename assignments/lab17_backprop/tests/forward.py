OK_FORMAT = True

# The public self-check for "forward": grader.check("forward") runs checks.run("forward", quiet=True) from
# checks.py next to the notebook. It returns True when every check passes; otherwise it raises
# AssertionError whose message lists the FAIL lines, which Otter shows under the cell.
test = {
    "name": "forward",
    "points": 20,
    "suites": [
        {
            "cases": [
                {
                    "code": ">>> import checks\n>>> checks.run('forward', quiet=True)\nTrue\n",
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
