"""Hugging Face transformers on torch, in process: one event per generated token, counts from the ids.

Weights come from a local model folder (or a Hub snapshot folder), or from a GGUF file dequantised through
`gguf_file=`. Converting
a GGUF takes tens of seconds, so the converted model (safetensors + config + tokenizer) is cached under
the harness cache, keyed by the GGUF's sha256; later loads take well under a second plus the read.
Nothing is downloaded: every load passes `local_files_only=True`.

`generate` runs greedily on a worker thread and hands each new token to a streamer; the streamer receives
token ids that transformers has already copied to the CPU (`next_tokens.cpu()`), which waits for the GPU,
so on CUDA each stamp the runner takes reflects finished GPU work. Token counts are the generated ids
(the end-of-sequence token not counted), never the text pieces.

With `parallel: N` > 1 the requests go to one engine thread that decodes up to N of them together
(`harness.backends.transformers_batched`); each token's block is stamped there when its step returns and
reaches the asyncio load generator in batches (`harness.backends.thread_handoff`).
"""

from __future__ import annotations

import asyncio
import json
import queue
import shutil
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from harness.backends.base import Backend, Prompt, Usage
from harness.backends.batch_rows import RowText
from harness.backends.loglikelihood import ContinuationScore, encode_pair
from harness.backends.stop_strings import StopScanner
from harness.backends.thread_handoff import Handoff
from harness.backends.transformers_batched import BatchedGenerator
from harness.config.sources import cache_dir, file_sha256
from harness.errors import ModelLoadError

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class _TokenQueue(BaseStreamer):
    """Receives each step's token ids from `generate` (the prompt first) and hands them to the reader."""

    def __init__(self) -> None:
        self.items: queue.Queue = queue.Queue()
        self.prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:  # generate() puts the prompt before the first new token
            self.prompt_seen = True
            return
        self.items.put(value.reshape(-1).tolist())

    def end(self) -> None:
        self.items.put(None)


class _Abandoned(StoppingCriteria):
    """Stops generation when the reader went away (a stop string was seen, or the request was abandoned)."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


def _device(requested: str) -> str:
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(f"device {requested!r} asked for, but torch sees no CUDA device "
                             f"(torch {torch.__version__}, built with CUDA {torch.version.cuda})")
    return requested


class TransformersBackend(Backend):
    """A causal language model loaded by transformers on CPU or CUDA."""

    kind = "transformers"

    def _converted_folder(self) -> tuple[Path, str, float]:
        """A transformers folder for the GGUF: from the cache, or converted now and cached."""
        assert self.weights_path is not None, "only a model with a GGUF source is converted"
        gguf = Path(self.weights_path)
        folder = cache_dir() / "transformers" / file_sha256(gguf)[:24]
        if (folder / "config.json").exists():
            return folder, "hit", 0.0
        t0 = time.perf_counter()
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, local_files_only=True,
                                                         dtype=torch.float32)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelLoadError(f"transformers could not convert {gguf}: {exc}") from None
        from safetensors.torch import save_model

        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        save_model(model, str(partial / "model.safetensors"))  # handles tied embeddings
        config = model.config.to_dict()
        config.pop("quantization_config", None)  # the weights saved are dequantised floats
        (partial / "config.json").write_text(json.dumps(config, indent=1))
        model.generation_config.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        partial.replace(folder)
        return folder, "miss", time.perf_counter() - t0

    def load(self) -> dict[str, Any]:
        cfg = self.config
        device = _device(cfg.device)
        if cfg.n_threads:
            torch.set_num_threads(cfg.n_threads)
        torch.manual_seed(cfg.seed)
        if cfg.model_dir is not None:
            folder, cache, conversion_s = Path(cfg.model_dir), "none", 0.0
        elif self.weights_path is not None and Path(self.weights_path).is_dir():  # a Hub snapshot (hf: alone)
            folder, cache, conversion_s = Path(self.weights_path), "none", 0.0
        else:
            folder, cache, conversion_s = self._converted_folder()
        options: dict[str, Any] = {"local_files_only": True}
        if cfg.dtype != "auto":
            options["dtype"] = _DTYPES[cfg.dtype]
        if cfg.attn_implementation:
            options["attn_implementation"] = cfg.attn_implementation
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(str(folder), **options)
            # PreTrainedModel.to is `@wraps(torch.nn.Module.to)`: its stub keeps `self` as the first parameter
            self._model = model.to(device).eval()  # type: ignore[arg-type]
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"transformers could not load {folder}: {exc}") from None
        if cfg.prompt_style == "chat" and not self._tokenizer.chat_template:
            raise ModelLoadError(f"model '{cfg.name}': the tokenizer has no chat template; use prompt_style: completion")
        self._device = device
        if cfg.compile and device.startswith("cuda"):
            # compiled once per shape; with a static cache the shapes stay fixed (transformers' documented recipe)
            self._model.forward = torch.compile(self._model.forward, mode="reduce-overhead", fullgraph=True)
        self._eos = set(self._model.generation_config.eos_token_id if isinstance(
            self._model.generation_config.eos_token_id, list) else [self._model.generation_config.eos_token_id])
        self._engine: BatchedGenerator | None = None
        if cfg.parallel > 1:  # up to N requests decoded together by one engine thread (transformers_batched)
            try:
                self._engine = BatchedGenerator(self._model, self._eos, cfg.parallel, device)
            except ValueError as exc:
                raise ModelLoadError(f"model '{cfg.name}': parallel: {cfg.parallel}: {exc}") from None
        return {"runtime": "transformers", "runtime_version": transformers.__version__, "torch": torch.__version__,
                "device": "gpu" if device.startswith("cuda") else "cpu", "torch_device": device,
                "dtype": str(next(self._model.parameters()).dtype).removeprefix("torch."),
                "n_threads": torch.get_num_threads(), "cache": cache, "conversion_s": conversion_s,
                "kv_cache": cfg.cache_implementation, "compiled": bool(cfg.compile and device.startswith("cuda")),
                "parallel": cfg.parallel, "model_folder": str(folder)}

    def _prompt_ids(self, prompt: Prompt) -> torch.Tensor:
        if prompt.style == "chat":
            assert prompt.messages is not None, "a chat prompt carries its messages"
            # return_dict=True, return_tensors="pt": a BatchEncoding of tensors (the stub types every return form)
            encoded = cast(Mapping[str, torch.Tensor], self._tokenizer.apply_chat_template(
                prompt.messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"))
            return encoded["input_ids"]
        return self._tokenizer(prompt.text, return_tensors="pt")["input_ids"]

    supports_ignore_eos = True

    def count_prompt_tokens(self, prompt: Prompt) -> int | None:
        return int(self._prompt_ids(prompt).shape[1])

    def count_text_tokens(self, text: str) -> int | None:
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"]) if text else 0

    supports_loglikelihood = True

    def loglikelihood(self, context: str, continuations: list[str]) -> list[ContinuationScore]:
        """lm-eval's `hf` computation, one sequence per forward pass (options with the same input share one):
        the tokenizer's defaults (special tokens as it adds them), the input (context + continuation without
        its last token) left-cut to the model's maximum length, a log-softmax in the model's dtype, the
        continuation tokens' values gathered and summed there."""
        limit = getattr(self._model.config, "max_position_embeddings", None) or 2048
        scores, evaluated = [], {}
        for continuation in continuations:
            context_ids, continuation_ids = encode_pair(self._tokenizer.encode, context, continuation)
            ids = tuple((context_ids + continuation_ids)[-(limit + 1):][:-1])
            with torch.inference_mode():
                if ids not in evaluated:  # one-token options share their input (lm-eval reuses it the same way)
                    logits = self._model(torch.tensor([ids], device=self._device)).logits
                    evaluated[ids] = torch.nn.functional.log_softmax(logits, dim=-1)[0]
                logprobs = evaluated[ids][-len(continuation_ids):]
                targets = torch.tensor(continuation_ids, device=self._device)
                greedy = bool((logprobs.argmax(dim=-1) == targets).all())
                total = float(torch.gather(logprobs, 1, targets.unsqueeze(-1)).squeeze(-1).sum())
            scores.append(ContinuationScore(total, greedy, len(context_ids), len(continuation_ids)))
        return scores

    def _stops(self, prompt: Prompt) -> list[str]:
        return [] if prompt.ignore_eos else [s for s in [*self.config.stop, *prompt.stop] if s]

    def _row_text(self, ids: list[int], prompt: Prompt) -> RowText:
        def decode(generated: list[int]) -> str:
            return cast(str, self._tokenizer.decode(generated, skip_special_tokens=True))

        return RowText(decode, self._stops(prompt), self._eos, len(ids), prompt.max_tokens)

    def stream(self, prompt: Prompt) -> Iterator[str | Usage]:
        if self._engine is not None:
            yield from self._stream_batched(prompt)
            return
        input_ids = self._prompt_ids(prompt).to(self._device)
        stops = self._stops(prompt)
        # min_new_tokens suppresses end-of-sequence until max_tokens: the output is held to its length
        hold = {"min_new_tokens": prompt.max_tokens} if prompt.ignore_eos else {}
        streamer, abandoned = _TokenQueue(), _Abandoned()
        outcome: dict[str, Any] = {}
        cache = {"cache_implementation": "static"} if self.config.cache_implementation == "static" else {}

        def generate() -> None:
            try:
                with torch.inference_mode():
                    self._model.generate(
                        input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=prompt.max_tokens,
                        do_sample=False, streamer=streamer, stopping_criteria=StoppingCriteriaList([abandoned]), **hold,
                        pad_token_id=self._tokenizer.pad_token_id or next(iter(self._eos)), **cache)
            except Exception as exc:  # noqa: BLE001 - handed to the reading thread
                outcome["error"] = exc
                streamer.end()

        worker = threading.Thread(target=generate, name="transformers-generate", daemon=True)
        worker.start()
        generated: list[int] = []
        scanner = StopScanner(stops)
        text, finish, stopped = "", "length", False
        try:
            while (ids := streamer.items.get()) is not None:
                ended = any(i in self._eos for i in ids)
                generated += [i for i in ids if i not in self._eos]
                text = cast(str, self._tokenizer.decode(generated, skip_special_tokens=True))  # one id list: one text
                if text.endswith("\ufffd"):  # a character split across tokens: wait for the rest
                    yield ""
                    continue
                fresh, stopped = scanner.feed(text)
                yield fresh  # one event per token, empty while text is held back
                if stopped or ended:
                    finish = "stop"
                    break
            if "error" in outcome:
                raise outcome["error"]
            if not stopped:
                rest = scanner.rest(text)
                if rest:
                    yield rest
        finally:
            abandoned.event.set()
            worker.join()
        yield Usage(input_tokens=int(input_ids.shape[1]), output_tokens=len(generated), input_tokens_source="runtime",
                    output_tokens_source="runtime", finish_reason=finish)

    def _stream_batched(self, prompt: Prompt) -> Iterator[str | Usage]:
        assert self._engine is not None, "parallel > 1"
        ids = self._prompt_ids(prompt)[0].tolist()
        inbox: queue.SimpleQueue = queue.SimpleQueue()
        row = self._engine.submit(ids, self._row_text(ids, prompt), prompt.ignore_eos, inbox.put)
        try:
            while True:
                item = inbox.get()
                if isinstance(item, BaseException):
                    raise item
                _, block = item
                yield from block
                if isinstance(block[-1], Usage):
                    return
        finally:
            self._engine.cancel(row)  # a caller that stops reading frees its row

    async def astream_blocks(self, prompt: Prompt) -> AsyncIterator[Sequence[str | Usage]]:
        """With `parallel` > 1: the request joins the batched engine. Its tokens become text on the engine
        thread (a stop string ends the row at that step), each block stamped when its step returned, and reach
        the event loop in batches (harness.backends.thread_handoff)."""
        engine = self._engine
        if engine is None:
            async for block in super().astream_blocks(prompt):
                yield block
            return
        ids = self._prompt_ids(prompt)[0].tolist()
        handoff = Handoff(asyncio.get_running_loop())
        row: list[Any] = []  # the engine's Row, once submitted

        def sink(item: Any) -> None:  # on the engine thread
            if isinstance(item, BaseException):
                handoff.fail(item)
                handoff.end()
                return
            t_ns, block = item
            reading = handoff.block(block, t_ns)
            if isinstance(block[-1], Usage):
                handoff.end()
            elif not reading:
                engine.cancel(row[0])

        row.append(engine.submit(ids, self._row_text(ids, prompt), prompt.ignore_eos, sink))
        try:
            async for block in handoff.blocks():
                yield block
        finally:
            engine.cancel(row[0])  # a reader that stops early frees its row

    def close(self) -> None:
        engine = getattr(self, "_engine", None)
        if engine is not None:  # the engine thread goes before the model it runs
            engine.close()
            self._engine = None
        self._model = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
