"""What the OpenAI and Anthropic backends share: the API key, SDK error classification, and scrubbing.

Both official SDKs are generated from the same template (the same exception hierarchy), so one function
maps either SDK's exceptions to `RequestFailed`. The `timeout` given to each SDK (seconds) bounds the
connection and every read, so a stream that stalls longer than `timeout_s` fails. Their own retries are
turned off: the runner retries, so that every attempt is recorded.
"""

from __future__ import annotations

import json
import os
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from harness.backends.failures import RequestFailed, classify_status, parse_retry_after
from harness.backends.proxy_env import is_loopback
from harness.config.providers import resolve_endpoint
from harness.config.redact import redact_url
from harness.errors import ConfigError

NO_KEY = "not-needed"  # servers that take no key still get a non-empty bearer token from the SDKs


def api_key(cfg) -> str:
    """The key from the model's environment variable (the preflight has already checked it is set); a key
    with anything but visible ASCII in it (a CR or LF would start a header of its own) is refused."""
    key_env = resolve_endpoint(cfg).key_env
    key = os.environ.get(key_env, "") if key_env else NO_KEY
    if not all(33 <= ord(c) <= 126 for c in key):
        bad = next(c for c in key if not 33 <= ord(c) <= 126)
        raise ConfigError(f"model '{cfg.name}': the key in {key_env} holds {_char_name(bad)}: a key is visible "
                          "ASCII only (check for a trailing newline or a space copied with it)")
    return key


def sdk_http_client(sdk: ModuleType, base_url: str | None) -> Any:
    """The HTTP client for an SDK talking to `base_url`: None (the SDK's own, which reads proxies from the
    environment) unless the URL is plain http to this machine; then one that ignores the environment, so
    that the key of a local server never goes to a proxy."""
    url = urlsplit(base_url or "")
    if url.scheme == "http" and url.hostname and is_loopback(url.hostname):
        return sdk.DefaultHttpxClient(trust_env=False)
    return None


def _char_name(char: str) -> str:
    return {"\r": "a carriage return (CR)", "\n": "a line feed (LF)", " ": "a space", "\t": "a tab"}.get(
        char, f"the character U+{ord(char):04X}")




def scrub(text: str, secret: str | list[str] | None) -> str:
    """Remove the key (or each of several secret values) from any text that could reach a record or a log."""
    for value in [secret] if secret is None or isinstance(secret, str) else secret:
        if value and value != NO_KEY:
            text = text.replace(value, "***")
    return redact_url(text)


def check_streamed(stream: object) -> None:
    """Raise `RequestFailed("not_streamed")` when a successful reply to a streaming request is not an event
    stream (a server that ignores `stream: true` sends the whole reply as JSON). The reply arrived whole, so
    it is never retried: a retry would be paid for again and answered the same way."""
    response = getattr(stream, "response", None)
    kind = (response.headers.get("content-type") or "") if response is not None else ""
    if kind and "text/event-stream" not in kind:
        raise RequestFailed("not_streamed", f"the server answered a streaming request with a complete "
                            f"{kind.split(';')[0].strip()} reply, not an event stream; TTFT cannot be measured")


def to_request_failed(exc: BaseException, sdk: ModuleType, secret: str | list[str] | None,
                      mid_stream: bool) -> RequestFailed:
    """Classify an exception raised by `sdk` (openai or anthropic) or by httpx during a request.

    A connection lost after the stream began is `disconnected`; before it, `connection`.
    """
    if isinstance(exc, RequestFailed):  # already classified (check_streamed)
        return exc
    cause = exc.__cause__ or exc.__context__
    detail = f" ({type(cause).__name__}: {cause})" if cause is not None and str(cause) not in str(exc) else ""
    message = scrub(f"{type(exc).__name__}: {exc}{detail}", secret)
    if isinstance(exc, sdk.APIStatusError) and exc.status_code < 400:
        # an `error` event inside a stream that began with 200 (Anthropic's SDK raises it as a status error
        # carrying the stream's 200): the same class the load generator's client gives it
        return RequestFailed("stream_error", message)
    if isinstance(exc, sdk.APIStatusError):
        status = exc.status_code
        headers = exc.response.headers if exc.response is not None else None
        return RequestFailed(classify_status(status), message, status_code=status,
                             retry_after_s=parse_retry_after(headers))
    # The SDKs may sit on httpx or on a fork of it (anthropic 2.x: httpx2), so transport errors are
    # recognised by their class names rather than by one package's classes.
    lineage = {cls.__name__ for cls in type(exc).__mro__}
    if isinstance(exc, sdk.APITimeoutError) or "TimeoutException" in lineage:
        return RequestFailed("timeout", message)
    if isinstance(exc, sdk.APIConnectionError) or "TransportError" in lineage:
        return RequestFailed("disconnected" if mid_stream else "connection", message)
    if isinstance(exc, (json.JSONDecodeError, sdk.APIResponseValidationError)):
        return RequestFailed("malformed_stream", message)
    if isinstance(exc, sdk.APIError):  # an error event inside the stream
        return RequestFailed("stream_error", message)
    return RequestFailed("unexpected", message)
