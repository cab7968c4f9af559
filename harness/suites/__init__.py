"""Task suites: versioned data files of tasks, each with a prompt, an expected answer and a checker.

A suite file is YAML (a mapping with `name`, `version`, `description`, optional `defaults`, and `tasks`) or
JSONL (one task per line; the suite is named after the file), or a `kind: dataset` file whose tasks are made
from a dataset's rows (`harness.suites.dataset_suite`; the recognised benchmarks are such files, in
`datasets/`). The suite's content hash — sha256 of the canonical JSON of its validated tasks, for a
dataset suite of the dataset's id, revision and split, and of how the replies are scored (every checker's
kind, options with their defaults, code digest and scoring packages: `harness.checkers.scoring_identity`) —
is recorded with every run, so two runs are comparable only when their hashes match. A `Selection` (`--limit`, `--sample`, `--subject`, `--shots`)
takes part of a suite; the hash then covers exactly the items, exemplars and prompts taken.

Stage rule: it may import checkers, config, store, errors, host.
"""

from harness.suites.loader import (
    builtin_suites,
    dataset_suites,
    load_suite,
    load_suite_file,
    reload_suite,
    workload_suite,
)
from harness.suites.selection import Selection, select_positions
from harness.suites.task import (
    BUILTIN_DIR,
    DATASETS_DIR,
    DEFAULT_COMPLETION_STOP,
    DEFAULT_COMPLETION_TEMPLATE,
    Message,
    Suite,
    Task,
    WorkloadShape,
)

__all__ = ["BUILTIN_DIR", "DATASETS_DIR", "DEFAULT_COMPLETION_STOP", "DEFAULT_COMPLETION_TEMPLATE", "Message", "Selection", "Suite", "Task", "WorkloadShape", "builtin_suites", "dataset_suites", "load_suite", "load_suite_file", "reload_suite", "select_positions", "workload_suite"]
