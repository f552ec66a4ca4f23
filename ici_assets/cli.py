"""``python -m ici_assets.cli demo|parse|shares|postgres``: the command line (:mod:`ici_assets.dev.cli`)."""

import sys

from ici_assets.dev.cli import main

if __name__ == "__main__":
    sys.exit(main())
