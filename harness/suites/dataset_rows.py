"""Rows of a dataset: from the Hugging Face Hub at a pinned revision, from local files, or from a file shipped
inside an installed package — all read through the `datasets` library.

Hub datasets are kept in the Hugging Face cache (`HF_HUB_CACHE`, by default `~/.cache/huggingface/hub`):
`huggingface_hub.snapshot_download` fetches the files of the needed splits at the pinned commit, or, offline
(`HF_HUB_OFFLINE=1`) or without a network, finds them in that cache; `datasets.load_dataset` then reads the
snapshot folder, using the data files the dataset card assigns to each split. Online and offline take the
same path, so a test that builds a cache in the Hub's layout exercises the code the real datasets use.
When neither the network nor the cache has a dataset, `DatasetUnavailable` says which and how to fetch it.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib.metadata as md
import io
import os
from pathlib import Path
from typing import Any

from harness.errors import InputError

CARD = "README.md"
FETCH_HINT = "harness fetch {name}"


_CACHE_ONLY = contextvars.ContextVar("cache_only", default=False)


@contextlib.contextmanager
def cache_only():
    """Within this block Hub datasets are only looked up in the cache (listing suites must not wait on a network)."""
    token = _CACHE_ONLY.set(True)
    try:
        yield
    finally:
        _CACHE_ONLY.reset(token)


class DatasetUnavailable(InputError):
    """A dataset is neither in the Hugging Face cache nor reachable on the Hub (or its extra is missing)."""


def _libraries() -> tuple[Any, Any]:
    try:
        import datasets
        import huggingface_hub
    except ImportError:
        raise DatasetUnavailable("dataset suites need the `datasets` library: pip install 'harness[datasets]'") \
            from None
    return datasets, huggingface_hub


@contextlib.contextmanager
def _quiet():
    """`datasets` prints progress bars and cache warnings on stderr; a run's terminal shows its own progress."""
    datasets, _ = _libraries()
    was_enabled = datasets.utils.logging.is_progress_bar_enabled()
    datasets.utils.logging.disable_progress_bar()
    level = datasets.utils.logging.get_verbosity()
    datasets.utils.logging.set_verbosity_error()
    try:
        yield
    finally:
        datasets.utils.logging.set_verbosity(level)
        if was_enabled:
            datasets.utils.logging.enable_progress_bar()


def _card_configs(card_path: Path) -> list[dict[str, Any]]:
    """The `configs:` section of a dataset card's YAML header (empty when the card has none)."""
    import yaml

    text = card_path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return []
    header = text.split("---", 2)[1]
    configs = (yaml.safe_load(io.StringIO(header)) or {}).get("configs") or []
    return [c for c in configs if isinstance(c, dict)]


def _split_patterns(configs: list[dict[str, Any]], config: str | None,
                    splits: list[str]) -> dict[str, list[str]] | None:
    """The data-file patterns the card gives for `splits` of `config`; None when the card declares no configs."""
    if not configs:
        return None
    wanted = config or "default"
    for entry in configs:
        if entry.get("config_name", "default") == wanted:
            files = entry.get("data_files") or []
            if isinstance(files, (str, list)) and not (files and isinstance(files[0], dict)):
                files = [{"split": "train", "path": files}]
            patterns = {}
            for item in files:
                paths = item.get("path")
                patterns[item.get("split", "train")] = [paths] if isinstance(paths, str) else list(paths or [])
                for pattern in patterns[item.get("split", "train")]:
                    _check_pattern(pattern, wanted)
            missing = [s for s in splits if s not in patterns]
            if missing:
                raise InputError(f"split {missing[0]!r} is not in config {wanted!r} (splits: {', '.join(patterns)})")
            return {s: patterns[s] for s in splits}
    names = ", ".join(str(c.get("config_name", "default")) for c in configs)
    raise InputError(f"config {wanted!r} is not in the dataset card (configs: {names})")


def _check_pattern(pattern: Any, config: str) -> None:
    """A card's data-file pattern must name files inside the snapshot: a relative path, no `..`, no URL
    (`../x`, `/etc/x` or `hf://other/repo` would read files the pinned revision does not hold)."""
    text = str(pattern)
    parts = text.replace("\\", "/").split("/")
    if not isinstance(pattern, str) or not text or text.startswith(("/", "~")) or ".." in parts or "://" in text \
            or (len(text) > 1 and text[1] == ":"):
        raise InputError(f"dataset card: config {config!r}: key 'data_files': {text[:100]!r} is not a path inside "
                         "the dataset's repository")


def _snapshot(hub: Any, repo: str, revision: str, config: str | None, splits: list[str],
              local_only: bool) -> tuple[Path, dict | None]:
    def download(patterns: list[str]) -> Path:
        return Path(hub.snapshot_download(repo, repo_type="dataset", revision=revision, allow_patterns=patterns,
                                          local_files_only=local_only))

    folder = download([CARD])
    patterns = _split_patterns(_card_configs(folder / CARD), config, splits) if (folder / CARD).is_file() else None
    folder = download([CARD] + ([p for ps in patterns.values() for p in ps] if patterns else ["*"]))
    for split, split_patterns in (patterns or {}).items():
        if not any(any(folder.glob(p)) for p in split_patterns):
            raise FileNotFoundError(f"the cached snapshot lacks the files of split {split!r}")
    if patterns is None and not any(p.name != CARD for p in folder.iterdir()):
        raise FileNotFoundError("the cached snapshot has no data files")
    return folder, patterns


def hub_snapshot(repo: str, revision: str, config: str | None, splits: list[str], name: str,
                 local_only: bool = False) -> tuple[Path, dict | None]:
    """The snapshot folder holding `splits` of `repo` at `revision` — found in the cache, else (unless
    `local_only` or HF_HUB_OFFLINE) fetched — and the data files of those splits as the card assigns them
    (None: the card declares no configs; `datasets` infers them)."""
    _, hub = _libraries()
    from huggingface_hub.errors import LocalEntryNotFoundError

    where = f"{repo} (revision {revision[:12]})"
    local_only = local_only or _CACHE_ONLY.get()
    offline = local_only or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    how = (f"fetch it once with network access: `{FETCH_HINT.format(name=name)}` (or `hf download {repo} "
           f"--repo-type dataset --revision {revision}`)")
    try:
        try:  # the cache first: no network round trip (nor retries) for a dataset that is already here
            return _snapshot(hub, repo, revision, config, splits, local_only=True)
        except (LocalEntryNotFoundError, FileNotFoundError):
            if offline:
                raise
        folder, patterns = _snapshot(hub, repo, revision, config, splits, local_only=False)
    except (LocalEntryNotFoundError, FileNotFoundError) as exc:
        state = ("HF_HUB_OFFLINE is set" if not local_only else "only the cache was searched") if offline \
            else "the Hub cannot be reached"
        detail = f" ({exc})" if not isinstance(exc, LocalEntryNotFoundError) else ""
        raise DatasetUnavailable(f"dataset {where} is not in the Hugging Face cache ({hub.constants.HF_HUB_CACHE})"
                                 f"{detail} and {state}; {how}") from None
    except InputError as exc:
        raise InputError(f"dataset {where}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - the Hub's many error classes all mean "cannot get it"
        raise DatasetUnavailable(f"dataset {where}: cannot get it from the Hub ({type(exc).__name__}: {exc}); "
                                 f"{how}") from None
    return folder, patterns


def load_hub_rows(repo: str, revision: str, config: str | None, split: str, name: str,
                  local_only: bool = False) -> list[dict[str, Any]]:
    """Every row of one split of a Hub dataset at a pinned revision."""
    folder, patterns = hub_snapshot(repo, revision, config, [split], name, local_only)
    datasets, _ = _libraries()
    with _quiet():
        if patterns is not None:
            table = datasets.load_dataset(str(folder), data_files={split: patterns[split]}, split=split)
        else:
            table = datasets.load_dataset(str(folder), config, split=split)
    return table.to_list()


FILE_BUILDERS = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".csv": "csv"}


def builder_for(path: Path) -> str:
    """The `datasets` builder that reads a local file (a compression suffix such as .gz is looked through)."""
    suffixes = [s for s in path.suffixes if s not in (".gz", ".bz2", ".xz", ".zst")]
    suffix = suffixes[-1] if suffixes else ""
    if suffix not in FILE_BUILDERS:
        raise InputError(f"{path}: cannot read {suffix or 'this'} files (parquet, jsonl, json or csv)")
    return FILE_BUILDERS[suffix]


def load_file_rows(paths: list[Path]) -> list[dict[str, Any]]:
    """Every row of local data files (parquet, JSONL, CSV; all of one format), in file order."""
    for path in paths:
        if not path.is_file():
            raise InputError(f"{path}: data file not found")
    builders = {builder_for(p) for p in paths}
    if len(builders) > 1:
        raise InputError(f"{paths[0]}: data files must all be of one format (got {', '.join(sorted(builders))})")
    datasets, _ = _libraries()
    with _quiet():
        table = datasets.load_dataset(builders.pop(), data_files=[str(p) for p in paths], split="train")
    return table.to_list()


def package_file(distribution: str, relative: str) -> Path:
    """A data file shipped inside an installed distribution, found through its metadata (never imported)."""
    try:
        dist = md.distribution(distribution)
    except md.PackageNotFoundError:
        raise DatasetUnavailable(f"package {distribution!r} is not installed: pip install {distribution} "
                                 "(or pip install 'harness[datasets]')") from None
    for file in dist.files or []:
        if file.as_posix().endswith(relative):
            return Path(dist.locate_file(file))
    raise DatasetUnavailable(f"package {distribution!r} has no file {relative!r}")


def fetch(repo: str, revision: str, config: str | None, splits: list[str], name: str) -> Path:
    """Download the files of `splits` into the Hugging Face cache (a no-op when they are there)."""
    folder, _ = hub_snapshot(repo, revision, config, splits, name)
    return folder
