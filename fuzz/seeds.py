"""Write every harness's seed corpus: `python -m fuzz.seeds DIR` makes DIR/NAME/seed-NNNN files.

The seeds encode the test cases (tests/cases.py: configurations, requests, app headers) in
each harness's input language, so fuzzing starts from every behaviour the tests pin down.
The inputs of past findings (fuzz/findings/NAME/) are seeds too: every run replays them first.
"""

from __future__ import annotations

import hashlib
import importlib
import shutil
import sys
import warnings
from pathlib import Path

from fuzz.registry import HARNESSES

FINDINGS = Path(__file__).parent / "findings"


def write(directory: Path, names: list[str]) -> dict[str, int]:
    counts = {}
    warnings.simplefilter("ignore")
    for name in names:
        harness = importlib.import_module(HARNESSES[name])
        target = directory / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        unique = dict.fromkeys(harness.seeds())
        found = FINDINGS / name
        if found.is_dir():
            unique.update(dict.fromkeys(path.read_bytes() for path in sorted(found.iterdir()) if path.is_file()))
        for data in unique:
            (target / f"seed-{hashlib.sha1(data).hexdigest()[:16]}").write_bytes(data)
        counts[name] = len(unique)
    return counts


if __name__ == "__main__":
    out = Path(sys.argv[1])
    for name, count in write(out, sys.argv[2:] or list(HARNESSES)).items():
        print(f"{name}: {count} seeds")
