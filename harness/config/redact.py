"""What of a model's configuration may be written out: never a value that comes from the environment.

The values of a launched server's `launch.env` block and the API key read from the model's key variable
are secrets as far as the harness knows: records, the manifest, logs and reports may name the variables,
never hold their values. `public_config` is the configuration as every output stores it; `scrub` removes
the secret values from free text (a server's command line, the tail of its log in an error message).
"""

from __future__ import annotations

import copy
import os
from typing import Any

from harness.config.providers import resolve_endpoint

REDACTED = "***"
# Shorter values (a device index, a flag like "1") are not searched for in free text: replacing every "0"
# of a message would make it unreadable and hide nothing. In structured config they are redacted all the same.
MIN_SCRUBBED_CHARS = 4


def redact_config(config: dict[str, Any], secrets: list[str] | None = None) -> dict[str, Any]:
    """A dumped model configuration with every `launch.env` value replaced by `***` (the names are kept),
    and any of `secrets` scrubbed from its strings (a key written into a launch command, say)."""
    redacted = _scrub_strings(copy.deepcopy(config), secrets or [])
    launch = redacted.get("launch")
    if isinstance(launch, dict) and isinstance(launch.get("env"), dict):
        launch["env"] = dict.fromkeys(launch["env"], REDACTED)
    return redacted


def _scrub_strings(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {key: _scrub_strings(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub_strings(item, secrets) for item in value]
    return value


def public_config(cfg: Any) -> dict[str, Any]:
    """The model's configuration as records, the manifest and reports store it: no environment values."""
    return redact_config(cfg.model_dump(mode="json"), secret_values(cfg))


def secret_values(cfg: Any) -> list[str]:
    """Values that must not appear in any output: the launch env values and the model's API key."""
    values = list((getattr(getattr(cfg, "launch", None), "env", None) or {}).values())
    if getattr(cfg, "kind", None) in ("openai", "anthropic"):
        key_env = resolve_endpoint(cfg).key_env
        if key_env and os.environ.get(key_env):
            values.append(os.environ[key_env])
    return values


def scrub(text: str, secrets: list[str]) -> str:
    """`text` with every secret value (of at least `MIN_SCRUBBED_CHARS` characters) replaced by `***`."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_SCRUBBED_CHARS:
            text = text.replace(secret, REDACTED)
    return text
