"""Coverage-guided, differential fuzzing of corsfast's engines (see README.md here)."""

import os
import sys

# Seeds are written from the test cases (tests/cases.py).
_TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests")
if _TESTS not in sys.path:
    sys.path.append(_TESTS)
