"""The harness's own exceptions and its exit-code scheme.

Every error a user can cause by input (a config, a suite, a path) is a `InputError`: the CLI prints its
one-line message and exits with `EXIT_BAD_INPUT`, without a traceback unless `--debug` is given.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURES_RECORDED = 1
EXIT_BAD_INPUT = 2
EXIT_REGRESSION = 3
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT); a stop by another signal exits 128 + its number (SIGTERM 143, SIGHUP 129)
EXIT_OUTPUT_UNWRITABLE = 74  # the run stopped because its output folder could not be written (sysexits EX_IOERR)


def exit_code_for_signal(signum: int) -> int:
    """The exit code of a run stopped by signal `signum`: 128 + its number, as a shell reports a signal death."""
    return 128 + int(signum)


# What each exit code means (docs/reference/errors.md is generated from this).
EXIT_MEANINGS = {
    EXIT_OK: "done, no failed request",
    EXIT_FAILURES_RECORDED: "done, but some requests or models failed (each is recorded)",
    EXIT_BAD_INPUT: "bad input: nothing was run (one line names the file and the key)",
    EXIT_REGRESSION: "a regression against the baseline (`compare`, `nightly`)",
    EXIT_OUTPUT_UNWRITABLE: "stopped: the results folder could not be written (disk full, read-only); records "
                            "so far are valid and the resume command is printed",
    EXIT_INTERRUPTED: "interrupted by Ctrl-C (SIGINT); the resume command is printed",
    128 + 15: "stopped by SIGTERM (a supervisor, `docker stop`, a CI timeout); the resume command is printed",
    128 + 1: "stopped by SIGHUP (the terminal closed); the resume command is printed",
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


class RunLocked(InputError):
    """Another live process holds the run folder (its lock); the message names the holder."""


class OutputUnwritable(HarnessError):
    """The run's output folder stopped accepting writes (disk full, quota, read-only): the run stopped there."""

    def __init__(self, folder: str, error: OSError) -> None:
        self.folder = folder
        self.error = error
        super().__init__(f"{folder}: cannot write: [Errno {error.errno}] {error.strerror}")


class BackendUnavailable(HarnessError):
    """A backend's optional runtime package is not installed; the message names the extra to install."""


class ModelLoadError(HarnessError):
    """The runtime refused to load a model (corrupt file, unsupported architecture, out of memory)."""


class CheckerError(HarnessError):
    """A checker could not decide a verdict; recorded as verdict `error`, never raised past the runner."""
