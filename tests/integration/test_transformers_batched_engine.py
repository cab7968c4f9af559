"""The batched transformers engine on a small randomly initialised Llama (built in memory, no weights file):
requests joining and leaving the left-padded batch at any step get the tokens `generate` gives each alone.
The real model's texts are checked in tests/e2e/test_transformers_batched.py."""

from __future__ import annotations

import queue
import threading

import pytest
import torch
import transformers

from harness.backends.base import Usage
from harness.backends.batch_rows import RowText
from harness.backends.transformers_batched import BatchedGenerator

EOS = 1


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=64, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                                      bos_token_id=0, eos_token_id=EOS, pad_token_id=EOS)
    built = transformers.LlamaForCausalLM(config).eval()
    with torch.no_grad():  # sharper logits than the initialiser's: fewer near-ties between the top two tokens
        built.lm_head.weight.mul_(20)
    return built


def _reference(model, prompt: list[int], max_tokens: int, ignore_eos: bool = False, eos=(EOS,)) -> list[int]:
    ids = torch.tensor([prompt])
    hold = {"min_new_tokens": max_tokens} if ignore_eos else {}
    with torch.inference_mode():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_tokens, do_sample=False,
                             pad_token_id=EOS, eos_token_id=list(eos), **hold)
    generated = out[0, len(prompt):].tolist()
    ends = [i for i, token in enumerate(generated) if token in eos]
    return generated[:ends[0]] if ends else generated


def _submit(engine, prompt, max_tokens, ignore_eos=False, on_token=None):
    """Submit; returns (the row's text state, a queue that gets the end block or an exception)."""
    text = RowText(lambda ids: " ".join(map(str, ids)), [], {EOS}, len(prompt), max_tokens)
    done: queue.SimpleQueue = queue.SimpleQueue()

    def sink(item):
        if isinstance(item, BaseException) or isinstance(item[1][-1], Usage):
            done.put(item)
        elif on_token is not None:
            on_token()

    engine.submit(prompt, text, ignore_eos, sink)
    return text, done


def _usage(done) -> Usage:
    item = done.get(timeout=120)
    assert not isinstance(item, BaseException), item
    t_ns, block = item
    assert isinstance(t_ns, int) and t_ns > 0
    return block[-1]


def test_rows_joining_at_different_steps_and_lengths_get_their_own_greedy_tokens(model):
    prompts = [[0, 5, 9, 12], [0, 3], [0, 7, 7, 8, 20, 31, 2, 44, 13], [0, 40, 41], [0, 11, 12, 13, 14, 15]]
    max_tokens = [12, 30, 6, 20, 9]
    engine = BatchedGenerator(model, {EOS}, n_rows=3, device="cpu")  # five requests, three rows: two wait
    try:
        started = threading.Event()
        first = _submit(engine, prompts[0], max_tokens[0], on_token=started.set)
        assert started.wait(60)  # the others join a batch that is already decoding
        rest = [_submit(engine, p, n) for p, n in zip(prompts[1:], max_tokens[1:])]
        for (text, done), prompt, n in zip([first, *rest], prompts, max_tokens):
            usage = _usage(done)
            expected = _reference(model, prompt, n)
            assert text.ids == expected, prompt
            assert (usage.input_tokens, usage.output_tokens) == (len(prompt), len(expected))
        assert engine.steps > 0
    finally:
        engine.close()


def test_ignore_eos_decodes_to_max_tokens_past_the_end_of_sequence(model):
    prompt = [0, 9, 4]
    eos = (EOS, _reference(model, prompt, 40, ignore_eos=True)[3])  # the fourth greedy token ends a sequence too
    engine = BatchedGenerator(model, set(eos), n_rows=2, device="cpu")
    try:
        held = RowText(str, [], set(eos), len(prompt), 40)
        plain = RowText(str, [], set(eos), len(prompt), 40)
        held_done: queue.SimpleQueue = queue.SimpleQueue()
        plain_done: queue.SimpleQueue = queue.SimpleQueue()
        engine.submit(prompt, held, True, lambda item: isinstance(item[1][-1], Usage) and held_done.put(item))
        engine.submit(prompt, plain, False, lambda item: isinstance(item[1][-1], Usage) and plain_done.put(item))
        assert _usage(held_done).output_tokens == 40
        assert held.ids == _reference(model, prompt, 40, ignore_eos=True, eos=eos)
        assert _usage(plain_done).finish_reason == "stop" and len(plain.ids) == 3
        assert plain.ids == _reference(model, prompt, 40, eos=eos)
    finally:
        engine.close()


def test_a_cancelled_row_leaves_and_the_others_go_on(model):
    engine = BatchedGenerator(model, {EOS}, n_rows=2, device="cpu")
    try:
        rows: list = []
        count = [0]

        def on_token():
            count[0] += 1
            if count[0] == 3:
                engine.cancel(rows[0])

        text = RowText(str, [], {EOS}, 3, 50)
        cancelled_done: queue.SimpleQueue = queue.SimpleQueue()
        rows.append(engine.submit([0, 2, 3], text, True, lambda item: (
            cancelled_done.put(item) if isinstance(item[1][-1], Usage) else on_token())))
        other, other_done = _submit(engine, [0, 8], 25, ignore_eos=True)
        assert _usage(cancelled_done).output_tokens < 50
        assert _usage(other_done).output_tokens == 25 and other.ids == _reference(model, [0, 8], 25, ignore_eos=True)
    finally:
        engine.close()


def test_a_model_with_sliding_window_layers_is_refused():
    config = transformers.MistralConfig(vocab_size=32, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                        num_attention_heads=2, num_key_value_heads=1, sliding_window=8)
    with pytest.raises(ValueError, match="full-attention KV cache"):
        BatchedGenerator(transformers.MistralForCausalLM(config).eval(), {EOS}, n_rows=2, device="cpu")


def test_a_prompt_the_model_cannot_take_fails_its_request_alone(model):
    engine = BatchedGenerator(model, {EOS}, n_rows=2, device="cpu")
    try:
        started = threading.Event()
        good, good_done = _submit(engine, [0, 6, 7], 15, ignore_eos=True, on_token=started.set)
        assert started.wait(60)
        _, bad_done = _submit(engine, [0, 10_000], 5)  # a token id outside the vocabulary
        assert isinstance(bad_done.get(timeout=60), IndexError)
        assert _usage(good_done).output_tokens == 15 and good.ids == _reference(model, [0, 6, 7], 15, ignore_eos=True)
    finally:
        engine.close()
