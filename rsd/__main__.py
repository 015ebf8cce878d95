"""`python -m rsd`: the same command line as `rsd` (rsd.cli). Owns nothing else; must not hold logic."""
from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
