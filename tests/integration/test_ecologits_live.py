"""EcoLogits estimates for API models (the real library and its bundled data, with the network blocked),
the harness-to-EcoLogits model mapping, and the local carbon model."""

from __future__ import annotations

import socket

import pytest

from harness.energy import ecologits


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test: EcoLogits must work from its wheel's data."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_estimate_is_offline_in_joules_and_grams(no_network):
    mapping = ecologits.resolve("openai", "openai", "gpt-4o-mini")
    short = ecologits.estimate(mapping, 50, 1.0)
    long = ecologits.estimate(mapping, 500, 10.0)
    assert short["source"] == "estimated (ecologits)" and short["model"] == "openai/gpt-4o-mini"
    for estimate in (short, long):
        assert 0 < estimate["energy_j"]["min"] < estimate["energy_j"]["max"]
        assert 0 < estimate["gco2e"]["min"] < estimate["gco2e"]["max"]
        # units: usage GWP = usage energy (J, PUE included) x the datacentre's mix (USA, g/kWh) / 3.6e6
        manifest = ecologits.assumptions(mapping)
        assert estimate["usage_gco2e"]["min"] == pytest.approx(
            estimate["energy_j"]["min"] * manifest["grid_gco2_per_kwh"] / 3.6e6, rel=1e-9)
        assert estimate["gco2e"]["max"] == pytest.approx(estimate["usage_gco2e"]["max"] + estimate["embodied_gco2e"]["max"])
    assert long["energy_j"]["min"] > 5 * short["energy_j"]["min"]  # ten times the tokens
    assert ecologits.estimate(mapping, None, 1.0)["source"] == "unavailable"
