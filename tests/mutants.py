"""The checks of tests/test_mutations.py, each on its copy of the package, in a process forked from this one.

`python tests/mutants.py JOBS WORKERS`: torch, the compiler front end that its Adam imports, and the other libraries
load once, here, before any bvae module; each forked child then imports its copy's bvae alone and writes what it
found to `outcome.json` in its copy. A check so takes about a second instead of the eight of a fresh process.
"""

import json
import os
import sys
import traceback
from pathlib import Path

import numpy  # noqa: F401
import pandas  # noqa: F401
import pyarrow.parquet  # noqa: F401
import sklearn.datasets  # noqa: F401
import torch  # noqa: F401
import torch._dynamo  # noqa: F401
import torch.optim  # noqa: F401


def check(job: dict) -> dict:
    """In a child: the golden check ("first": up to the first part that differs, "all", or None) and the fingerprints
    of the rules named, of the copy at job["root"]."""
    root = Path(job["root"])
    sys.path.insert(0, str(root / "src"))
    os.chdir(root)
    found: dict = {}
    if job["golden"]:
        from bvae.training.golden import check as golden

        found["golden"] = golden(json.loads(Path(job["record"]).read_text()), first=job["golden"] == "first")
    if job["rules"]:
        from bvae.study.fingerprint import script_fingerprint

        found["fingerprints"] = {name: script_fingerprint(Path("workflow", "scripts", name)) for name in job["rules"]}
    return found


def child(job: dict) -> None:
    try:
        found = check(job)
    except BaseException:  # the outcome says what broke; the test shows it
        found = {"error": traceback.format_exc()}
    Path(job["root"], "outcome.json").write_text(json.dumps(found))
    os._exit(0)


def main(jobs: list[dict], workers: int) -> None:
    running: set[int] = set()
    for job in jobs:
        if len(running) >= workers:
            running.discard(os.wait()[0])
        pid = os.fork()
        if pid == 0:
            child(job)
        running.add(pid)
    while running:
        running.discard(os.wait()[0])


if __name__ == "__main__":
    main(json.loads(Path(sys.argv[1]).read_text()), int(sys.argv[2]))
