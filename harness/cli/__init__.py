"""Stage: the command line. Turns flags into a RunSpec, validates every input before anything runs, starts the
run (harness.api), prints the terminal summary and writes reports (`harness run | report | compare | trend |
nightly | ...`; one module per command in cli/commands/).

May import every stage below it: api, execution, report, analysis, suites, checkers, backends, cost, energy,
config, store.
"""
