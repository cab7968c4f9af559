"""RunSpec: the command line's flags and the Python API's values validate the same way, and a bad value is
one message naming the flag (command line) or the setting (Python)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.commands.run import SPEC_FLAGS, spec_from_args
from harness.cli.main import build_parser
from harness.errors import InputError
from harness.execution.run_spec import CostSpec, RunSpec, build_spec


def _spec(*flags: str) -> RunSpec:
    return spec_from_args(build_parser().parse_args(["run", *flags]))


def test_flags_become_the_spec():
    spec = _spec("--suite", "smoke", "arith", "--repeat", "3", "--only", "a", "--sample", "5", "--seed", "7",
                 "--pue", "1.4", "--idle-seconds", "0", "--profile", "sweep:1,2", "--slo", "ttft_ms=500",
                 "--no-report", "--out", "o")
    assert spec.suites == ["smoke", "arith"] and spec.repeat == 3 and spec.only == ["a"]
    assert (spec.sample, spec.seed, spec.cost.pue, spec.energy.idle_s) == (5, 7, 1.4, 0)
    assert [level.concurrency for level in spec.levels()] == [1, 2]
    assert spec.slos() == {"ttft_s": 0.5}
    assert spec.out_dir == Path("o") and spec.write_report is False


def test_defaults_are_the_command_lines_defaults():
    assert _spec() == RunSpec()
    assert RunSpec().suite_names() == ["smoke"] and RunSpec(workload="in=10,out=5").suite_names() == []


@pytest.mark.parametrize("flags, message", [
    (["--repeat", "0"], "--repeat 0: "),
    (["--client-processes", "0"], "--client-processes 0: "),
    (["--pue", "0.5"], "--pue 0.5: "),
    (["--utilisation", "1.5"], "--utilisation 1.5: "),
    (["--idle-seconds", "-1"], "--idle-seconds -1.0: "),
    (["--slo", "speed=3"], "--slo speed=3: unknown SLO"),
])
def test_a_bad_flag_is_one_message_naming_it(flags, message):
    with pytest.raises(InputError) as caught:
        _spec(*flags)
    assert str(caught.value).startswith(message), str(caught.value)


def test_every_setting_has_a_flag_name():
    settings = {name for name in RunSpec.model_fields if name not in ("energy", "cost", "write_report")}
    settings |= {f"energy.{n}" for n in ("meter", "idle_s", "cpu_w_per_core")}
    settings |= {f"cost.{n}" for n in CostSpec.model_fields}
    assert settings <= set(SPEC_FLAGS)


def test_python_callers_get_the_setting_name():
    with pytest.raises(InputError, match=r"^energy.idle_s -5: "):
        build_spec({"energy": {"idle_s": -5}})
