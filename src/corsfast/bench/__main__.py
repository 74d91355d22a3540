"""`python -m corsfast.bench [options]`: the same as `corsfast bench [options]`."""

import sys

from .cli import main

sys.exit(main())
