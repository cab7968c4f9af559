"""harness: run the same task suite on local open-weight models and paid API models, and compare what each
costs per task in dollars, joules, seconds and correctness."""

__version__ = "0.1.0"
