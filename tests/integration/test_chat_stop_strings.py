"""A task's stop strings reach chat endpoints too (lm-eval sends a task's `until` in every mode); an API that
takes at most N gets the first N, and the rest are cut from the streamed answer on this side."""

from __future__ import annotations

import asyncio

import pytest

from harness.backends import Prompt
from harness.backends.openai_api import OpenAIBackend
from harness.config.model_config import OpenAIModel
from harness.config.providers import resolve_endpoint
from harness.execution.session import build_prompt
from harness.suites import Task
from tests.support.fake_api import FakeAPI

ANSWER = ["Natalia sold", " 72 clips.", "\n\nQues", "tion: Tom", " has 3 apples", "</s", "> and"]
STOPS = ["Question:", "</s>", "<|im_end|>", "\n\n\n", "apples"]


def _reply(api: FakeAPI, path: str, **options) -> str:
    backend = OpenAIBackend(OpenAIModel(name="r", kind="openai", base_url=f"{api.base_url}/v1", model="m", **options))
    backend.load()
    prompt = Prompt(style="chat", max_tokens=32, messages=[{"role": "user", "content": "Question: ...\nAnswer:"}],
                    stop=STOPS)
    try:
        if path == "load-generator":
            async def collect() -> list:
                try:
                    return [c for block in [b async for b in backend.astream_blocks(prompt)] for c in block]
                finally:
                    await backend.aclose()
            chunks = asyncio.run(collect())
        else:
            chunks = list(backend.stream(prompt))
    finally:
        backend.close()
    return "".join(c for c in chunks if isinstance(c, str))


@pytest.mark.parametrize("path", ["one-at-a-time", "load-generator"])
def test_first_n_sent_the_rest_cut_client_side(path):
    with FakeAPI(answer=["Natalia sold", " 72 clips", " and 3 app", "les more", " than Tom."]) as api:
        text = _reply(api, path, max_stop_strings=4)
    assert api.requests[0]["body"]["stop"] == STOPS[:4]
    assert text == "Natalia sold 72 clips and 3 "  # "apples", the fifth stop string, ended it here


@pytest.mark.parametrize("path", ["one-at-a-time", "load-generator"])
def test_without_a_maximum_every_stop_string_is_sent_and_text_passes(path):
    with FakeAPI(answer=ANSWER) as api:
        text = _reply(api, path)
    assert api.requests[0]["body"]["stop"] == STOPS
    assert text == "".join(ANSWER)  # the server applies them; this side changes nothing


def test_openai_preset_takes_four_and_an_entry_may_say_otherwise():
    assert resolve_endpoint(OpenAIModel(name="o", kind="openai", provider="openai", model="gpt-x")).max_stop_strings == 4
    assert resolve_endpoint(OpenAIModel(name="o", kind="openai", provider="openai", model="gpt-x",
                                        max_stop_strings=2)).max_stop_strings == 2
    assert resolve_endpoint(OpenAIModel(name="v", kind="openai", base_url="http://127.0.0.1:1/v1",
                                        model="m")).max_stop_strings is None


def test_a_dataset_task_sends_its_stop_strings_in_the_chat_form():
    task = Task.model_validate({"id": "t", "messages": [{"role": "user", "content": "Question: q\nAnswer:"}],
                                "completion": "Question: q\nAnswer:", "stop": ["Question:"],
                                "chat_stop": ["Question:", "</s>"], "max_tokens": 8, "checker": {"kind": "gsm8k"},
                                "expected": "#### 1"})
    chat = build_prompt(task, OpenAIModel(name="o", kind="openai", base_url="http://127.0.0.1:1/v1", model="m"))
    assert chat.style == "chat" and chat.stop == ["Question:", "</s>"]
    written = task.model_copy(update={"chat_stop": None})
    assert build_prompt(written, OpenAIModel(name="o", kind="openai", base_url="http://127.0.0.1:1/v1",
                                             model="m")).stop == []
