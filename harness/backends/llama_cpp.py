"""llama-cpp-python, in process: one event per generated token, exact token counts from the runtime.

The backend renders the prompt (the GGUF's own chat template, a named llama-cpp-python chat format, or the
completion text as given), tokenizes it with the model's tokenizer, and generates greedily in its own
llama.cpp context (`llama_context`: llama.cpp's default settings, a per-token loop that stays in C).
Each generated token yields its text (possibly empty while held back: an incomplete UTF-8 sequence or a
possible start of a stop string), so the runner sees token-level arrival times. The KV cache is reset
before each request so every request pays its own prefill, as a cold request to a server would — unless
the prompt asks for prefix reuse (a workload option), when llama.cpp evaluates only the tokens after the
longest prefix it already holds. `ignore_eos` bans end-of-generation tokens (as llama.cpp's server does)
and skips stop strings, so the output runs to max_tokens.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import queue
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import llama_cpp
from llama_cpp import Llama, llama_chat_format

from harness.backends.base import Backend, Prompt, Usage
from harness.backends.compute_thread import ComputeThread
from harness.backends.llama_batched import BatchedEngine
from harness.backends.llama_context import (
    SPLIT_MODE,
    GreedyContext,
    PieceDecoder,
    ScoringContext,
    context_params,
    resolved_flash_attn,
)
from harness.backends.loglikelihood import ContinuationScore, encode_pair
from harness.backends.stop_strings import StopScanner
from harness.backends.thread_handoff import Handoff
from harness.errors import ModelLoadError


class PromptTooLong(ValueError):
    """The prompt plus the requested output does not fit the configured context."""


def default_threads() -> int:
    """Cores this process may run on (llama.cpp's own default is half the logical CPUs)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# enum ggml_log_level in ggml.h: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5 (continues the last line)
_GGML_LOG_DEBUG, _GGML_LOG_ERROR, _GGML_LOG_CONT = 1, 4, 5
_recent_log: list[tuple[int, str]] = []
_last_level = [0]


@llama_cpp.llama_log_callback
def _log_to_buffer(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    """llama.cpp's log (debug lines left out) goes to a short buffer instead of stderr; errors from it
    explain failed loads, and its info lines say what the context resolved (flash attention)."""
    if level == _GGML_LOG_CONT:
        if _last_level[0] != _GGML_LOG_DEBUG and _recent_log:
            _recent_log[-1] = (_recent_log[-1][0], _recent_log[-1][1] + text.decode("utf-8", "replace"))
        return
    _last_level[0] = level
    if level != _GGML_LOG_DEBUG:
        _recent_log.append((level, text.decode("utf-8", "replace")))
        del _recent_log[:-100]


llama_cpp.llama_log_set(_log_to_buffer, ctypes.c_void_p(0))


def _recent_errors() -> str:
    return " / ".join(text.strip() for level, text in _recent_log if level == _GGML_LOG_ERROR and text.strip())


def chat_formatter(llm: Llama, chat_format: str | None, model_name: str):
    """The GGUF's own chat template (`chat_format` None or "gguf"), or a llama-cpp-python chat format."""
    if chat_format is None or chat_format == "gguf":
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelLoadError(f"model '{model_name}': the GGUF carries no chat template; "
                                 "set 'chat_format' or prompt_style: completion")
        model = llm._model
        eos, bos = model.token_eos(), model.token_bos()
        return llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_get_text(eos) if eos != -1 else "",
            bos_token=model.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )
    function = getattr(llama_chat_format, "format_" + chat_format.replace("-", "_").replace(".", "_"), None)
    if function is None:
        raise ModelLoadError(f"model '{model_name}': key 'chat_format': llama-cpp-python has no format {chat_format!r}")
    return function


def render_prompt(llm: Llama, formatter, prompt: Prompt) -> tuple[list[int], list[str]]:
    """Prompt tokens (as llama.cpp tokenizes them) and the stop strings the chat format adds."""
    if prompt.style == "chat":
        if formatter is None:
            raise ValueError("chat prompt sent to a completion-style model")
        result = formatter(messages=prompt.messages)
        stops = [result.stop] if isinstance(result.stop, str) else list(result.stop or [])
        return llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True), stops
    assert prompt.text is not None, "a completion-style prompt carries its text"
    return llm.tokenize(prompt.text.encode("utf-8"), add_bos=True, special=True), []


class GGUFTokenizer:
    """Counts tokens with a GGUF's vocabulary (loaded alone, no weights), for servers that report no usage."""

    def __init__(self, path) -> None:
        self._llm = Llama(model_path=str(path), vocab_only=True, verbose=False)
        self._formatter = chat_formatter(self._llm, None, str(path)) if "tokenizer.chat_template" in self._llm.metadata else None

    def count_prompt(self, prompt: Prompt) -> int:
        """Tokens of the prompt as rendered by the GGUF's chat template (what a llama.cpp server evaluates)."""
        return len(render_prompt(self._llm, self._formatter, prompt)[0])

    def count_text(self, text: str) -> int:
        """Tokens of generated text."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0


class LlamaCppBackend(Backend):
    """A GGUF model loaded by llama-cpp-python on CPU (or GPU layers where the build supports them)."""

    kind = "llama_cpp"
    # made by load() and released by close(); the scoring context is made by the first loglikelihood()
    _llm: Llama
    _context: BatchedEngine | GreedyContext
    _scoring: ScoringContext | None

    def load(self) -> dict[str, Any]:
        """Load on the model's compute thread, which then runs every computation of this model
        (harness.backends.compute_thread says why)."""
        self._compute = ComputeThread(f"llama-{self.config.name}")
        return self._compute.call(self._load)

    def _load(self) -> dict[str, Any]:
        cfg = self.config
        n_threads = cfg.n_threads or default_threads()
        n_threads_batch = cfg.n_threads_batch or n_threads
        _recent_log.clear()
        try:
            # Llama holds the model, its metadata and tokenizer; its own context (which cannot take
            # flash_attn auto) is made minimal and freed at once: generation runs in a GreedyContext.
            self._llm = Llama(
                model_path=str(self.weights_path), n_ctx=16, n_batch=1, n_ubatch=1, n_threads=1,
                n_gpu_layers=cfg.n_gpu_layers, main_gpu=cfg.main_gpu, split_mode=SPLIT_MODE[cfg.split_mode],
                tensor_split=cfg.tensor_split, use_mmap=cfg.use_mmap, use_mlock=cfg.use_mlock,
                seed=cfg.seed, logits_all=False, verbose=False,
            )
            self._llm._ctx.close()
            _recent_log.clear()
            params = context_params(cfg, n_threads, n_threads_batch)
            if cfg.parallel > 1:  # N sequences decoded together in one context (llama_batched)
                self._context = BatchedEngine(self._llm._model.model, self._llm._model.vocab, params, cfg.parallel,
                                              self._compute)
            else:
                self._context = GreedyContext(self._llm._model.model, self._llm._model.vocab, params)
        except (ValueError, RuntimeError, OSError) as exc:
            reason = _recent_errors()
            self.close()
            raise ModelLoadError(
                f"llama.cpp could not load {self.weights_path}: {exc}" + (f" ({reason})" if reason else "")
            ) from None
        flash_attn = resolved_flash_attn([text for _, text in _recent_log])
        self._vocab = self._llm._model.vocab
        self._formatter = chat_formatter(self._llm, cfg.chat_format, cfg.name) if cfg.prompt_style == "chat" else None
        gpu = cfg.n_gpu_layers != 0 and bool(llama_cpp.llama_supports_gpu_offload())
        warnings = []
        if cfg.n_gpu_layers != 0 and not gpu:
            warnings.append(f"model '{cfg.name}': n_gpu_layers is {cfg.n_gpu_layers}, but this llama-cpp-python "
                            "build has no GPU support: running on the CPU")
        return {
            "warnings": warnings,
            "runtime": "llama-cpp-python",
            "runtime_version": llama_cpp.__version__,
            "device": "gpu" if gpu else "cpu",
            "n_threads": n_threads,
            "n_ctx": self._context.n_ctx,
            "parallel": cfg.parallel,
            "chat_format": (cfg.chat_format or "gguf") if cfg.prompt_style == "chat" else None,
            "settings": {
                "n_threads_batch": n_threads_batch, "n_batch": cfg.n_batch,
                "n_ubatch": min(cfg.n_ubatch, cfg.n_batch), "flash_attn": cfg.flash_attn,
                "flash_attn_resolved": flash_attn, "type_k": cfg.type_k, "type_v": cfg.type_v,
                "offload_kqv": cfg.offload_kqv, "use_mmap": cfg.use_mmap, "use_mlock": cfg.use_mlock,
                "n_gpu_layers": cfg.n_gpu_layers, "main_gpu": cfg.main_gpu, "split_mode": cfg.split_mode,
                "tensor_split": cfg.tensor_split, "sampling": "greedy (in llama.cpp's graph)",
                "parallel": cfg.parallel, "n_ctx_per_sequence": getattr(self._context, "n_ctx_seq", self._context.n_ctx),
            },
            "model_metadata": {
                k: v for k, v in self._llm.metadata.items()
                if k in ("general.architecture", "general.name", "general.size_label", "general.file_type")
            },
        }

    @property
    def ctx(self) -> Any:
        """The llama.cpp context pointer (for llama.cpp's own timers, e.g. llama_perf_context)."""
        return self._context.ctx

    def _render(self, prompt: Prompt) -> tuple[list[int], list[str]]:
        tokens, stops = render_prompt(self._llm, self._formatter, prompt)
        stops = [s for s in [*stops, *self.config.stop, *prompt.stop] if s]
        n_ctx = getattr(self._context, "n_ctx_seq", self._context.n_ctx)
        if len(tokens) + prompt.max_tokens > n_ctx:
            per = f" (n_ctx {self._context.n_ctx} over parallel {self.config.parallel})" if n_ctx != self._context.n_ctx else ""
            raise PromptTooLong(
                f"prompt of {len(tokens)} tokens + max_tokens {prompt.max_tokens} exceeds n_ctx {n_ctx}{per}"
            )
        return tokens, stops

    supports_ignore_eos = True

    @property
    def supports_prefix_reuse(self) -> bool:
        """Prefix reuse keeps one sequence's KV between requests: not with `parallel` sequences."""
        return self.config.parallel == 1

    def count_prompt_tokens(self, prompt: Prompt) -> int | None:
        return len(render_prompt(self._llm, self._formatter, prompt)[0])

    def count_text_tokens(self, text: str) -> int | None:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0

    supports_loglikelihood = True

    def loglikelihood(self, context: str, continuations: list[str]) -> list[ContinuationScore]:
        """Scores in a second context made on first use (the generating one samples in its graph and keeps no
        logits); texts are tokenized as a completion prompt is (BOS where the model asks for one)."""
        return self._compute.call(lambda: self._loglikelihood(context, continuations))

    def _loglikelihood(self, context: str, continuations: list[str]) -> list[ContinuationScore]:
        scoring = getattr(self, "_scoring", None)
        if scoring is None:
            cfg = self.config
            n_threads = cfg.n_threads or default_threads()
            scoring = self._scoring = ScoringContext(self._llm._model.model, self._vocab,
                                                     context_params(cfg, n_threads, cfg.n_threads_batch or n_threads))

        def encode(text: str) -> list[int]:
            return self._llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)

        scores, evaluated = [], {}
        for continuation in continuations:
            context_ids, continuation_ids = encode_pair(encode, context, continuation)
            # lm-eval's input: context + continuation without its last token; one-token options share it
            ids = tuple(context_ids + continuation_ids[:-1])
            if ids not in evaluated:
                evaluated[ids] = scoring.logprob_rows(list(ids), len(context_ids) - 1)
            rows = evaluated[ids][-len(continuation_ids):]
            total, greedy = 0.0, True
            for row, token in zip(rows, continuation_ids, strict=True):
                total += float(row[token])
                greedy = greedy and int(row.argmax()) == token
            scores.append(ContinuationScore(total, greedy, len(context_ids), len(continuation_ids)))
        return scores

    def stream(self, prompt: Prompt) -> Iterator[str | Usage]:
        tokens, stops = self._render(prompt)
        if prompt.ignore_eos:  # held to max_tokens: no stop string ends it either
            stops = []
        if isinstance(self._context, BatchedEngine):
            inbox: queue.SimpleQueue = queue.SimpleQueue()  # lists of items, then None or an exception

            def emit(items: list) -> bool:
                inbox.put(items)
                return True

            sequence = self._join_batch(prompt, tokens, stops, emit, inbox.put)
            try:
                while (item := inbox.get()) is not None:
                    if isinstance(item, BaseException):
                        raise item
                    yield from item
            finally:
                self._context.cancel(sequence)  # a caller that stops reading frees its slot
        else:
            yield from self._compute.iterate(lambda: self._generate(prompt, tokens, stops))

    def _join_batch(self, prompt: Prompt, tokens: list[int], stops: list[str], emit: Callable[[list], bool],
                    done: Callable[[BaseException | None], object]) -> Any:
        """Submit a request to the batched engine. Its tokens become text on the compute thread (a stop string
        ends the sequence at that step) and go to `emit` one per token (False: stop the sequence), then the
        rest and the usage; then `done(None)`, or `done(exc)` if the engine failed. Returns the sequence."""
        engine, text = self._context, TokenText(self._vocab, stops)
        assert isinstance(engine, BatchedEngine)

        def sink(item: int | BaseException | None) -> bool:  # on the compute thread; False ends the sequence
            if item is None:
                emit(list(text.end(len(tokens), prompt.max_tokens)))
                done(None)
            elif isinstance(item, BaseException):
                done(item)
            elif not text.stopped:
                return emit([text.feed(item)]) and not text.stopped
            return True

        return engine.submit(tokens, prompt.max_tokens, prompt.ignore_eos, sink)

    def _generate(self, prompt: Prompt, tokens: list[int], stops: list[str]) -> Iterator[str | Usage]:
        """One request on the single context, on the compute thread: a text event per token, then the usage."""
        text, context = TokenText(self._vocab, stops), self._context
        assert isinstance(context, GreedyContext), "a batched engine streams through its sink"
        for token in context.tokens(tokens, prompt.max_tokens, reuse_prefix=prompt.reuse_prefix,
                                 ignore_eos=prompt.ignore_eos):
            yield text.feed(token)  # one event per token, empty while text is held back
            if text.stopped:
                break
        yield from text.end(len(tokens), prompt.max_tokens)

    async def astream_blocks(self, prompt: Prompt) -> AsyncIterator[Sequence[str | Usage]]:
        """With `parallel` > 1: the request joins the batched engine. Its tokens become text on the engine
        thread (a stop string ends the sequence at that step), each stamped there when the step hands it
        over, and reach the event loop in batches (harness.backends.thread_handoff)."""
        if not isinstance(self._context, BatchedEngine):  # one request at a time, in order, on the compute thread
            async for block in self._astream_single(prompt):
                yield block
            return
        engine = self._context
        tokens, stops = self._render(prompt)
        handoff = Handoff(asyncio.get_running_loop())

        def done(end: BaseException | None) -> None:
            if end is not None:
                handoff.fail(end)
            handoff.end()

        sequence = self._join_batch(prompt, tokens, [] if prompt.ignore_eos else stops, handoff.block, done)
        try:
            async for block in handoff.blocks():
                yield block
        finally:
            engine.cancel(sequence)

    async def _astream_single(self, prompt: Prompt) -> AsyncIterator[Sequence[str | Usage]]:
        tokens, stops = self._render(prompt)
        handoff = Handoff(asyncio.get_running_loop())

        def job() -> None:
            try:
                for item in self._generate(prompt, tokens, [] if prompt.ignore_eos else stops):
                    if not handoff.block([item]):
                        break
            except BaseException as exc:  # noqa: BLE001 - raised by the reader
                handoff.fail(exc)
            handoff.end()

        self._compute.submit(job)
        async for block in handoff.blocks():
            yield block

    def close(self) -> None:
        compute = getattr(self, "_compute", None)
        if compute is None:
            return
        context = getattr(self, "_context", None)
        if isinstance(context, BatchedEngine):  # stops its steps, fails what is in flight, frees its context
            context.close()
        compute.call(self._free)
        compute.close()
        del self._compute

    def _free(self) -> None:
        scoring = getattr(self, "_scoring", None)
        if scoring is not None:
            scoring.close()
            self._scoring = None
        context = getattr(self, "_context", None)
        if context is not None:  # the context goes before the model it belongs to
            if not isinstance(context, BatchedEngine):
                context.close()
            del self._context  # a closed backend holds no context (getattr above finds none)
        llm = getattr(self, "_llm", None)
        if llm is not None:
            llm.close()
            del self._llm


class TokenText:
    """Generated token ids -> the text events of one request: one per token (empty while text is held back:
    an incomplete UTF-8 sequence or a possible start of a stop string), then the rest and the usage."""

    def __init__(self, vocab: Any, stops: list[str]) -> None:
        self._decode, self._scanner = PieceDecoder(vocab), StopScanner(stops)
        self._text, self.n_out, self.stopped = "", 0, False

    def feed(self, token: int) -> str:
        """The answer text this token releases."""
        self.n_out += 1
        self._text += self._decode(token)
        fresh, self.stopped = self._scanner.feed(self._text)
        return fresh

    def end(self, n_prompt: int, max_tokens: int) -> Iterator[str | Usage]:
        """Text held back for a stop string that never came (part of the answer), then the usage."""
        if not self.stopped:
            rest = self._scanner.rest(self._text + self._decode.flush())
            if rest:
                yield rest
        # fewer tokens than allowed: the runtime generated an end-of-generation token
        finish = "stop" if self.stopped or self.n_out < max_tokens else "length"
        yield Usage(input_tokens=n_prompt, output_tokens=self.n_out, input_tokens_source="runtime",
                    output_tokens_source="runtime", finish_reason=finish)
