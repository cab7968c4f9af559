"""The log-likelihood MMLU form against the references themselves, on the same items and weights.

lm-eval 0.4's own `mmlu_<subject>` tasks (output_type multiple_choice, metric acc) run through its `hf` model
type on the folder the harness's transformers backend converts SmolLM2-135M into; the harness scores the
same items of its `mmlu-ll` suite. Both read cais/mmlu offline from a Hub cache in the real layout. Per item:
the same context string, byte for byte; each option's log-likelihood within 1e-4 relative (same weights,
same float32 arithmetic on the same torch; the bound leaves room only for kernel order); the same argmax and
verdict; the same accuracy. On the llama.cpp side, the scores equal llama-cpp-python's own evaluation
(`Llama(logits_all=True).eval` and its `logits_to_logprobs`, which its server's `echo` + `logprobs` read).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

from tests.support.runs import REPO

_spec = importlib.util.spec_from_file_location("_vs_lm_eval_loglik", REPO / "benchmarks" / "_vs_lm_eval_loglik.py")
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def mmlu_home(tmp_path_factory):
    """cais/mmlu in the Hub cache layout (and datasets' prepared cache), the libraries pointed at it, offline."""
    import datasets.config
    import huggingface_hub.constants

    home = tmp_path_factory.mktemp("mmlu-ll") / "hf"
    reference.build_mmlu_cache(home / "hub")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {"HF_HOME": str(home), "HF_HUB_CACHE": str(home / "hub"), "HF_HUB_OFFLINE": "1",
                           "HF_DATASETS_OFFLINE": "1", "HF_DATASETS_CACHE": str(home / "datasets")}.items():
            patch.setenv(key, value)
        patch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(home / "hub"))
        patch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        patch.setattr(datasets.config, "HF_DATASETS_CACHE", Path(home / "datasets"))
        patch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
        reference.prepare_datasets_cache(home)
        yield home


@pytest.fixture(scope="module")
def transformers_backend(mmlu_home, smollm2_gguf):
    from harness.backends.transformers_backend import TransformersBackend
    from harness.config.model_config import TransformersModel

    backend = TransformersBackend(TransformersModel(name="tf", kind="transformers", path=smollm2_gguf,
                                                    prompt_style="completion", dtype="float32"), smollm2_gguf)
    info = backend.load()
    yield backend, Path(info["model_folder"])
    backend.close()


@pytest.mark.parametrize("shots", [0, 2])
def test_transformers_scores_equal_lm_eval_hf(transformers_backend, shots):
    backend, folder = transformers_backend
    ours = reference.harness_items(backend, shots)
    theirs, theirs_acc = reference.lm_eval_hf(folder, shots)
    assert set(ours) == set(theirs) and len(ours) == sum(map(len, reference.QUESTIONS.values()))
    for key, mine in ours.items():
        ref = theirs[key]
        assert mine["context"] == ref["context"], key
        for a, b in zip(mine["logprobs"], ref["logprobs"], strict=True):
            assert math.isclose(a, b, rel_tol=reference.RELATIVE_TOLERANCE), (key, mine["logprobs"], ref["logprobs"])
        assert mine["choice"] == ref["choice"] and mine["correct"] == ref["correct"], key
    assert sum(i["correct"] for i in ours.values()) / len(ours) == theirs_acc


def test_llama_cpp_scores_equal_llama_cpp_pythons_own_evaluation(mmlu_home, smollm2_gguf):
    from llama_cpp import Llama

    from harness.backends.llama_cpp import LlamaCppBackend
    from harness.backends.loglikelihood import encode_pair
    from harness.config.model_config import LlamaCppModel
    from harness.suites import load_suite

    # Llama() makes its context with flash attention off; the harness's default (auto) is another kernel
    cfg = LlamaCppModel(name="q", kind="llama_cpp", path=smollm2_gguf, prompt_style="completion", flash_attn="off",
                        n_threads=2)
    backend = LlamaCppBackend(cfg, smollm2_gguf)
    backend.load()
    llm = Llama(model_path=str(smollm2_gguf), logits_all=True, n_ctx=2048, n_threads=2, verbose=False)
    try:
        for task in load_suite("mmlu-ll").tasks[:6]:
            ours = backend.loglikelihood(task.completion, task.choices)
            for choice, score in zip(task.choices, ours, strict=True):
                context, continuation = encode_pair(
                    lambda text: llm.tokenize(text.encode(), add_bos=True, special=True), task.completion, choice)
                llm.reset()
                llm.eval(context + continuation[:-1])  # lm-eval's input: the last token is only scored
                rows = Llama.logits_to_logprobs(llm.scores[:llm.n_tokens])
                expected = sum(float(rows[len(context) - 1 + i][t]) for i, t in enumerate(continuation))
                assert score.logprob == expected, (task.id, choice)
                assert (score.context_tokens, score.continuation_tokens) == (len(context), len(continuation))
    finally:
        llm.close()
        backend.close()
