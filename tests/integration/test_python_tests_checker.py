"""The python_tests checker runs model-written code in the sandbox: hand-written cases, including the awkward
ways models write answers."""

from __future__ import annotations

import pytest

from harness.checkers import PythonTestsChecker

TESTS = "assert add(1, 2) == 3\nassert add(-1, 1) == 0"


@pytest.mark.parametrize(("output", "verdict", "detail"), [
    ("```python\ndef add(a, b):\n    return a + b\n```", "correct", None),
    ("Here you go:\n```\ndef add(a, b):\n    return a + b\n```\nHope it helps.", "correct", None),
    ("def add(a, b):\n    return a - b", "incorrect", "AssertionError"),
    ("def add(a, b):\n    while True:\n        pass", "incorrect", "timed out after 2 s"),
    ("import urllib.request\nurllib.request.urlopen('http://127.0.0.1:9', timeout=1)\ndef add(a, b):\n    return a + b",
     "incorrect", "Network is unreachable"),    # no interface in its network namespace, not a closed port
    ("import socket\nsocket.create_connection(('127.0.0.1', 9))\ndef add(a, b):\n    return a + b", "incorrect",
     "Network is unreachable"),
    ("x = bytearray(2 * 1024**3)\ndef add(a, b):\n    return a + b", "incorrect", "MemoryError"),
])
def test_python_tests_checker(output, verdict, detail):
    result = PythonTestsChecker(timeout_s=2, memory_mb=256).check(output, TESTS)
    assert result.verdict == verdict, result.detail
    if detail:
        assert detail in result.detail


def test_code_runs_in_an_empty_temporary_folder(tmp_path):
    probe = ("import os\nassert sorted(os.listdir('.')) == ['program.py', 'runner.py'], os.listdir('.')\n"
             "assert 'HOME' in os.environ\n")
    assert PythonTestsChecker().check(probe, "").verdict == "correct"
