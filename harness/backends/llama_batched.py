"""Several sequences decoded together in one llama.cpp context (`parallel: N` on a llama_cpp model).

One engine thread owns the context. Requests are submitted with their prompt tokens; before each step the
engine admits waiting requests into free sequence slots (up to N), then makes one `llama_batch` holding,
for every slot that is generating, its last token (one output each), and, within the batch size, the next
part of each newly admitted prompt (an output on a prompt's last token). One `llama_decode` per step — as
`llama-batched-bench` and llama.cpp's server do (continuous batching: a request joins at the next step and
leaves when it ends, its KV cells freed). Every sequence samples greedily on its own: a greedy sampler per
sequence id inside llama.cpp's graph (backend sampling), or the argmax of its logits where the runtime does
not sample. End-of-generation, `max_tokens` and cancellation (a stop string found by the caller, an
abandoned stream) end a sequence; the others go on.

The engine is driven by the model's compute thread (harness.backends.compute_thread), which runs a step
whenever a sequence is waiting or generating. Tokens go to each request's `sink` (called on that thread with a
token id, or None at the end, or an exception); the engine never reads a clock: what the sink hands on is
stamped by its caller.
"""

from __future__ import annotations

import ctypes
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import llama_cpp
import numpy as np

from harness.backends.compute_thread import ComputeThread

Sink = Callable[[int | None | BaseException], bool]  # given a token, False ends the sequence (a stop string)
BACKEND_SAMPLING = True  # greedy samplers inside llama.cpp's graph; False: the argmax of each output's logits


@dataclass(eq=False)
class Sequence:
    """One request inside the engine: its prompt, its limits, where its tokens go."""

    prompt: list[int]
    max_tokens: int
    ignore_eos: bool
    sink: Sink
    seq_id: int = -1
    n_fed: int = 0  # prompt tokens evaluated so far
    n_out: int = 0
    last: int = -1  # the last sampled token (fed at the next step)
    cancelled: bool = False
    output_index: int = field(default=-1, repr=False)  # its output's index in this step's batch, or -1


class BatchedEngine:
    """A llama.cpp context over `n_seq` sequence slots, decoding every active sequence in one batch per step."""

    def __init__(self, model: Any, vocab: Any, params: llama_cpp.llama_context_params, n_seq: int,
                 compute: ComputeThread) -> None:
        """Make the context (call this on `compute`'s thread); the compute thread then drives the steps."""
        self.n_seq = n_seq
        params.n_seq_max = n_seq
        self._samplers = [llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
                          for _ in range(n_seq)]
        self._sampler_config = (llama_cpp.llama_sampler_seq_config * n_seq)()
        for seq_id, sampler in enumerate(self._samplers):
            llama_cpp.llama_sampler_chain_add(sampler, llama_cpp.llama_sampler_init_greedy())
            self._sampler_config[seq_id].seq_id = seq_id
            self._sampler_config[seq_id].sampler = ctypes.cast(sampler, ctypes.c_void_p)
        if BACKEND_SAMPLING:
            params.samplers, params.n_samplers = self._sampler_config, n_seq
        self.ctx = llama_cpp.llama_init_from_model(model, params)
        if not self.ctx:
            self._free_samplers()
            raise ValueError("llama.cpp could not create the context")
        self.n_ctx = llama_cpp.llama_n_ctx(self.ctx)
        self.n_ctx_seq = llama_cpp.llama_n_ctx_seq(self.ctx)  # what one sequence may hold (n_ctx / n_seq unless unified)
        self.n_batch = int(params.n_batch)
        self._vocab = vocab
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
        self._memory = llama_cpp.llama_get_memory(self.ctx)
        self._eog_ids: np.ndarray | None = None
        self._batch = llama_cpp.llama_batch_init(max(self.n_batch, n_seq), 0, 1)
        self._waiting: deque[Sequence] = deque()
        self._active: list[Sequence] = []
        self._free_ids = list(range(n_seq - 1, -1, -1))
        self._compute = compute
        self._wake = compute.cond  # guards the waiting queue; submitting wakes the compute thread
        self._closing = False
        compute.attach(self)

    def submit(self, prompt: list[int], max_tokens: int, ignore_eos: bool, sink: Sink) -> Sequence:
        """Queue a request; its tokens go to `sink` from the engine thread, then None (or an exception)."""
        if len(prompt) + max_tokens > self.n_ctx_seq:
            raise ValueError(f"prompt of {len(prompt)} tokens + max_tokens {max_tokens} exceeds the "
                             f"{self.n_ctx_seq} tokens of context each of the {self.n_seq} sequences has")
        sequence = Sequence(prompt, max_tokens, ignore_eos, sink)
        with self._wake:
            if self._closing:
                raise RuntimeError("the engine is closed")
            self._waiting.append(sequence)
            self._wake.notify()
        return sequence

    def cancel(self, sequence: Sequence) -> None:
        """End a sequence early (its caller found a stop string, or stopped reading): freed at the next step."""
        sequence.cancelled = True

    # --- on the compute thread ---------------------------------------------------------------------------

    def busy(self) -> bool:
        """Whether a step has work: a sequence waiting for a slot or generating."""
        return bool(self._waiting or self._active) and not self._closing

    def step(self) -> None:
        """Admit waiting requests into free slots, then decode one batch (every sequence in flight is told
        of a failure, and the engine goes on)."""
        with self._wake:
            if self._waiting and self._free_ids:
                # the lowest free ids, and the batch in seq-id order: a batch whose sequences come out of
                # order is split by llama.cpp into several ubatches (measured: every other level of 8 ran at
                # half speed once finished sequences had returned their ids in finishing order)
                self._free_ids.sort(reverse=True)
                while self._waiting and self._free_ids:
                    sequence = self._waiting.popleft()
                    sequence.seq_id = self._free_ids.pop()
                    self._active.append(sequence)
                self._active.sort(key=lambda s: s.seq_id)
        try:
            self._step()
        except Exception as exc:  # noqa: BLE001 - every sequence in flight is told, the engine goes on
            for sequence in self._active:
                self._finish(sequence, exc)
            self._active.clear()

    def _finish(self, sequence: Sequence, end: BaseException | None = None) -> None:
        llama_cpp.llama_memory_seq_rm(self._memory, sequence.seq_id, -1, -1)
        self._free_ids.append(sequence.seq_id)
        sequence.sink(end)

    def _step(self) -> None:
        """Free the cancelled sequences, decode one batch, hand each sequence its next token."""
        for sequence in [s for s in self._active if s.cancelled]:
            self._active.remove(sequence)
            self._finish(sequence)
        if not self._active:
            return
        batch, n = self._batch, 0
        token, pos, n_seq_id, seq_ids, logits = batch.token, batch.pos, batch.n_seq_id, batch.seq_id, batch.logits
        for sequence in self._active:  # the generating ones first: one token each
            sequence.output_index = -1
            if sequence.n_fed == len(sequence.prompt):
                token[n], pos[n], n_seq_id[n], seq_ids[n][0], logits[n] = \
                    sequence.last, len(sequence.prompt) + sequence.n_out - 1, 1, sequence.seq_id, 1
                sequence.output_index = n
                n += 1
        budget = max(self.n_batch, len(self._active))
        for sequence in self._active:  # then prompt parts, as far as the batch goes
            if sequence.n_fed == len(sequence.prompt) or n >= budget:
                continue
            part = sequence.prompt[sequence.n_fed:sequence.n_fed + budget - n]
            for offset, prompt_token in enumerate(part):
                token[n], pos[n], n_seq_id[n], seq_ids[n][0], logits[n] = \
                    prompt_token, sequence.n_fed + offset, 1, sequence.seq_id, 0
                n += 1
            sequence.n_fed += len(part)
            if sequence.n_fed == len(sequence.prompt):
                logits[n - 1] = 1
                sequence.output_index = n - 1
        batch.n_tokens = n
        status = llama_cpp.llama_decode(self.ctx, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode failed on a batch of {n} tokens for {len(self._active)} "
                               f"sequences (status {status})")
        still: list[Sequence] = []
        for sequence in self._active:
            if sequence.output_index < 0:  # its prompt is not all in yet
                still.append(sequence)
                continue
            value = self._sampled(sequence)
            if value is None:
                self._finish(sequence)
                continue
            sequence.last, sequence.n_out = value, sequence.n_out + 1
            if not sequence.sink(value):
                sequence.cancelled = True
            if sequence.n_out == sequence.max_tokens or sequence.cancelled:
                self._finish(sequence)
            else:
                still.append(sequence)
        self._active = still

    def _sampled(self, sequence: Sequence) -> int | None:
        """The sequence's greedy token from this step's output, or None at end of generation."""
        index = sequence.output_index
        value = llama_cpp.llama_get_sampled_token_ith(self.ctx, index)
        if value == llama_cpp.LLAMA_TOKEN_NULL:  # not sampled in the graph: the first highest logit
            value = int(self._logits(index).argmax())
        if llama_cpp.llama_vocab_is_eog(self._vocab, value):
            if not sequence.ignore_eos:
                return None
            if self._eog_ids is None:
                self._eog_ids = np.array([i for i in range(self._n_vocab) if llama_cpp.llama_vocab_is_eog(self._vocab, i)])
            row = self._logits(index).copy()
            row[self._eog_ids] = -np.inf
            value = int(row.argmax())
        return value

    def _logits(self, index: int) -> np.ndarray:
        pointer = llama_cpp.llama_get_logits_ith(self.ctx, index)
        if not pointer:
            raise RuntimeError("ignore_eos needs the logits, and this context returns only sampled tokens")
        return np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))

    def close(self) -> None:
        """Stop stepping (requests in flight or waiting end with an error), then free the context."""
        with self._wake:
            self._closing = True
        self._compute.attach(None)
        self._compute.call(self._free)

    def _free(self) -> None:
        with self._wake:
            left, self._waiting = [*self._active, *self._waiting], deque()
        self._active = []
        for sequence in left:
            sequence.sink(RuntimeError("the model was closed while the request ran"))
        if self.ctx is not None:
            llama_cpp.llama_batch_free(self._batch)
            llama_cpp.llama_free(self.ctx)
            self.ctx = None
        self._free_samplers()

    def _free_samplers(self) -> None:
        for sampler in self._samplers:
            llama_cpp.llama_sampler_free(sampler)
        self._samplers = []
