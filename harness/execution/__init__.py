"""Stage: running a benchmark. The runner drives each model's session over the suites' tasks; a request is
timed on receipt of every chunk, retried by policy, scored, metered and written as a raw record; load
profiles (loadgen), launched servers (serve), resume and the judge model live here too.

May import: backends, checkers, suites, analysis, cost, energy, config, store, errors, host.
"""
