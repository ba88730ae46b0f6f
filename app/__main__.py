"""`python -m entersys`: the same command-line interface as the `entersys` script."""

import sys

from entersys.cli import main

sys.exit(main())
