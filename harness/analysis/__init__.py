"""Stage: numbers from raw records. Per-request metrics (metrics), frames and summaries (frames), bootstrap
intervals and separation (stats), load levels (levels), API-vs-local comparisons and break-even (comparison),
and regression verdicts between runs (regress). Nothing here is stored; it is all derived.

May import: cost, energy, config, store, errors, host.
"""
