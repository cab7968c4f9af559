"""Several requests decoded together by one transformers model (`parallel: N` on a transformers model entry).

One engine thread owns the model. Requests are queued with their prompt ids; before each step the engine
admits waiting requests into free rows (up to N), then runs one forward pass over every row, one token each,
and picks each row's greedy token — continuous batching: a request joins at the next step and leaves when it
ends.

How the rows share one KV cache: re-batching at admission. A newly admitted request is prefilled alone
(batch 1, no padding, a `DynamicCache` of its own), exactly the forward pass `model.generate` makes for that
prompt alone, so its first token is the reference's. Its cache is then merged into the batch's: the shorter
side is left-padded with zero keys/values to a common width and the rows are concatenated, the 2-D attention
mask hiding the padding and each row's position id counting its own real tokens (as `generate` does for a
left-padded batch). A row that ends is removed from the cache (`batch_select_indices`), and the leading
columns that are padding in every remaining row are cut off, so the cache never grows past the longest row.
Why not one batched prefill of all prompts, or a re-prefill of the batch at each admission: a padded prefill
changes the arithmetic of the prompt's forward pass (and a re-prefill repeats it for every row already
running); prefilling alone keeps the prompt exact and costs each prompt one pass, however rows come and go.
Only full-attention caches (`DynamicLayer` in every layer) can be padded and cut this way; a model with
sliding-window or linear-attention layers is refused.

Greedy picking is the argmax of the last position's logits in float32, as `generate(do_sample=False)` does;
`ignore_eos` sets the end-of-sequence logits to -inf first (what `min_new_tokens` does). Logits processors a
model's generation config may ask for (repetition penalty and the like) are not applied: such a model is
refused. Detokenizing and stop-string scanning run on the engine thread (`RowText`), so a stop string ends
its row at the step that completed it; each token's text block is stamped with `time.perf_counter_ns()` as its
step returns and handed to the request's sink; the caller coalesces the hand-over to its event loop.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from harness.backends.batch_rows import PaddedLayout, RowText

# A request's sink receives, on the engine thread: (t_ns, block) per token and at the end; an exception on failure.
Sink = Callable[[Any], object]

# Generation-config fields that add a logits processor to greedy decoding: the engine does plain argmax.
_PROCESSOR_FIELDS = {"repetition_penalty": 1.0, "no_repeat_ngram_size": 0, "encoder_no_repeat_ngram_size": 0,
                     "bad_words_ids": None, "suppress_tokens": None, "begin_suppress_tokens": None,
                     "sequence_bias": None, "forced_bos_token_id": None, "forced_eos_token_id": None,
                     "min_length": 0, "min_new_tokens": None}


def unsupported_generation_settings(generation_config: Any) -> list[str]:
    """The fields of a generation config that would change greedy decoding beyond the argmax (the engine refuses
    such a model rather than decode differently from `generate`)."""
    found = []
    for name, neutral in _PROCESSOR_FIELDS.items():
        value = getattr(generation_config, name, neutral)
        if value not in (neutral, None) and not (name == "repetition_penalty" and value == 1):
            found.append(f"{name}={value!r}")
    return found


@dataclass(eq=False)
class Row:
    """One request inside the engine: its prompt, its text state, where its blocks go."""

    prompt_ids: list[int]
    ignore_eos: bool
    text: RowText
    sink: Sink
    last: int = -1  # the last picked token, fed at the next step
    cancelled: bool = False


class BatchedGenerator:
    """A transformers causal LM decoding up to `n_rows` requests together, one forward pass per step."""

    def __init__(self, model: Any, eos_ids: set[int], n_rows: int, device: str) -> None:
        if not_greedy := unsupported_generation_settings(model.generation_config):
            raise ValueError(f"the model's generation config asks for {', '.join(not_greedy)}; batched decoding "
                             "does plain greedy argmax only")
        layers = {type(layer).__name__ for layer in DynamicCache(config=model.config).layers}
        if layers != {DynamicLayer.__name__}:
            raise ValueError(f"batched decoding needs a full-attention KV cache in every layer; this model's cache "
                             f"has {sorted(layers)}")
        self.n_rows = n_rows
        self._model, self._device = model, device
        self._eos = torch.tensor(sorted(eos_ids), device=device)
        self._rows: list[Row] = []
        self._layout = PaddedLayout()
        self._cache: DynamicCache | None = None
        self._waiting: deque[Row] = deque()
        self._wake = threading.Condition()
        self._closing = False
        self.steps = 0  # forward passes over the batch (prefills not counted)
        self._thread = threading.Thread(target=self._loop, name="transformers-batched", daemon=True)
        self._thread.start()

    def submit(self, prompt_ids: list[int], text: RowText, ignore_eos: bool, sink: Sink) -> Row:
        """Queue a request; its blocks go to `sink` from the engine thread as `(t_ns, block)` pairs, the last
        block ending with the `Usage` (or an exception instead)."""
        row = Row(prompt_ids, ignore_eos, text, sink)
        with self._wake:
            if self._closing:
                raise RuntimeError("the engine is closed")
            self._waiting.append(row)
            self._wake.notify()
        return row

    def cancel(self, row: Row) -> None:
        """End a request early (its reader went away): its row is freed at the next step."""
        row.cancelled = True

    def close(self) -> None:
        """Stop the engine thread; requests in flight end with an error."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join()

    # --- the engine thread ------------------------------------------------------------------------------

    def _loop(self) -> None:
        admitting: list[Row] = []
        while True:
            with self._wake:
                while not self._closing and not self._waiting and not self._rows:
                    self._wake.wait()
                if self._closing:
                    break
                while self._waiting and len(self._rows) + len(admitting) < self.n_rows:
                    admitting.append(self._waiting.popleft())
            try:
                with torch.inference_mode():
                    self._drop_cancelled()
                    while admitting:
                        self._admit(admitting[0])
                        admitting.pop(0)
                    if self._rows:
                        self._step()
            except Exception as exc:  # noqa: BLE001 - every request in flight is told, the engine goes on
                for row in [*self._rows, *admitting]:
                    row.sink(exc)
                admitting.clear()
                self._rows, self._layout, self._cache = [], PaddedLayout(), None
        for row in [*self._rows, *self._waiting]:
            row.sink(RuntimeError("the model was closed while the request ran"))

    def _pick(self, logits: torch.Tensor, rows: list[Row]) -> list[int]:
        """Each row's greedy token from its last-position logits ([rows, vocab])."""
        scores = logits.to(dtype=torch.float32, copy=True)
        held = [i for i, row in enumerate(rows) if row.ignore_eos]
        if held:
            scores[torch.tensor(held, device=scores.device)[:, None], self._eos[None, :]] = -float("inf")
        return scores.argmax(dim=-1).tolist()

    def _emit(self, row: Row, token: int, t_ns: int) -> bool:
        """Hand the row its token's text block; True when the row goes on."""
        row.last = token
        fresh = row.text.feed(token)
        if row.text.done or row.cancelled:  # the token's text event (even empty), the rest, the usage
            row.sink((t_ns, [fresh, *row.text.end()]))
            return False
        row.sink((t_ns, [fresh]))
        return True

    def _admit(self, row: Row) -> None:
        """Prefill the row's prompt alone, hand it its first token, and merge its cache into the batch's."""
        if row.cancelled:
            row.sink((time.perf_counter_ns(), row.text.end()))
            return
        ids = torch.tensor([row.prompt_ids], device=self._device)
        cache = DynamicCache(config=self._model.config)
        try:
            out = self._model(input_ids=ids, cache=cache, use_cache=True, logits_to_keep=1)
        except Exception as exc:  # noqa: BLE001 - a prompt the model cannot take fails its request alone
            row.sink(exc)
            return
        (token,) = self._pick(out.logits[:, -1], [row])
        if not self._emit(row, token, time.perf_counter_ns()):
            return
        pad_batch, pad_new = self._layout.add(len(row.prompt_ids))
        if self._cache is None:
            self._cache = cache
        else:
            for mine, theirs in zip(_states(self._cache), _states(cache), strict=True):
                mine.keys = torch.cat([_pad_left(_kv(mine)[0], pad_batch), _pad_left(_kv(theirs)[0], pad_new)])
                mine.values = torch.cat([_pad_left(_kv(mine)[1], pad_batch), _pad_left(_kv(theirs)[1], pad_new)])
        self._rows.append(row)

    def _step(self) -> None:
        """One forward pass feeding every row its last token; hand each row its next one."""
        layout, rows = self._layout, self._rows
        padded = any(n != layout.width for n in layout.lengths)
        ids = torch.tensor([[row.last] for row in rows], device=self._device)
        positions = torch.tensor([[p] for p in layout.positions()], device=self._device)
        layout.step()
        # no padding: no mask, as `generate` drops an all-ones mask (the attention takes its causal path)
        mask = None
        if padded:  # 1 from each row's first real column on
            pads = torch.tensor(layout.pads(), device=self._device)
            mask = (torch.arange(layout.width, device=self._device)[None, :] >= pads[:, None]).long()
        out = self._model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=self._cache,
                          use_cache=True, logits_to_keep=1)
        tokens = self._pick(out.logits[:, -1], rows)
        t_ns = time.perf_counter_ns()
        self.steps += 1
        self._drop([row for row, token in zip(rows, tokens, strict=True) if not self._emit(row, token, t_ns)])

    def _drop_cancelled(self) -> None:
        """Remove the rows whose reader went away since the last step, each told its end."""
        cancelled = [row for row in self._rows if row.cancelled]
        for row in cancelled:
            row.sink((time.perf_counter_ns(), row.text.end()))
        self._drop(cancelled)

    def _drop(self, ended: list[Row]) -> None:
        """Remove ended rows from the batch and cut the columns that are padding in every row left."""
        if not ended:
            return
        keep = [i for i, row in enumerate(self._rows) if row not in ended]
        trim = self._layout.keep(keep)
        self._rows = [self._rows[i] for i in keep]
        if not keep:
            self._cache = None
            return
        assert self._cache is not None, "rows in the batch have a cache"
        index = torch.tensor(keep, device=self._device)
        for layer in _states(self._cache):
            keys, values = _kv(layer)
            layer.keys, layer.values = keys.index_select(0, index)[:, :, trim:], values.index_select(0, index)[:, :, trim:]


def _states(cache: DynamicCache) -> list[DynamicLayer]:
    """The cache's layers: every one a `DynamicLayer` (the engine refuses a model whose cache has others)."""
    return cast(list[DynamicLayer], cache.layers)


def _kv(layer: DynamicLayer) -> tuple[torch.Tensor, torch.Tensor]:
    """A filled layer's keys and values."""
    assert layer.keys is not None and layer.values is not None, "the layer holds the prefilled tokens"
    return layer.keys, layer.values


def _pad_left(states: torch.Tensor, columns: int) -> torch.Tensor:
    """Keys or values ([batch, heads, length, head_dim]) with `columns` zero columns before the first."""
    if columns == 0:
        return states
    return torch.nn.functional.pad(states, (0, 0, columns, 0))
