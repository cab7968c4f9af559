"""Stage: the command line. Parses flags, validates every input before anything runs, builds a RunSpec and starts the run (harness.api),
prints the terminal summary and writes reports (`harness run | report | compare | trend | nightly | ...`).

May import every stage below it: api, execution, report, analysis, suites, checkers, backends, cost, energy, config, store.
"""
