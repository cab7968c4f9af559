"""The unit tier stays a unit tier: a test here that starts a process or opens a network connection fails,
naming what it tried (such a test belongs in tests/integration/ or tests/e2e/)."""

from __future__ import annotations

import socket
import subprocess

import pytest


@pytest.fixture(autouse=True)
def _no_process_no_network(monkeypatch):
    def refuse_process(self, *args, **kwargs):
        raise AssertionError(f"a unit test started a process ({args[0] if args else kwargs.get('args')!r}): "
                             "move it to tests/integration/")

    def refuse_connect(self, address, *args):
        raise AssertionError(f"a unit test opened a connection to {address!r}: move it to tests/integration/")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse_process)
    monkeypatch.setattr(socket.socket, "connect", refuse_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse_connect)
