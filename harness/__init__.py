"""harness: run the same task suite on local open-weight models and paid API models, and compare what each
costs per task in dollars, joules, seconds and correctness."""

from harness.version import __version__

__all__ = ["__version__"]
