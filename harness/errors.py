"""The harness's own exceptions and its exit-code scheme.

Every error a user can cause by input (a config, a suite, a path) is a `InputError`: the CLI prints its
one-line message and exits with `EXIT_BAD_INPUT`, without a traceback unless `--debug` is given.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURES_RECORDED = 1
EXIT_BAD_INPUT = 2
EXIT_REGRESSION = 3
EXIT_INTERRUPTED = 130

# What each exit code means (docs/reference/errors.md is generated from this).
EXIT_MEANINGS = {
    EXIT_OK: "done, no failed request",
    EXIT_FAILURES_RECORDED: "done, but some requests or models failed (each is recorded)",
    EXIT_BAD_INPUT: "bad input: nothing was run (one line names the file and the key)",
    EXIT_REGRESSION: "a regression against the baseline (`compare`, `nightly`)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C); the resume command is printed",
}


class HarnessError(Exception):
    """Base class of every error the harness raises on purpose."""


class InputError(HarnessError):
    """Bad input from the user: a config file, a suite, a command-line value.

    The message names the file and the key (or task) at fault, so one line is enough to fix it.
    """


class ConfigError(InputError):
    """models.yaml (or another config file) is malformed or fails validation."""


class SuiteError(InputError):
    """A suite file is unknown, malformed, or fails validation."""


class ModelSourceError(InputError):
    """A model's weights cannot be found: missing file, package not installed, not a GGUF."""


class BackendUnavailable(HarnessError):
    """A backend's optional runtime package is not installed; the message names the extra to install."""


class ModelLoadError(HarnessError):
    """The runtime refused to load a model (corrupt file, unsupported architecture, out of memory)."""


class CheckerError(HarnessError):
    """A checker could not decide a verdict; recorded as verdict `error`, never raised past the runner."""
