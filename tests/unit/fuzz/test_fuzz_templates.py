"""Fuzzing dataset-suite templates (suites/jinja_limits.py through dataset_suite.Templates): templates put
together from Jinja's syntax — loops, ranges, repetition, powers, filters, attribute access, undefined
names — and rendered over rows of any text. Each ends in text or a SuiteError naming the suite file and
the key, within the time and memory bounds (the render deadline is lowered here so that a runaway
template is cut in a fraction of a second)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from harness.errors import SuiteError
from harness.suites import jinja_limits
from harness.suites.dataset_suite import Templates, parse_spec
from tests.unit.fuzz.fuzz_budget import FUZZ, bounded

PATH = Path("fuzz-suite.yaml")
PIECES = st.sampled_from([
    "{{ q }}", "{{ q * 3 }}", "{{ 'x' * 100000000 }}", "{{ 9 ** 99999 }}", "{{ 2 ** 64 }}", "{{ 1 / 0 }}",
    "{{ q + 1 }}", "{{ missing }}", "{{ q.__class__ }}", "{{ q | upper }}", "{{ q | replace('a', 'b') }}",
    "{{ range(10) | list }}", "{% for i in range(100000) %}", "{% for c in q %}", "{% endfor %}", "{{ i }}",
    "{% if q %}", "{% else %}", "{% endif %}", "{{ ", " }}", "{%", "%}", "{{ q[0] }}", "{{ q[99] }}",
    "{{ [q] * 1000000 }}", "{{ (q ~ q) * 2 }}", "{{ lipsum(5) }}", "{{ cycler }}", "{{ q|wordwrap(1) }}",
    "{{ '%s' % q }}", "{{ q|format(1) }}", "{{ index }}", "text ", "\n", "{{ (((((((1))))))) }}", "{#", "#}",
])


def _templates(template: str) -> Templates | SuiteError:
    try:
        spec = parse_spec({"kind": "dataset", "name": "fuzz", "version": 1, "source": {"files": ["rows.jsonl"]},
                           "prompt": {"chat": template}, "expected": "answer", "checker": {"kind": "exact"},
                           "max_tokens": 8}, PATH)
        return Templates(spec, PATH)
    except SuiteError as exc:
        return exc


@pytest.fixture(autouse=True)
def _short_deadline(monkeypatch):
    monkeypatch.setattr(jinja_limits, "RENDER_DEADLINE_S", 0.3)


@FUZZ
@given(pieces=st.lists(PIECES, max_size=8), value=st.text(max_size=200))
@example(pieces=["{% for i in range(100000) %}", "{% for i in range(100000) %}", "{% endfor %}", "{% endfor %}"],
         value="x")
@example(pieces=["{{ 'x' * 100000000 }}"], value="")
@example(pieces=["{{ 9 ** 99999 }}"], value="")
def test_templates_render_or_fail_with_file_and_key(pieces, value):
    def render() -> str:
        templates = _templates("".join(pieces))
        if isinstance(templates, SuiteError):
            raise templates
        return templates.render("prompt.chat", {"index": 0, "q": value, "answer": "a"})
    outcome = bounded(render, (SuiteError,))
    if isinstance(outcome, SuiteError):
        assert str(PATH) in str(outcome) and "prompt" in str(outcome), str(outcome)
    else:
        assert len(outcome) <= jinja_limits.MAX_RENDER_CHARS
