"""What of a model's configuration may be written out: never a value that comes from the environment.

The values of a launched server's `launch.env` block, the API key read from the model's key variable, and
every key variable the harness knows of (each provider's, HF_TOKEN) are secrets as far as the harness
knows: records, the manifest, logs and reports may name the variables, never hold their values.
`public_config` is the configuration as every output stores it; `scrub` removes the secret values from free
text (a server's command line, the tail of its log in an error message), and with them the credentials a
URL may carry (`user:password@`, `?api_key=...`): `redact_url` does that alone.
"""

from __future__ import annotations

import copy
import os
import re
from typing import Any

from harness.config.providers import ANTHROPIC, OPENAI_COMPATIBLE, resolve_endpoint

REDACTED = "***"
# Shorter values (a device index, a flag like "1") are not searched for in free text: replacing every "0"
# of a message would make it unreadable and hide nothing. In structured config they are redacted all the same.
MIN_SCRUBBED_CHARS = 4
# Variables that hold a key wherever they are set, whether or not a model of this run uses them.
KNOWN_KEY_VARS = tuple(sorted({p.key_env for p in OPENAI_COMPATIBLE.values()} | {ANTHROPIC.key_env}
                              | {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_API_TOKEN"}))
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#@\s]+@")
# Query parameters that carry a credential in the APIs the harness meets (Gemini's key=, Azure SAS sig=, ...).
_SECRET_QUERY = re.compile(r"(?i)([?&;](?:api[_-]?key|key|apikey|token|access[_-]?token|auth|authorization|sig"
                           r"|signature|secret|client[_-]?secret|password|passwd|pwd|code|x-amz-signature"
                           r"|x-goog-signature|x-amz-security-token)=)[^&#\s\"'<>]*")


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
    """Values that must not appear in any output: the launch env values, the model's API key, and the value
    of every key variable the harness knows of (`known_secrets`)."""
    values = list((getattr(getattr(cfg, "launch", None), "env", None) or {}).values())
    if getattr(cfg, "kind", None) in ("openai", "anthropic"):
        key_env = resolve_endpoint(cfg).key_env
        if key_env and os.environ.get(key_env):
            values.append(os.environ[key_env])
    return values + [v for v in known_secrets() if v not in values]


def known_secrets() -> list[str]:
    """The values of the key variables the harness knows of (`KNOWN_KEY_VARS`) that are set here."""
    return [os.environ[name] for name in KNOWN_KEY_VARS if os.environ.get(name)]


def redact_url(text: str) -> str:
    """`text` with the credentials of any URL in it replaced by `***`: userinfo (`https://***@host`) and the
    values of query parameters that carry keys (`?api_key=***`, `&sig=***`)."""
    if "://" not in text and "=" not in text:
        return text
    return _SECRET_QUERY.sub(rf"\1{REDACTED}", _USERINFO.sub(rf"\1{REDACTED}@", text))


def scrub(text: str, secrets: list[str]) -> str:
    """`text` with every secret value (of at least `MIN_SCRUBBED_CHARS` characters) replaced by `***`, and
    URL credentials redacted (`redact_url`)."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_SCRUBBED_CHARS:
            text = text.replace(secret, REDACTED)
    return redact_url(text)
