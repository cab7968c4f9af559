"""A llama.cpp context with llama.cpp's own defaults, and a greedy decode loop that stays in C per token.

llama-cpp-python's `Llama` can only turn flash attention on or off (llama.cpp's default is `auto`), so the
backend keeps `Llama` for the model, its metadata and tokenizer, and makes its own context from
`llama_context_default_params()` with the configured settings. Greedy sampling runs inside llama.cpp's graph;
per generated token the loop makes four C calls (read the sampled token, end-of-generation test, token to
bytes, decode of one token) and copies nothing into Python, so its decode speed is llama.cpp's
(benchmarks/vs_llama_bench.py compares it with `llama-bench`).
"""

from __future__ import annotations

import codecs
import ctypes
from collections.abc import Iterator
from typing import Any

import llama_cpp
import numpy as np

FLASH_ATTN = {"auto": llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO, "on": llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED,
              "off": llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED}
SPLIT_MODE = {"none": llama_cpp.LLAMA_SPLIT_MODE_NONE, "layer": llama_cpp.LLAMA_SPLIT_MODE_LAYER,
              "row": llama_cpp.LLAMA_SPLIT_MODE_ROW}
# enum ggml_type (ggml.h); bf16 is 30 there, but llama-cpp-python names no constant for it
KV_TYPE = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8, "iq4_nl": 20, "bf16": 30}


def context_params(cfg: Any, n_threads: int, n_threads_batch: int) -> llama_cpp.llama_context_params:
    """llama.cpp's default context parameters with the model's settings applied."""
    params = llama_cpp.llama_context_default_params()
    params.n_ctx = cfg.n_ctx
    params.n_batch = cfg.n_batch
    params.n_ubatch = min(cfg.n_ubatch, cfg.n_batch)
    params.n_seq_max = 1
    params.n_threads = n_threads
    params.n_threads_batch = n_threads_batch
    params.flash_attn_type = FLASH_ATTN[cfg.flash_attn]
    params.type_k = KV_TYPE[cfg.type_k]
    params.type_v = KV_TYPE[cfg.type_v]
    params.offload_kqv = cfg.offload_kqv
    params.no_perf = False  # keep llama.cpp's own timers (llama_perf_context), read by benchmarks
    return params


def resolved_flash_attn(log_lines: list[str]) -> str | None:
    """Whether the context uses flash attention, as llama.cpp's log reports it: its `flash_attn = ...`
    line, and for `auto` the line that resolves it ("Flash Attention enabled" / "... set to disabled")."""
    said = {"enabled": "on", "disabled": "off", "auto": "auto"}
    state = None
    for line in log_lines:
        if "flash_attn" in line and "=" in line:
            state = said.get(line.split("=", 1)[1].strip(), state)
        elif state == "auto" and "Flash Attention" in line:
            state = "on" if "enabled" in line else "off" if "disabled" in line else state
    return None if state == "auto" else state


class GreedyContext:
    """One llama.cpp context over a loaded model, generating greedily one token at a time."""

    def __init__(self, model: Any, vocab: Any, params: llama_cpp.llama_context_params) -> None:
        # greedy sampling inside llama.cpp's graph (an argmax node; "backend sampling"): only the token id
        # comes back, not the vocabulary's logits. Where the runtime does not sample, the loop takes the
        # argmax of the logits itself (the same token).
        self._sampler = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        llama_cpp.llama_sampler_chain_add(self._sampler, llama_cpp.llama_sampler_init_greedy())
        self._sampler_config = (llama_cpp.llama_sampler_seq_config * 1)()
        self._sampler_config[0].seq_id = 0
        self._sampler_config[0].sampler = ctypes.cast(self._sampler, ctypes.c_void_p)
        params.samplers, params.n_samplers = self._sampler_config, 1
        self.ctx = llama_cpp.llama_init_from_model(model, params)
        if not self.ctx:
            self.close()
            raise ValueError("llama.cpp could not create the context")
        self.n_ctx = llama_cpp.llama_n_ctx(self.ctx)
        self.n_batch = params.n_batch
        self._vocab = vocab
        self._memory = llama_cpp.llama_get_memory(self.ctx)
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
        self._held: list[int] = []  # the tokens whose keys and values the context holds (sequence 0)
        self._eog_ids: np.ndarray | None = None
        self._one = (llama_cpp.llama_token * 1)()
        self._batch_one = llama_cpp.llama_batch_get_one(self._one, 1)  # points at _one: reused every token

    def _prefill(self, tokens: list[int], reuse_prefix: bool) -> None:
        """Evaluate the prompt. By default the memory is cleared first (no prefix reuse between requests);
        with `reuse_prefix` the longest prefix the context already holds is kept and only the rest is
        evaluated (at least the last token, whose output gives the first generated token)."""
        kept = 0
        if reuse_prefix:
            limit = min(len(self._held), len(tokens) - 1)
            while kept < limit and self._held[kept] == tokens[kept]:
                kept += 1
        if kept:
            llama_cpp.llama_memory_seq_rm(self._memory, 0, kept, -1)
        else:
            llama_cpp.llama_memory_clear(self._memory, True)
        self._held = list(tokens)
        self.reused_tokens = kept
        tokens = tokens[kept:]
        for start in range(0, len(tokens), self.n_batch):
            part = tokens[start:start + self.n_batch]
            array = (llama_cpp.llama_token * len(part))(*part)  # held here: the batch only points at it
            status = llama_cpp.llama_decode(self.ctx, llama_cpp.llama_batch_get_one(array, len(part)))
            if status != 0:
                raise RuntimeError(f"llama_decode failed on the prompt (status {status})")

    def _best_non_eog(self) -> int:
        """The highest-logit token that does not end generation (llama.cpp's `ignore_eos`)."""
        pointer = llama_cpp.llama_get_logits_ith(self.ctx, -1)
        if not pointer:
            raise RuntimeError("ignore_eos needs the logits, and this context returns only sampled tokens")
        if self._eog_ids is None:
            self._eog_ids = np.array([i for i in range(self._n_vocab) if llama_cpp.llama_vocab_is_eog(self._vocab, i)])
        logits = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,)).copy()
        logits[self._eog_ids] = -np.inf
        return int(logits.argmax())

    def tokens(self, prompt_tokens: list[int], max_tokens: int, reuse_prefix: bool = False,
               ignore_eos: bool = False) -> Iterator[int]:
        """Greedy tokens after the prompt, up to `max_tokens` or an end-of-generation token (not yielded;
        with `ignore_eos` the best other token is taken instead, so the output runs to `max_tokens`).

        The next token is decoded only when the caller asks for it, so a caller that stops early (a stop
        string) costs no extra decode."""
        ctx, vocab, batch_one, one, shape = self.ctx, self._vocab, self._batch_one, self._one, (self._n_vocab,)
        sampled, logits, as_array = llama_cpp.llama_get_sampled_token_ith, llama_cpp.llama_get_logits_ith, \
            np.ctypeslib.as_array
        is_eog, decode = llama_cpp.llama_vocab_is_eog, llama_cpp.llama_decode
        self._prefill(prompt_tokens, reuse_prefix)
        held = self._held
        for n in range(1, max_tokens + 1):
            token = sampled(ctx, -1)
            if token == llama_cpp.LLAMA_TOKEN_NULL:  # not sampled in the graph: the first highest logit, as
                token = int(as_array(logits(ctx, -1), shape=shape).argmax())  # llama.cpp's greedy picks it
            if is_eog(vocab, token):
                if not ignore_eos:
                    return
                token = self._best_non_eog()
            yield token
            if n == max_tokens:
                return
            one[0] = token
            held.append(token)
            status = decode(ctx, batch_one)
            if status != 0:
                raise RuntimeError(f"llama_decode failed after {n} tokens (status {status})")

    def close(self) -> None:
        """Free the context, then its sampler (before the model they belong to is freed)."""
        if getattr(self, "ctx", None) is not None:
            llama_cpp.llama_free(self.ctx)
            self.ctx = None
        if self._sampler is not None:
            llama_cpp.llama_sampler_free(self._sampler)
            self._sampler = None


class ScoringContext:
    """A context over a loaded model that returns the logits of prompt positions (no sampler in its graph),
    for log-likelihood scoring. The memory is cleared before each text: every text pays its own prefill."""

    def __init__(self, model: Any, vocab: Any, params: llama_cpp.llama_context_params) -> None:
        self.ctx = llama_cpp.llama_init_from_model(model, params)
        if not self.ctx:
            raise ValueError("llama.cpp could not create the scoring context")
        self.n_ctx = llama_cpp.llama_n_ctx(self.ctx)
        self.n_batch = params.n_batch
        self._memory = llama_cpp.llama_get_memory(self.ctx)
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
        self._batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)

    def logprob_rows(self, tokens: list[int], first: int) -> np.ndarray:
        """Float32 log-softmax rows (as llama-cpp-python computes its `logprobs`) of positions `first` to the
        last: row i is the distribution of the token after position `first + i`."""
        if not 0 <= first < len(tokens):
            raise ValueError(f"position {first} is not one of the {len(tokens)} tokens")
        if len(tokens) > self.n_ctx:
            raise ValueError(f"{len(tokens)} tokens exceed n_ctx {self.n_ctx}")
        llama_cpp.llama_memory_clear(self._memory, True)
        batch, rows = self._batch, []
        for start in range(0, len(tokens), self.n_batch):
            part = tokens[start:start + self.n_batch]
            batch.n_tokens = len(part)
            for j, token in enumerate(part):
                batch.token[j], batch.pos[j], batch.n_seq_id[j] = token, start + j, 1
                batch.seq_id[j][0] = 0
                batch.logits[j] = start + j >= first
            status = llama_cpp.llama_decode(self.ctx, batch)
            if status != 0:
                raise RuntimeError(f"llama_decode failed on the scored text (status {status})")
            for j in range(len(part)):
                if batch.logits[j]:
                    row = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.ctx, j), shape=(self._n_vocab,))
                    rows.append(llama_cpp.Llama.logits_to_logprobs(row))
        return np.stack(rows)

    def close(self) -> None:
        """Free the batch and the context (before the model they belong to is freed)."""
        if getattr(self, "_batch", None) is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        if getattr(self, "ctx", None) is not None:
            llama_cpp.llama_free(self.ctx)
            self.ctx = None


class PieceDecoder:
    """Token id -> UTF-8 text, incrementally (a character may span tokens), through one reused buffer."""

    def __init__(self, vocab: Any) -> None:
        self._vocab = vocab
        self._buffer = ctypes.create_string_buffer(64)
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def __call__(self, token: int) -> str:
        n = llama_cpp.llama_token_to_piece(self._vocab, token, self._buffer, len(self._buffer), 0, False)
        if n < 0:  # piece longer than the buffer: grow it and ask again
            self._buffer = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(self._vocab, token, self._buffer, len(self._buffer), 0, False)
        return self._utf8.decode(self._buffer.raw[:n])

    def flush(self) -> str:
        return self._utf8.decode(b"", final=True)
