"""Fakes and helpers shared by tests: LOCAL_SUITE."""

from __future__ import annotations

LOCAL_SUITE = """
kind: dataset
name: capitals
version: 1
source: {files: [DATA]}
id: "{{ country | lower }}"
prompt:
  chat: "What is the capital of {{ country }}? One word."
  completion: "Q: What is the capital of {{ country }}?\\nA:"
expected: capital
checker: exact
max_tokens: 8
"""
