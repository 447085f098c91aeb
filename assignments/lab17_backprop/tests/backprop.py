OK_FORMAT = True

# The public self-check for "backprop": grader.check("backprop") runs checks.run("backprop", quiet=True) from
# checks.py next to the notebook. It returns True when every check passes; otherwise it raises
# AssertionError whose message lists the FAIL lines, which Otter shows under the cell.
test = {
    "name": "backprop",
    "points": 30,
    "suites": [
        {
            "cases": [
                {
                    "code": ">>> import checks\n>>> checks.run('backprop', quiet=True)\nTrue\n",
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
