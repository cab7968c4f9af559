"""Load a models file (models.yaml): each entry validated by the config class of its `kind`, with one
message naming the file, the entry and the key on the first problem."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.config.kinds import KINDS
from harness.config.model_config import ModelConfig, StrictModel
from harness.config.yaml_file import format_validation_error, load_yaml_file
from harness.errors import ConfigError


class ModelsConfig(StrictModel):
    """The validated content of a models file, with the path it came from."""

    source_path: Path
    models: tuple[ModelConfig, ...]

    def select(self, names: list[str] | None) -> list[ModelConfig]:
        """The models named in `names` (all when None), in file order; unknown names are an error."""
        if not names:
            return list(self.models)
        known = {m.name for m in self.models}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ConfigError(
                f"{self.source_path}: no model named {', '.join(map(repr, unknown))} "
                f"(configured: {', '.join(sorted(known))})"
            )
        return [m for m in self.models if m.name in names]


def models_file_path(explicit: str | Path | None) -> Path:
    """The models file to use: the one given, else $HARNESS_MODELS, else ./models.yaml."""
    return Path(explicit or os.environ.get("HARNESS_MODELS") or "models.yaml")


def _validate_entry(path: Path, index: int, raw: Any) -> ModelConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: model entry {index + 1}: expected a mapping of keys, got {type(raw).__name__}")
    label = f"model '{raw['name']}'" if isinstance(raw.get("name"), str) else f"model entry {index + 1}"
    kind = raw.get("kind")
    if kind is None:
        raise ConfigError(f"{path}: {label}: key 'kind': required (one of: {', '.join(KINDS)})")
    if kind not in KINDS:
        raise ConfigError(f"{path}: {label}: key 'kind': unknown kind {kind!r} (one of: {', '.join(KINDS)})")
    try:
        return KINDS[kind].config.model_validate(raw, context={"base_dir": path.parent})
    except ValidationError as exc:
        raise ConfigError(f"{path}: {label}: {format_validation_error(exc)}") from None


def load_models_config(path: Path) -> ModelsConfig:
    """Load and validate a models file; raise `ConfigError` naming file, entry and key on the first problem."""
    path = Path(path)
    raw = load_yaml_file(path, "models file")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with a 'models' list at the top level")
    unknown = sorted(set(raw) - {"models"})
    if unknown:
        raise ConfigError(f"{path}: key '{unknown[0]}': unknown top-level key (allowed: models)")
    entries = raw.get("models")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: key 'models': expected a non-empty list of model entries")
    models = [_validate_entry(path, i, entry) for i, entry in enumerate(entries)]
    seen: set[str] = set()
    for model in models:
        if model.name in seen:
            raise ConfigError(f"{path}: model '{model.name}': key 'name': duplicate model name")
        seen.add(model.name)
    return ModelsConfig(source_path=path, models=tuple(models))
