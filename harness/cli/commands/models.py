"""`harness models`: the configured models, where each one's weights come from, and whether it can run here."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from harness.backends import backend_availability
from harness.config.model_config import has_gguf_source
from harness.config.models_file import load_models_config, models_file_path
from harness.config.providers import missing_key_env, resolve_endpoint
from harness.config.sources import source_status
from harness.errors import EXIT_OK


def _size(size_bytes: int | None) -> str:
    if size_bytes is None:
        return ""
    return f"{size_bytes / 1e9:.2f} GB" if size_bytes >= 1e9 else f"{size_bytes / 1e6:.1f} MB"



def execute(args: argparse.Namespace) -> int:
    """List configured models: where each one's weights come from (resolved file, size, cached or what a run
    would download) or which endpoint it calls, and whether it can run here, with the reason when not."""
    config = load_models_config(models_file_path(args.models))
    table = Table(title=f"Models in {config.source_path}", title_justify="left")
    for header in ("name", "kind", "prompt", "source", "resolved file", "size", "weights", "can run", "detail"):
        table.add_column(header, overflow="fold")  # paths are shown whole, folded across lines when narrow
    for model in config.models:
        ok_runtime, runtime_reason = backend_availability(model.kind)
        if has_gguf_source(model) or model.model_dir is not None:
            status = source_status(model)
            source, resolved, size, state = status.source, status.file, _size(status.size_bytes), status.state
            ok_weights, weights_reason = status.ok, status.detail
        else:
            key_env = missing_key_env(model)
            source, resolved, size, state = f"endpoint {model.model}", resolve_endpoint(model).base_url or "", "", ""
            ok_weights = key_env is None
            weights_reason = f"set {key_env} to run it" if key_env else ""
        ok = ok_runtime and ok_weights
        detail = runtime_reason if ok_weights and not ok_runtime else weights_reason
        table.add_row(model.name, model.kind, model.prompt_style, source, resolved, size, state,
                      "[green]yes[/]" if ok else "[red]no[/]", detail)
    Console().print(table)
    return EXIT_OK
