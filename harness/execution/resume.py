"""Resuming an interrupted run: what was already recorded, and whether the run can go on as it started.

A run killed at any point (Ctrl-C, SIGKILL, a crash, a reboot) leaves records.jsonl with every finished
request and at most one torn last line. `harness run --resume RUN_DIR` reuses the run's manifest (models,
suites, repetitions, settings), drops a torn last line, skips every (model, suite, task, repetition)
already recorded — failures included, unless `--retry-failed`, which removes them so they run again —
and refuses to go on if a model's configuration or a suite's content changed since the run began.
Records kept are never rewritten: the file is rewritten (atomically) only to drop lines, byte for byte
otherwise.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config.redact import public_config, redact_config
from harness.errors import InputError, RunLocked
from harness.store.atomic_files import atomic_write_bytes, child_path
from harness.store.manifest import MANIFEST_FILE, read_manifest
from harness.store.records import RECORDS_FILE, Key, accepted_attempts, check_record, record_key
from harness.store.runlock import LockHeld, RunLock


@dataclass
class ResumeState:
    """An interrupted run, ready to go on."""

    run_dir: Path
    manifest: dict[str, Any]
    done: set[Key] = field(default_factory=set)
    dropped_lines: int = 0
    lock: RunLock | None = None  # held from before the records are read until the run ends


def lock_run(run_dir: Path, flag: str) -> RunLock:
    """Take `run_dir`'s run lock, or `InputError` in one line: `RunLocked` naming the holder (pid, host, since)
    when another live process holds it, or the OS error when the folder cannot be written."""
    try:
        return RunLock(run_dir).acquire()
    except LockHeld as exc:
        raise RunLocked(f"{flag} {exc}; wait for it to end, or stop it (its lock goes with it)") from None
    except OSError as exc:
        raise InputError(f"{flag} {run_dir}: cannot write to the run folder: [Errno {exc.errno}] {exc.strerror}") \
            from None


def _check_manifest(run_dir: Path, manifest: Any) -> None:
    """The keys a resume reads, present with the right types; else `InputError` naming run.json and the key."""
    where = run_dir / MANIFEST_FILE
    if not isinstance(manifest, dict):
        raise InputError(f"{where}: expected a JSON object; the run cannot be resumed")
    for key, kind in (("run_id", str), ("models_file", str), ("suites", list), ("settings", dict)):
        if not isinstance(manifest.get(key), kind):
            raise InputError(f"{where}: key '{key}': missing or not a {kind.__name__}; the run cannot be resumed")
    for key, setting_type in (("models", list), ("repeat", int)):
        if not isinstance(manifest["settings"].get(key), setting_type):
            raise InputError(f"{where}: key 'settings.{key}': missing or not a {setting_type.__name__}; the run cannot "
                             "be resumed")
    for index, suite in enumerate(manifest["suites"]):
        if not isinstance(suite, dict) or not all(isinstance(suite.get(k), str) for k in ("name", "source", "sha256")):
            raise InputError(f"{where}: key 'suites.{index}': needs name, source and sha256; the run cannot be resumed")


def prepare_resume(run_dir: Path, retry_failed: bool) -> ResumeState:
    """Take the run's lock, read the run, drop a torn last line (and failed records with `retry_failed`), list
    what is done. The lock stays held (`state.lock`) for the resumed run."""
    run_dir = Path(run_dir)
    if not (run_dir / MANIFEST_FILE).is_file():
        raise InputError(f"--resume {run_dir}: not a run folder (no {MANIFEST_FILE})")
    lock = lock_run(run_dir, "--resume")  # first: what is read below may not change under this process
    try:
        state = _read_run(run_dir, retry_failed)
    except BaseException:
        lock.release()
        raise
    state.lock = lock
    return state


def _read_run(run_dir: Path, retry_failed: bool) -> ResumeState:
    try:
        manifest = read_manifest(run_dir)
    except (OSError, ValueError) as exc:
        raise InputError(f"--resume {run_dir}: cannot read {MANIFEST_FILE}: {exc}") from None
    _check_manifest(run_dir, manifest)
    try:  # the run id names the report: it must stay a plain file name
        child_path(run_dir, manifest["run_id"])
    except ValueError as exc:
        raise InputError(f"{run_dir / MANIFEST_FILE}: key 'run_id': {exc}") from None
    return _read_done(run_dir, manifest, retry_failed)


def _read_done(run_dir: Path, manifest: dict[str, Any], retry_failed: bool) -> ResumeState:
    path = run_dir / RECORDS_FILE
    raw = path.read_bytes() if path.exists() else b""
    lines = raw.split(b"\n")
    kept: list[bytes] = []
    recorded: list[dict[str, Any]] = []
    dropped = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if any(rest.strip() for rest in lines[number:]):
                raise InputError(f"{path}:{number}: malformed record line; the run cannot be resumed") from None
            print(f"warning: {path}:{number}: dropped a torn last line (the run was killed mid-write)", file=sys.stderr)
            dropped += 1
            continue
        try:
            check_record(record, f"{path}:{number}")
        except ValueError as exc:
            raise InputError(f"{exc}; the run cannot be resumed") from None
        if retry_failed and record.get("error") is not None:
            dropped += 1
            continue
        kept.append(line)
        recorded.append(record)
    # a superseded attempt's records (a level run again with more clients) do not make a request done
    done: set[Key] = {record_key(record) for record in accepted_attempts(recorded)}
    if dropped:
        try:
            atomic_write_bytes(path, b"".join(line + b"\n" for line in kept))
        except OSError as exc:
            raise InputError(f"--resume {run_dir}: cannot rewrite {RECORDS_FILE}: [Errno {exc.errno}] "
                             f"{exc.strerror}") from None
    return ResumeState(run_dir=run_dir, manifest=manifest, done=done, dropped_lines=dropped)


def _first_difference(old: Any, new: Any, prefix: str = "") -> str | None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            found = _first_difference(old.get(key), new.get(key), f"{prefix}{key}.")
            if found:
                return found
        return None
    return prefix.rstrip(".") if old != new else None


# Keys that cannot change what a request returns or costs: editing them does not block a resume.
NEUTRAL_KEYS = ("description",)


def _results_config(config: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in config.items() if key not in NEUTRAL_KEYS}


def check_unchanged(state: ResumeState, models: list[Any], suites: list[Any]) -> None:
    """Refuse to resume when a model's resolved configuration or a suite's content hash changed."""
    recorded = state.manifest.get("models", {})
    for model in models:
        entry = recorded.get(model.name)
        if entry is None:
            continue
        changed = _first_difference(_results_config(redact_config(entry.get("config") or {})),
                                    _results_config(public_config(model)))
        if changed:
            raise InputError(f"--resume {state.run_dir}: model '{model.name}' changed since the run began "
                             f"(key '{changed}'); start a new run instead")
    hashes = {s["name"]: s["sha256"] for s in state.manifest.get("suites", [])}
    for suite in suites:
        if hashes.get(suite.name) != suite.sha256:
            raise InputError(f"--resume {state.run_dir}: suite '{suite.name}' changed since the run began "
                             f"(sha256 {hashes.get(suite.name, '?')[:12]} then, {suite.sha256[:12]} now); "
                             "start a new run instead")
