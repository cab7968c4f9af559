"""`python -m harness` runs the command line."""

import sys

from harness.cli.main import main

sys.exit(main())
