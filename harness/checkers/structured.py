"""JSON output: found in the text (fenced or bare), validated against a JSON schema, fields compared.

The JSON is taken from the first ```json (or ```) fenced block, else from the first balanced {...} or
[...] in the text. It must validate against `schema` (when given) and every field of `expected` must
match: strings after normalisation (case, spacing, edge punctuation), numbers within `tolerance`, other
values exactly. Extra fields in the output are allowed unless the schema forbids them.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import ConfigDict, Field

from harness.checkers.verdict import CORRECT, INCORRECT, Verdict, normalise
from harness.config.model_config import StrictModel

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.DOTALL)


def extract_json(text: str) -> Any:
    """The first JSON value in `text`; `ValueError` when there is none."""
    for block in _FENCE.findall(text):
        try:
            return json.loads(block)
        except json.JSONDecodeError:
            continue
    decoder = json.JSONDecoder()
    for index, char in enumerate(text):
        if char in "{[":
            try:
                value, _ = decoder.raw_decode(text, index)
                return value
            except json.JSONDecodeError:
                continue
    raise ValueError("no JSON value in output")


def _same(got: Any, want: Any, tolerance: float) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return got == want
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return abs(got - want) <= tolerance
    if isinstance(want, str) and isinstance(got, (str, int, float)):
        return normalise(str(got)) == normalise(want)
    if isinstance(want, list) and isinstance(got, list):
        return len(got) == len(want) and all(_same(g, w, tolerance) for g, w in zip(got, want))
    if isinstance(want, dict) and isinstance(got, dict):
        return all(key in got and _same(got[key], value, tolerance) for key, value in want.items())
    return got == want


class JsonChecker(StrictModel):
    """Correct when the output holds JSON that fits `schema` and matches every field of the expected value."""

    model_config = ConfigDict(**StrictModel.model_config, populate_by_name=True)

    kind: Literal["json"] = "json"
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    tolerance: float = Field(default=1e-6, ge=0)

    def check(self, output: str, expected: Any) -> Verdict:
        try:
            value = extract_json(output)
        except ValueError as exc:
            return Verdict(INCORRECT, detail=str(exc))
        extracted = json.dumps(value, ensure_ascii=False, sort_keys=True)
        if self.json_schema is not None:
            import jsonschema

            error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(self.json_schema).iter_errors(value))
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path) or "(root)"
                return Verdict(INCORRECT, extracted=extracted, detail=f"schema: {where}: {error.message}")
        if expected is not None and not _same(value, expected, self.tolerance):
            return Verdict(INCORRECT, extracted=extracted, detail="fields differ from the expected value")
        return Verdict(CORRECT, extracted=extracted)
