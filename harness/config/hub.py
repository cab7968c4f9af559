"""Weights from the Hugging Face Hub: a GGUF (name or glob, split GGUFs included) or a full transformers model.

Files are fetched and kept by `huggingface_hub` in its own cache (`HF_HUB_CACHE`, else `HF_HOME/hub`, else
~/.cache/huggingface/hub): downloads with a progress bar on stderr that resume a dropped connection,
`HF_TOKEN` for gated repos (sent by huggingface_hub itself; the harness never records or prints it, and
scrubs it from the error text it passes on). With `HF_HUB_OFFLINE=1`
everything is read from that cache; when a file is not cached and the Hub cannot be reached, the error
names the repo, file and revision and the `hf download` command that fetches it.

The resolved commit is always known: from the Hub's answer online, from the cache's `refs/<revision>`
offline (or the revision itself when it is a commit hash).
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ModelSourceError

# The files a transformers model needs: weights, config, tokenizer (and chat template). `*.bin` only
# when the repo has no safetensors.
FULL_MODEL_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.tiktoken", "*.txt", "*.jinja"]
_SPLIT = re.compile(r"^(?P<prefix>.*)-(?P<part>\d{5})-of-(?P<count>\d{5})\.gguf$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_TRUE = {"1", "on", "yes", "true"}


def hub_cache_dir() -> Path:
    """huggingface_hub's cache folder, read from the environment now (not when the library was imported)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"


def hub_offline() -> bool:
    """Whether HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set to a true value, as huggingface_hub reads it."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().lower() in _TRUE


def fetch_command(repo: str, pattern: str | None, revision: str | None) -> str:
    """The `hf download` command that puts these files into the cache (run where the Hub is reachable)."""
    parts = ["hf", "download", repo]
    for include in [pattern] if pattern else FULL_MODEL_PATTERNS:
        parts += ["--include", include]
    if revision:
        parts += ["--revision", revision]
    return shlex.join(parts)


@dataclass
class HubFiles:
    """The files a Hub source resolves to: repo-relative name -> size (None when unknown), and which are cached."""

    repo: str
    revision: str
    commit: str
    pattern: str | None
    sizes: dict[str, int | None]
    cached: set[str] = field(default_factory=set)
    online: bool = False

    @property
    def missing(self) -> list[str]:
        return sorted(set(self.sizes) - self.cached)

    @property
    def download_bytes(self) -> int | None:
        sizes = [self.sizes[name] for name in self.missing]
        return None if any(s is None for s in sizes) else sum(sizes)


def _hf():
    """huggingface_hub (imported on first use: `import harness` works without it)."""
    try:
        import huggingface_hub
        import huggingface_hub.errors  # the exception classes, as hf.errors
    except ImportError:
        raise ModelSourceError("huggingface_hub is not installed (pip install 'harness[hub]')") from None
    return huggingface_hub


def select_gguf(names: list[str], pattern: str, what: str) -> list[str]:
    """The GGUF file(s) `pattern` picks among `names`: one file, or every part of one split GGUF (first part
    first). Raises when it picks nothing, several different files, or an incomplete split."""
    matches = sorted(n for n in names if fnmatch.fnmatch(n, pattern) or fnmatch.fnmatch(Path(n).name, pattern))
    if not matches:
        raise ModelSourceError(f"{what} has no file matching {pattern!r}")
    groups: dict[str, list[str]] = {}
    for name in matches:
        split = _SPLIT.match(name)
        groups.setdefault(f"{split['prefix']}-of-{split['count']}" if split else name, []).append(name)
    if len(groups) > 1:
        firsts = [g[0] for g in groups.values()]
        raise ModelSourceError(f"{what} has {len(groups)} GGUF files matching {pattern!r}; set 'file' to one of: "
                               f"{', '.join(firsts[:8])}{' ...' if len(firsts) > 8 else ''}")
    (chosen,) = groups.values()
    split = _SPLIT.match(chosen[0])
    if split:  # every part must be there, whichever one the pattern named
        count = int(split["count"])
        expected = [f"{split['prefix']}-{i:05d}-of-{count:05d}.gguf" for i in range(1, count + 1)]
        absent = [n for n in expected if n not in names]
        if absent:
            raise ModelSourceError(f"{what} lacks parts of the split GGUF {expected[0]}: {', '.join(absent)}")
        return expected
    if not chosen[0].endswith(".gguf"):
        raise ModelSourceError(f"{what}: {chosen[0]} (matched by {pattern!r}) is not a .gguf file")
    return chosen


def _snapshot_names(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}


def _cached_listing(repo: str, revision: str, pattern: str | None, reason: str) -> HubFiles:
    """What the cache holds for (repo, revision), read through huggingface_hub without any network call."""
    hf = _hf()
    where = f"{repo} ({f'file {pattern!r}' if pattern else 'full model'}, revision {revision})"
    how = f"{reason}; fetch it with `{fetch_command(repo, pattern, revision)}` where the Hub is reachable"
    cache = hub_cache_dir()
    try:
        folder = Path(hf.snapshot_download(repo, revision=revision, cache_dir=cache, local_files_only=True))
    except hf.errors.IncompleteSnapshotError as exc:
        raise ModelSourceError(f"{where}: the cached snapshot is incomplete ({exc}): {how}") from None
    except hf.errors.LocalEntryNotFoundError:
        repo_folder = cache / f"models--{repo.replace('/', '--')}"
        if not repo_folder.is_dir():
            raise ModelSourceError(f"{where} is not in the Hugging Face cache {cache}: {how}") from None
        raise ModelSourceError(f"{where}: revision {revision!r} is not in the Hugging Face cache {cache}: "
                               f"{how}") from None
    names = _snapshot_names(folder)
    listing = HubFiles(repo, revision, folder.name, pattern, dict(names), set(names))
    if pattern is not None:
        try:
            chosen = select_gguf(list(names), pattern, f"the cached snapshot {folder.name[:12]} of {repo} "
                                 f"(revision {revision})")
        except ModelSourceError as exc:
            raise ModelSourceError(f"{exc}: {how}") from None
        listing.sizes = {n: names[n] for n in chosen}
        listing.cached = set(chosen)
    elif "config.json" not in names:
        raise ModelSourceError(f"the cached snapshot {folder.name[:12]} of {where} has no config.json: {how}")
    return listing


def _online_listing(repo: str, revision: str, pattern: str | None) -> HubFiles:
    """The Hub's own listing at the revision (a dry run: nothing is downloaded), with what is cached already."""
    hf = _hf()
    from tqdm.auto import tqdm

    class _Quiet(tqdm):  # a dry run only lists: no progress bar for it
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "disable": True})

    # Every GGUF is listed, not only the pattern's: a pattern naming one part of a split GGUF needs the others.
    infos = hf.snapshot_download(repo, revision=revision, cache_dir=hub_cache_dir(), dry_run=True,
                                 allow_patterns=["*.gguf"] if pattern else [*FULL_MODEL_PATTERNS, "*.bin"],
                                 tqdm_class=_Quiet)
    by_name = {i.filename: i for i in infos}
    if pattern is not None:
        chosen = select_gguf(list(by_name), pattern, f"{repo} (revision {revision})")
    else:
        wanted = FULL_MODEL_PATTERNS + ([] if any(n.endswith(".safetensors") for n in by_name) else ["*.bin"])
        chosen = [n for n in by_name if any(fnmatch.fnmatch(n, p) for p in wanted)]
        if "config.json" not in chosen:
            raise ModelSourceError(f"{repo} (revision {revision}) has no config.json: not a transformers model")
    commit = infos[0].commit_hash if infos else revision
    return HubFiles(repo, revision, commit, pattern, {n: by_name[n].file_size for n in chosen},
                    {n for n in chosen if by_name[n].is_cached}, online=True)


def hub_listing(repo: str, revision: str | None, pattern: str | None) -> HubFiles:
    """Which files the source needs, their sizes, and which are cached; never downloads.

    Asks the Hub unless offline; when the Hub cannot be reached, falls back to the cache."""
    revision = revision or "main"
    if hub_offline():
        return _cached_listing(repo, revision, pattern, "HF_HUB_OFFLINE is set")
    hf = _hf()
    try:
        return _online_listing(repo, revision, pattern)
    except (hf.errors.DryRunError, hf.errors.HfHubHTTPError, OSError) as exc:
        # A dry run wraps the Hub's answer (not found, gated, unreachable) in DryRunError.
        cause = exc.__cause__ if isinstance(exc, hf.errors.DryRunError) and exc.__cause__ else exc
        if isinstance(cause, hf.errors.GatedRepoError):
            raise ModelSourceError(f"{repo} is gated: accept its terms on the Hub and set HF_TOKEN") from None
        if isinstance(cause, hf.errors.RepositoryNotFoundError):
            raise ModelSourceError(f"repository {repo} not found on the Hub (or it is private and HF_TOKEN "
                                   "does not grant access)") from None
        if isinstance(cause, hf.errors.RevisionNotFoundError):
            raise ModelSourceError(f"{repo} has no revision {revision!r} on the Hub") from None
        status = getattr(getattr(cause, "response", None), "status_code", None)
        if status in (401, 403):
            raise ModelSourceError(f"{repo}: the Hub refused access ({status}): set HF_TOKEN to a token "
                                   "that may read it") from None
        return _cached_listing(repo, revision, pattern, f"the Hub cannot be reached ({type(cause).__name__})")


def fetch(listing: HubFiles) -> Path:
    """Download what is missing (resumable, progress bar on stderr) and return the snapshot folder."""
    hf = _hf()
    folder = hub_cache_dir() / f"models--{listing.repo.replace('/', '--')}" / "snapshots" / listing.commit
    if not listing.missing:
        return folder
    try:
        return Path(hf.snapshot_download(listing.repo, revision=listing.commit, cache_dir=hub_cache_dir(),
                                         allow_patterns=sorted(listing.sizes)))
    except (hf.errors.HfHubHTTPError, OSError) as exc:
        raise ModelSourceError(
            f"downloading {', '.join(listing.missing)} from {listing.repo} (revision {listing.revision}) failed: "
            f"{_scrub(str(exc)).splitlines()[0]}; run `{fetch_command(listing.repo, listing.pattern, listing.revision)}`"
        ) from None


def _scrub(text: str) -> str:
    token = os.environ.get("HF_TOKEN")
    return text.replace(token, "***") if token else text


def describe_listing(listing: HubFiles) -> dict:
    """What the manifest records of a Hub source: repo, requested revision, resolved commit (never a token)."""
    return {"hf": listing.repo, "revision": listing.revision, "commit": listing.commit, "file": listing.pattern,
            "files": sorted(listing.sizes)}
