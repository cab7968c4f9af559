"""Stage: what to run. models.yaml parsed strictly (config.models), where each model's weights come from
(sources, gguf; the Hugging Face Hub: hub; Ollama's store: ollama), self-hosted engine presets (engines),
and the API providers' endpoints and key variables (providers).

May import: store, errors, host.
"""
