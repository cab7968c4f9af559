"""The shape of what a run writes: one `Record` per line of records.jsonl, and the `Manifest` (run.json).

Records are raw observations: times are offsets in nanoseconds from the request's start, token counts say
where they came from, and every derived figure (TTFT, tok/s, accuracy, cost per correct task) is computed
from them by `harness.analysis`, never stored twice. A field a request could not give is null, never 0.
These definitions are checked against the records a real run writes (tests) and render
docs/reference/records.md.
"""

from __future__ import annotations

from typing import Any, TypedDict


class Record(TypedDict, total=False):
    """One request: model × suite × task × repetition (or one request of a load level)."""

    schema: int
    run_id: str
    model: str
    suite: str
    suite_sha256: str
    task_id: str
    repetition: int
    subject: str | None
    subject_group: str | None
    level: str
    client: int
    attempt: int
    scheduled_offset_s: float
    started_at: str | None
    chunk_offsets_ns: list[int]
    chunk_chars: list[int]
    end_offset_ns: int | None
    reasoning_offsets_ns: list[int]
    reasoning_chars: list[int]
    reasoning_text: str
    input_tokens: int | None
    input_tokens_source: str | None
    output_tokens: int | None
    output_tokens_source: str | None
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    reasoning_tokens: int | None
    finish_reason: str | None
    output_text: str
    error: dict[str, Any] | None
    attempts: int
    failed_attempts: list[dict[str, Any]]
    workload: dict[str, Any]
    energy: dict[str, Any] | None
    prices: dict[str, Any] | None
    cost_usd: float | None
    provider_cost_usd: float
    provider_cost_check: dict[str, Any]
    unpriced_usage: str
    ecologits: dict[str, Any]
    local_cost: dict[str, Any]
    expected: Any
    checker: str
    scoring: str
    score_form: str
    loglikelihoods: list[dict[str, Any]] | None
    verdict: str | None
    extracted: Any
    verdict_detail: str | None
    judge: dict[str, Any] | None
    scores: dict[str, Any] | None


class SuiteEntry(TypedDict):
    """A suite as the manifest records it: its content hash decides whether two runs compare."""

    name: str
    version: Any
    sha256: str
    source: str
    n_tasks: int
    n_total: int
    selection: dict[str, Any] | None
    description: str
    dataset: dict[str, Any] | None
    scoring: list[str] | None


class Manifest(TypedDict, total=False):
    """run.json: what ran, where, with what, and how it ended."""

    run_id: str
    status: str
    harness_version: str
    harness_git_commit: str | None
    command_line: list[str]
    settings: dict[str, Any]
    host: dict[str, Any]
    libraries: dict[str, str]
    suites: list[SuiteEntry]
    models_file: str
    models: dict[str, dict[str, Any]]
    skipped_models: dict[str, dict[str, Any]]
    placement: list[dict[str, Any]]
    resumed: list[dict[str, Any]]
    finished_at: str
    stopped_by: dict[str, Any]
    code_isolation: dict[str, Any]


FIELD_DOCS: dict[str, dict[str, str]] = {
    "Record": {
        "schema": "record format version (`harness.store.records.RECORD_SCHEMA`)",
        "run_id": "the run folder's name",
        "model": "the models.yaml entry's `name`",
        "suite": "the suite's name",
        "suite_sha256": "the suite's content hash (items, prompts, checker and its options)",
        "task_id": "the task's id within the suite",
        "repetition": "0-based repetition of the task (`--repeat`)",
        "subject": "the task's subject (MMLU's subject, a category), or null",
        "subject_group": "a group of subjects (MMLU's categories), or null",
        "level": "the load level that sent it (`--profile`); absent for sequential requests",
        "client": "which of the level's client processes sent it (the manifest's `clients`)",
        "attempt": "which run of its level it belongs to, absent for the first: a level whose client was the "
                   "bottleneck is run again with more client processes (attempt 2), and only a level's latest "
                   "attempt counts (the earlier one's lines stay, superseded; the manifest's level entry says why)",
        "scheduled_offset_s": "an open-loop level's planned start, seconds after the level began",
        "started_at": "wall-clock start, ISO 8601 UTC (null when it was never sent)",
        "chunk_offsets_ns": "arrival of each streamed answer chunk, ns after the request's start",
        "chunk_chars": "characters in each answer chunk",
        "end_offset_ns": "end of the stream, ns after the start (null when never sent)",
        "reasoning_offsets_ns": "arrival of each streamed reasoning chunk (present when any was streamed)",
        "reasoning_chars": "characters in each reasoning chunk",
        "reasoning_text": "the streamed reasoning text",
        "input_tokens": "prompt tokens, cache reads and writes included",
        "input_tokens_source": "runtime | provider | tokenizer | chunks: who counted `input_tokens`",
        "output_tokens": "generated tokens, reasoning included",
        "output_tokens_source": "runtime | provider | tokenizer | chunks: who counted `output_tokens`",
        "cache_read_tokens": "input tokens read from a prompt cache (billed at the cache-read price)",
        "cache_write_tokens": "input tokens written to a prompt cache",
        "cache_write_1h_tokens": "the part of the cache writes kept for an hour (priced apart; Anthropic)",
        "reasoning_tokens": "output tokens spent reasoning, as the provider reports them",
        "finish_reason": "why generation stopped (stop, length, ...)",
        "output_text": "the answer text",
        "error": "`{type, message, retryable, ...}` of a failed request, else null",
        "attempts": "attempts made (retries of transient failures included)",
        "failed_attempts": "each failed attempt before the last: error, start, elapsed, wait",
        "workload": "a synthetic request's asked and built token counts",
        "energy": "the request's energy window: `{window_s, readings: [{device, source, j}]}`, or null",
        "prices": "the per-token prices an API request was priced at, with their source",
        "cost_usd": "the request's cost: API list price of its tokens, or the local cost model's share",
        "provider_cost_usd": "what the provider says it charged (OpenRouter's usage.cost), where it says",
        "provider_cost_check": "the stated against the computed cost, flagged when over 1% apart",
        "unpriced_usage": "billed tokens the harness has no price for (the cost is then unknown)",
        "ecologits": "an API request's EcoLogits energy/GWP estimate (min–max), or why there is none",
        "local_cost": "a local request's cost basis (its energy source)",
        "expected": "the task's expected answer",
        "checker": "the checker's kind",
        "scoring": "how the reply was scored: the checker and its rule (e.g. 'mmlu: lm-eval mmlu_generative')",
        "score_form": "generative (a reply checked) or loglikelihood (options ranked by log-probability)",
        "loglikelihoods": "a log-likelihood task's score of each choice: continuation, logprob, tokens, is_greedy",
        "verdict": "correct | incorrect | error | unscored (null for a failed request)",
        "extracted": "the answer the checker extracted from the output",
        "verdict_detail": "why the checker decided so (secrets scrubbed)",
        "judge": "a judge model's reply, for judged tasks",
        "scores": "per-criterion scores, where the checker gives them (IFEval's instructions, pass@k)",
    },
    "SuiteEntry": {
        "name": "the suite's name",
        "version": "the suite file's version",
        "sha256": "content hash: two runs compare only when it matches",
        "source": "the suite file (absolute), or `workload:SPEC`",
        "n_tasks": "tasks run (after `--limit`/`--sample`/`--subject`)",
        "n_total": "tasks in the whole suite",
        "selection": "the selection that took part of it, or null",
        "description": "the suite's description",
        "dataset": "a dataset suite's Hub id, revision and split, or null",
        "scoring": "each checker's scoring rule, as the records' `scoring` writes it",
    },
    "Manifest": {
        "run_id": "the run folder's name",
        "status": "running | complete | failed | interrupted",
        "harness_version": "the harness version",
        "harness_git_commit": "the source tree's commit (`-dirty` with uncommitted changes), or null",
        "command_line": "argv of the command that started the run",
        "settings": "the run's settings (repeat, models, energy, cost overrides, profile, SLOs, report folder)",
        "host": "CPU, cores, RAM, OS, Python, GPUs",
        "libraries": "versions of the runtimes and scoring libraries",
        "suites": "each suite run (SuiteEntry)",
        "models_file": "the models file (absolute, so a resume works from any folder)",
        "models": "per model: resolved config (secrets as ***), weights facts, load facts, meter, errors; "
                  "profiled models: `levels` (per level: client figures, `watch_limits`, `superseded` attempts, "
                  "`client_grown`) and, after a capacity search, `capacity_search` (its `mode`: concurrency or rate)",
        "skipped_models": "models that could not run here, with the reason",
        "placement": "client processes and Ray cluster facts",
        "resumed": "each resume: when, and its command line",
        "finished_at": "when the run ended",
        "stopped_by": "why an interrupted run stopped: the signal, or the output folder's error",
        "code_isolation": "how model-written code was isolated in this run (namespaces found, or why not)",
    },
}

DOCUMENTED = (Record, SuiteEntry, Manifest)
