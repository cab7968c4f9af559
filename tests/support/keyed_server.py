"""A launched server for the tests (`launch.command`): the fake API on a given port, requiring a bearer key,
printing what it was started with (as real servers log their settings). Run as a script:
`python tests/keyed_server.py PORT KEY [echo]`; it serves until it is terminated. With `echo`, its first
request fails with a 400 whose message repeats the env secret (as a server echoing its settings would)."""

from __future__ import annotations

import os
import signal
import sys
import threading

from fake_api import FakeAPI  # the script's folder is on sys.path

if __name__ == "__main__":
    port, key = int(sys.argv[1]), sys.argv[2]
    secret = os.environ.get("HARNESS_TEST_ENV_SECRET")
    script = [{"do": "status", "status": 400, "body": {"error": {"message": f"bad setting {secret}", "type": "x"}}}]
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with FakeAPI(script if sys.argv[3:] == ["echo"] else [], usage={"prompt_tokens": 20, "completion_tokens": 5,
                                                                       "total_tokens": 25}, port=port, require_key=key):
        print(f"serving on {port} with key {key}; env secret {secret}", flush=True)
        stopped.wait()
