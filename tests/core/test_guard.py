"""The spike guard: published totals are monotonic and within the power bound of the truth."""

from __future__ import annotations

from decimal import Decimal
import random

import pytest

from custom_components.landis_gyr_optical.meter.guard import TotalGuard, Verdict, is_energy_unit

KEY = "1-0:1.8.0"
HOUR = 3600.0


def test_first_value_needs_confirmation() -> None:
    guard = TotalGuard(60)
    assert guard.check(KEY, Decimal("100.000"), "kWh", 0) is Verdict.HELD_FIRST
    assert guard.published(KEY) is None and guard.held(KEY).value == Decimal("100.000")
    assert guard.check(KEY, Decimal("100.010"), "kWh", 60) is Verdict.CONFIRMED
    assert guard.published(KEY).value == Decimal("100.010")


def test_within_bound_published_spike_held_until_confirmed() -> None:
    guard = TotalGuard(60)
    guard.restore({KEY: ("100.000", 0.0)})
    # 60 kW for one minute is 1 kWh.
    assert guard.check(KEY, Decimal("100.900"), "kWh", 60) is Verdict.PUBLISHED
    assert guard.check(KEY, Decimal("500.000"), "kWh", 120) is Verdict.HELD_JUMP
    assert guard.published(KEY).value == Decimal("100.900")
    # A following read that agrees with the jump confirms it.
    assert guard.check(KEY, Decimal("500.100"), "kWh", 180) is Verdict.CONFIRMED
    assert guard.published(KEY).value == Decimal("500.100")


def test_lower_and_zero_never_published() -> None:
    guard = TotalGuard(60)
    guard.restore({KEY: ("100.000", 0.0)})
    assert guard.check(KEY, Decimal(0), "kWh", 60) is Verdict.HELD_LOWER
    assert guard.check(KEY, Decimal(0), "kWh", 120) is Verdict.HELD_LOWER
    assert guard.check(KEY, Decimal("99.000"), "kWh", 180) is Verdict.HELD_LOWER
    assert guard.published(KEY).value == Decimal("100.000")
    assert guard.rejected() == 3
    assert guard.counts() == {KEY: {"held_lower": 3}}


def test_new_meter_may_publish_zero() -> None:
    guard = TotalGuard(60)
    guard.check(KEY, Decimal("0.000"), "kWh", 0)
    assert guard.check(KEY, Decimal("0.000"), "kWh", 60) is Verdict.CONFIRMED


def test_unverified_readouts_need_agreement() -> None:
    guard = TotalGuard(60)
    guard.restore({KEY: ("100.000", 0.0)})
    assert guard.check(KEY, Decimal("100.001"), "kWh", 1, verified=False) is Verdict.HELD_UNVERIFIED
    assert guard.check(KEY, Decimal("100.002"), "kWh", 2, verified=False) is Verdict.CONFIRMED
    assert guard.check(KEY, Decimal(900), "kWh", 3, verified=False) is Verdict.HELD_JUMP


def test_units_and_rounding_step() -> None:
    guard = TotalGuard(1)
    assert guard.bound("Wh", HOUR) == Decimal(1000)
    assert guard.bound("MWh", HOUR) == Decimal("0.001")
    assert guard.bound("kWh", -5) == 0
    guard.restore({KEY: ("10.1", 0.0)})
    # One step of the last printed digit is always allowed (a meter printing 0.1 kWh).
    assert guard.check(KEY, Decimal("10.2"), "kWh", 1) is Verdict.PUBLISHED
    assert is_energy_unit("kvarh") and not is_energy_unit("kW") and not is_energy_unit(None)


def test_restore_skips_malformed() -> None:
    guard = TotalGuard(60)
    guard.restore({"a": ("x", 0.0), "b": ("NaN", 0.0), "c": [1], KEY: ("5", "7.5")})
    assert guard.references() == {KEY: ("5", 7.5)}
    with pytest.raises(ValueError):
        TotalGuard(0)


@pytest.mark.parametrize("seed", range(20))
def test_soak_monotonic_and_bounded(seed: int) -> None:
    """Random power, random corrupted reads: what goes out is monotonic and near the truth.

    The model of the guarantee: a corruption the checksum missed is not repeated the same way
    by the very next read (two readouts garbled into agreeing values).
    """
    rng = random.Random(seed)
    power = 60.0
    guard = TotalGuard(power)
    truth = Decimal("1000.000")
    at = 0.0
    published: list[tuple[Decimal, Decimal, float]] = []
    last_at = 0.0
    last_offset = Decimal(0)
    for _ in range(500):
        step = rng.choice([1.0, 10.0, 60.0, 600.0])
        at += step
        truth += (Decimal(str(rng.uniform(0, power))) * Decimal(str(step)) / Decimal(3600)).quantize(
            Decimal("0.001")
        )
        offset = Decimal(0)
        if rng.random() < 0.1:
            # A corruption the checksum missed: any digit changed by one.
            offset = Decimal(rng.choice([-1, 1])) * Decimal(10) ** rng.randint(-3, 5)
            if offset == last_offset:
                offset = -offset
        last_offset = offset
        reading = max(truth + offset, Decimal(0))
        verdict = guard.check(KEY, reading, "kWh", at)
        if verdict.published:
            published.append((reading, truth, at - last_at))
            last_at = at
    values = [value for value, _, _ in published]
    assert values == sorted(values)
    for value, real, elapsed in published:
        assert abs(value - real) <= guard.bound("kWh", elapsed) + Decimal("0.001")
    assert len(published) > 300


def test_only_the_next_readout_confirms() -> None:
    """A phantom register (a corrupted address) that recurs later must not confirm itself.

    The same bit flip can turn ``1.8.1`` into ``5.8.1`` again hours later; the held value
    from back then is no confirmation: only the readout right after it counts.
    """
    guard = TotalGuard(60)
    assert guard.check("1-0:5.8.1", Decimal("12503.345"), "kWh", 0) is Verdict.HELD_FIRST
    for at in (10, 20, 30):
        assert guard.check("1-0:1.8.0", Decimal(100), "kWh", at).published or at == 10
    assert guard.check("1-0:5.8.1", Decimal("12503.400"), "kWh", 40) is Verdict.HELD_FIRST
    assert guard.published("1-0:5.8.1") is None
    # The readout right after the held one does confirm it.
    assert guard.check("1-0:5.8.1", Decimal("12503.401"), "kWh", 50) is Verdict.CONFIRMED
