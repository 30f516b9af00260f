"""``python -m hetbalance``: the same as the ``hetbalance`` console script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
