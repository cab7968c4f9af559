"""The recognised benchmarks as `harness suites` lists them and `harness fetch` caches them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.config.yaml_file import load_yaml_file
from harness.errors import ConfigError, InputError, SuiteError
from harness.suites.dataset_rows import DatasetUnavailable, cache_only
from harness.suites.dataset_suite import HubSource, PackageSource, fetch_suite, parse_spec
from harness.suites.loader import dataset_suites, load_suite_file


def _spec(path: Path) -> Any:
    try:
        raw = load_yaml_file(path, "suite file")
    except ConfigError as exc:
        raise SuiteError(str(exc)) from None
    if not isinstance(raw, dict) or raw.get("kind") != "dataset":
        raise SuiteError(f"{path}: not a suite of kind: dataset")
    return parse_spec(raw, path)


def describe_dataset(path: Path) -> dict[str, str]:
    """One row of the benchmark table: source, revision, split, item count, licence, hash, and whether it
    loads here (a Hub dataset that is not cached says how to fetch it)."""
    spec = _spec(path)
    source = spec.source
    if isinstance(source, HubSource):
        where = source.hub + (f" ({source.config})" if source.config else "")
        revision, split = source.revision[:12], source.split
    elif isinstance(source, PackageSource):
        where, revision, split = f"PyPI {source.package}", "-", "-"
    else:
        where, revision, split = ", ".join(source.files), "-", "-"
    row = {"source": where, "revision": revision, "split": split, "licence": spec.licence or "-",
           "items": "-", "sha256": "-", "here": "yes"}
    try:
        with cache_only():
            suite = load_suite_file(path)
    except DatasetUnavailable:
        row["here"] = f"not cached: harness fetch {spec.name}"
        row["items"] = f"{spec.items:,}" if spec.items else "-"
        return row
    if isinstance(source, PackageSource):
        row["revision"] = str((suite.dataset or {}).get("revision") or "-")
    few = f", {suite.dataset['shots']}-shot" if suite.dataset and suite.dataset.get("shots") else ""
    row.update(items=f"{len(suite.tasks):,}{few}", sha256=suite.sha256[:12])
    return row


def fetch_dataset(name_or_path: str) -> str:
    """Download a Hub benchmark's splits into the Hugging Face cache and check that it loads; what it holds."""
    benchmarks = dataset_suites()
    path = benchmarks.get(name_or_path) or Path(name_or_path)
    if not path.is_file():
        raise InputError(f"harness fetch: unknown benchmark {name_or_path!r} (one of: {', '.join(benchmarks)}; "
                         "or a dataset suite file)")
    spec = _spec(path)
    folder = fetch_suite(spec)
    suite = load_suite_file(path)
    where = f"cached in {folder}" if folder is not None else "nothing to fetch"
    if spec.items is not None and suite.dataset["n_rows"] != spec.items:
        raise InputError(f"{path}: key 'items': the dataset has {suite.dataset['n_rows']:,} rows at this revision, "
                         f"the suite declares {spec.items:,}")
    return f"{len(suite.tasks):,} items, sha256 {suite.sha256[:12]}; {where}"
