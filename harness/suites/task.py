"""The suite data model: `Task` (prompt, answer, checker), `Suite`, chat `Message`s and workload shapes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from harness.checkers import CheckerSpec
from harness.config.model_config import NAME_PATTERN, StrictModel

BUILTIN_DIR = Path(__file__).parent


DATASETS_DIR = BUILTIN_DIR / "datasets"


DEFAULT_COMPLETION_TEMPLATE = "Question: {prompt}\nAnswer:"


DEFAULT_COMPLETION_STOP = ["\n"]


class Message(StrictModel):
    """One chat message."""

    role: Literal["system", "user", "assistant"]
    content: str


class WorkloadShape(StrictModel):
    """A synthetic request's token counts (harness.suites.workload): its text is built per model, to size."""

    input_tokens: int = Field(ge=1)
    output_tokens: int = Field(ge=1)
    prefix_id: str | None = None
    prefix_tokens: int = Field(default=0, ge=0)
    reuse_prefix: bool = False
    at_s: float | None = Field(default=None, ge=0)


class Task(StrictModel):
    """One task: a chat prompt (and optionally a completion form for base models), an answer and a checker."""

    id: str = Field(pattern=NAME_PATTERN)
    category: str | None = Field(default=None, description="the task's subject (strata of --sample, breakdowns)")
    group: str | None = Field(default=None, description="a group of subjects (MMLU's categories)")
    messages: list[Message] = Field(min_length=1)
    completion: str | None = Field(default=None, description="prompt for base (completion-style) models")
    stop: list[str] | None = Field(default=None, description="stop strings of the completion form (default: a "
                                  "newline; [] for none)")
    chat_stop: list[str] | None = Field(default=None, description="stop strings sent with the chat form "
                                       "(default: none; lm-eval sends a task's stop strings in every mode)")
    max_tokens: int = Field(ge=1, le=32768)
    expected: str | int | float | list[Any] | dict[str, Any] | None = None
    reference: str | None = Field(default=None, description="a known-correct answer, for the suite self-test")
    answer_prefix: str | None = Field(default=None, description="prepended to a completion-style output before "
                                      "checking: the part of the answer the completion prompt already wrote")
    checker: CheckerSpec = Field(discriminator="kind")
    workload: WorkloadShape | None = Field(default=None, description="a synthetic request: token counts, no text")
    choices: list[str] | None = Field(default=None, min_length=2, description="continuations scored by "
                                      "log-likelihood after the completion prompt (the log-likelihood form); "
                                      "`expected` is the index of the gold one")

    @model_validator(mode="after")
    def _last_message_is_user(self) -> Task:
        if self.messages[-1].role != "user":
            raise ValueError("the last message must have role 'user'")
        return self

    @model_validator(mode="after")
    def _choices_scored_by_loglikelihood(self) -> Task:
        if (self.choices is not None) != (self.checker.kind == "loglikelihood"):
            raise ValueError("'choices' and checker 'loglikelihood' go together (the log-likelihood form)")
        if self.choices is not None and self.completion is None:
            raise ValueError("'choices' need a 'completion' prompt: the context they are scored after")
        return self

    @property
    def score_form(self) -> str:
        """`loglikelihood` (options scored by the model's log-probabilities) or `generative` (a reply checked)."""
        return "loglikelihood" if self.choices is not None else "generative"

    @property
    def question(self) -> str:
        """The task's last user message (what a judge is shown)."""
        return self.messages[-1].content

    def completion_prompt(self) -> tuple[str, list[str]]:
        """Prompt and stop strings for a completion-style model: the task's own form, else a default template."""
        if self.completion is not None:
            return self.completion, list(DEFAULT_COMPLETION_STOP) if self.stop is None else list(self.stop)
        return DEFAULT_COMPLETION_TEMPLATE.format(prompt=self.messages[-1].content), list(DEFAULT_COMPLETION_STOP)


class Suite(StrictModel):
    """A validated suite and its content hash."""

    name: str
    version: int | str
    description: str = ""
    source: str
    sha256: str
    tasks: list[Task]
    dataset: dict[str, Any] | None = Field(default=None, description="dataset id, revision, split, licence, "
                                           "n_rows (of the split), n_items (of the chosen subjects), shots")
    selection: dict[str, Any] | None = Field(default=None, description="the Selection that took part of the suite")
    n_total: int | None = Field(default=None, description="items in the whole suite (tasks: those selected)")
    scoring: list[str] | None = Field(default=None, description="how the replies are scored: each checker's rule, "
                                      "as `scoring_label` writes it (e.g. 'mmlu: lm-eval mmlu_generative')")
