"""`python -m harness` runs the command line."""

from harness.cli.main import entry

entry()
