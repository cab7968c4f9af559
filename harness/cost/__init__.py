"""Stage: putting a price on a request. API prices from genai-prices with models.yaml overrides (pricing);
the local cost model: energy x electricity x PUE + amortised hardware per busy second (local).

May import: config, store, errors, host.
"""
