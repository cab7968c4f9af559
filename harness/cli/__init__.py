"""Stage: the command line. Parses flags, validates every input before anything runs, starts the run stage,
prints the terminal summary and writes reports (`harness run | report | compare | trend | nightly | ...`).

May import every stage below it: run, report, analysis, suites, checkers, backends, cost, energy, config, store.
"""
