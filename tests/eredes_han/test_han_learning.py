"""HAN reads that learn: refused blocks split along access groups, the map kept between readers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from custom_components.landis_gyr_optical.meter.eredes_han.client import (
    Block,
    HanReader,
    HanSettings,
    RegisterNotEnabledError,
    line_candidates,
    plan_blocks,
    poll_addresses,
    probe_eredes,
    read_time_limit,
    split_refused,
    worst_case_requests,
)
from custom_components.landis_gyr_optical.meter.eredes_han.learned import HanMap
from custom_components.landis_gyr_optical.meter.eredes_han.registers import (
    ACCESS_GROUPS,
    BY_ADDRESS,
    access_group,
    lookup,
)
from custom_components.landis_gyr_optical.meter.line import Framing
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from tests.simulator.eredes import (
    PARTLY_REFUSED,
    PtyHanMeter,
    TcpHanMeter,
    all_registers,
    partly_refused_profile,
    single_phase_profile,
    three_phase_profile,
)

FAST = HanSettings(request_pause=0.01, response_timeout=0.5)
THREE_PHASE_POLL = poll_addresses(three_phase=True)


def test_access_groups_cover_the_poll_without_overlap() -> None:
    covered = [address for group in ACCESS_GROUPS for address in group]
    assert len(covered) == len(set(covered))
    assert set(THREE_PHASE_POLL) <= set(covered)
    assert set(covered) <= set(BY_ADDRESS)
    assert access_group(0x0075) == range(0x0073, 0x0079)
    assert access_group(0x0100) == range(0x0100, 0x0101)


def test_a_refused_block_is_split_along_its_access_groups() -> None:
    block = Block(lookup(range(0x006C, 0x0080)))
    assert [str(part) for part in split_refused(block)] == [
        "0x006Cx7",
        "0x0073x6",
        "0x0079x3",
        "0x007Cx3",
        "0x007Fx1",
    ]
    inside = Block(lookup(range(0x000C, 0x0012)))
    assert [str(part) for part in split_refused(inside)] == [f"0x{a:04X}x1" for a in range(0x000C, 0x0012)]


def test_worst_case_requests_of_a_three_phase_read() -> None:
    blocks = plan_blocks(THREE_PHASE_POLL)
    assert [str(block) for block in blocks] == [
        "0x0001x6",
        "0x000Bx7",
        "0x0016x12",
        "0x0026x14",
        "0x006Cx20",
        "0x00B4x2",
    ]
    # The phase probe; the 6 blocks; then per block its parts (groups, or registers when the
    # block is one group) and the registers of every group of more than one.
    parts = {"0x0001": 6, "0x000B": 2 + 6, "0x0016": 3 + 12, "0x0026": 2 + 14, "0x006C": 5 + 19, "0x00B4": 2}
    assert worst_case_requests(THREE_PHASE_POLL) == 1 + 6 + sum(parts.values()) == 78


def test_read_time_limit_follows_the_requests() -> None:
    settings = HanSettings()
    one = settings.request_time() * (settings.retries + 1)
    assert settings.request_time() == pytest.approx(1.0 + 2.0 + 0.5 + 256 * 10 / 9600)
    assert read_time_limit(settings) == pytest.approx(one * worst_case_requests(THREE_PHASE_POLL))
    assert read_time_limit(settings, framings=2, bauds=2) == pytest.approx(
        read_time_limit(settings) + 3 * one
    )
    # A read that refuses a third of the map takes 39 requests of about 1.1 s: far inside.
    assert read_time_limit(settings) > 39 * 1.2 * 3


async def test_partly_refused_meter_is_learned_once_and_read_around() -> None:
    async with PtyHanMeter(partly_refused_profile()) as meter:
        reader = HanReader(meter.port, FAST)
        first = await reader.poll()
        assert reader.learned == HanMap(True, PARTLY_REFUSED, frozenset())
        learning = reader.requests
        # Phase probe, 6 blocks, 10 groups of the 3 refused blocks, 22 refused registers alone.
        assert learning == 1 + 6 + 10 + 22
        assert learning <= worst_case_requests(THREE_PHASE_POLL)
        assert value(first, "1-0:1.8.0") == Decimal("1234.567")
        assert value(first, "1-0:52.7.0") == Decimal("231.5")
        assert ObisCode.parse("1-0:21.7.0") not in first.current
        assert ObisCode.parse("1-0:5.8.0") not in first.current
        second = await reader.poll()
        assert reader.requests == 7
        assert second.current.keys() == first.current.keys()
        # A new reader that starts from the map (the entry after a restart) asks the same 7.
        fresh = HanReader(meter.port, FAST, known=reader.learned)
        before = len(meter.requests)
        third = await fresh.poll()
        assert fresh.requests == 7 == len(meter.requests) - before
        assert [(r.address, r.quantity) for r in meter.requests[before:]] == [
            (0x0016, 2),
            (0x0001, 6),
            (0x000B, 1),
            (0x0026, 14),
            (0x006C, 7),
            (0x0079, 7),
            (0x00B4, 2),
        ]
        assert third.current.keys() == first.current.keys()
        assert meter.errors == []


async def test_access_lost_after_a_power_cut_fails_the_poll_with_what_to_ask() -> None:
    """Replies ``84 81`` on everything after a power cut: the known map does not hide it."""
    async with PtyHanMeter(partly_refused_profile()) as meter:
        reader = HanReader(meter.port, FAST)
        await reader.poll()
        meter.profile = three_phase_profile(denied=all_registers())
        with pytest.raises(RegisterNotEnabledError, match="after a long power cut or a change of contract"):
            await reader.poll()
        # The energy block (the totals, as the known map leaves the rest of it out), then
        # energy import alone: refused, so the poll stops there.
        assert reader.requests == 2
        meter.profile = partly_refused_profile()
        readout = await reader.poll()
        assert value(readout, "1-0:1.8.0") == Decimal("1234.567")


async def test_a_meter_configured_for_19200_bd_is_found() -> None:
    async with PtyHanMeter(single_phase_profile(baud=19200)) as meter:
        found = await probe_eredes(
            meter.port, HanSettings(request_pause=0.01, response_timeout=0.2, retries=0)
        )
    assert (found.settings.baud, found.settings.framing) == (19200, Framing.EIGHT_N_ONE)
    assert found.readout.baud == 19200
    assert found.learned.three_phase is False


def test_line_candidates_start_with_the_given_line() -> None:
    given = HanSettings(baud=19200, framing=Framing.EIGHT_N_TWO)
    assert [(c.baud, str(c.framing)) for c in line_candidates("/dev/ttyUSB0", given)] == [
        (19200, "8N2"),
        (19200, "8N1"),
        (9600, "8N2"),
        (9600, "8N1"),
    ]
    assert line_candidates("socket://bridge:9502", given) == [given]


@pytest.mark.usefixtures("socket_enabled")
async def test_known_map_is_used_through_a_tcp_bridge() -> None:
    async with TcpHanMeter(partly_refused_profile()) as meter:
        found = await probe_eredes(meter.port, FAST, known=HanMap(True, PARTLY_REFUSED))
        assert len(meter.requests) == 7
    assert found.learned == HanMap(True, PARTLY_REFUSED)


def test_han_map_round_trip_and_validation() -> None:
    known = HanMap(True, frozenset({0x0075, 0x000C}), frozenset({0x00B4}))
    assert known.as_dict() == {"three_phase": True, "denied": [0x000C, 0x0075], "absent": [0x00B4]}
    assert HanMap.from_dict(known.as_dict()) == known
    assert HanMap.from_dict({}) == HanMap()
    assert not HanMap().known and known.known
    for damaged in (
        [1, 2],
        {"three_phase": "yes"},
        {"denied": "0x0016"},
        {"denied": [0x9999]},
        {"absent": [True]},
        {"absent": 5},
    ):
        with pytest.raises((TypeError, ValueError)):
            HanMap.from_dict(damaged)


def value(readout: object, code: str) -> Decimal | str | None:
    return readout.current[ObisCode.parse(code)].value  # type: ignore[attr-defined, no-any-return]
