"""Stage: numbers from raw records. Per-request metrics (request_metrics), per-model frames and summaries
(model_summary), bootstrap intervals and separation (stats), load levels (load_levels), recognised-benchmark
scores (scores), API-vs-local comparisons and break-even (comparison), the answer in sentences (findings),
carbon (emissions), re-pricing at another shape (reprice), regression verdicts between runs (regress) and the
definition of every figure (metric_glossary). Nothing here is stored; it is all derived.

May import: cost, energy, config, store, errors, host.
"""
