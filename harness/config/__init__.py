"""Stage: what to run. models.yaml parsed strictly (models_file, model_config; one kind table: kinds), where each model's weights come from
(sources, gguf; the Hugging Face Hub: hub; Ollama's store: ollama), self-hosted engine presets (engines),
the API providers' endpoints and key variables (providers), and what of a model's configuration may be
written out (redact: never a value from the environment).

May import: store, errors, host.
"""
