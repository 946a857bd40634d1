"""The CLI's ``profile`` command: read the meter's load profile (IEC programming mode or DLMS).

Contract (scripts rely on it): ``profile --json`` prints exactly one JSON object,
``{"meter": {...}, "profile": [{"end": "2026-11-30T00:15:00", "period": 900, "status": "00",
"values": {"1-0:1.5.0": {"value": 1.167, "unit": "kW"}, ...}}, ...]}``: one object per
interval, its end in the meter's clock (no zone), the period in seconds, only intervals
wholly inside ``--from``/``--to``. A meter that refuses programming mode or keeps no
profile fails with ``{"error": {...}}`` and exit code 4, like every other format error.
IEC meters are read in read-only programming mode (``P.01``), DLMS meters (``dlms_mode_e``,
``dlms_hdlc``) as Profile Generic ``1-0:99.1.0.255`` by range; values keep the meter's unit.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
import json
from typing import TextIO

from .meter.dlms.client import PullSettings
from .meter.dlms.hdlc import HdlcAddress
from .meter.dlms.profile_client import read_dlms_profile
from .meter.errors import MeterError, NoAnswerError
from .meter.iec62056_21.messages import BAUD_MODE_C
from .meter.iec62056_21.profile_client import read_profile
from .meter.iec62056_21.programming import ProfileRequest, ReadCommand
from .meter.iec62056_21.session import Protocol, SessionSettings
from .meter.load_profile import LoadProfile
from .meter.variants import Variant

PROFILE_PROTOCOLS = (
    Protocol.AUTO.value,
    Protocol.MODE_C.value,
    Variant.DLMS_MODE_E.value,
    Variant.DLMS_HDLC.value,
)
"""Variants whose load profile can be read: IEC 62056-21 mode C programming mode, DLMS pull."""


def meter_time(value: str) -> datetime:
    """Parse ``--from``/``--to``: an ISO date and time in the meter's clock, without a zone."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not an ISO date and time: {value!r}") from err
    if moment.tzinfo is not None:
        raise argparse.ArgumentTypeError("give the time in the meter's clock, without a zone")
    return moment


def add_profile_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], address: object
) -> None:
    """Add the ``profile`` command to the CLI's parser."""
    profile = commands.add_parser(
        "profile", help="read the meter's load profile (programming mode, read only)"
    )
    profile.add_argument(
        "--port", required=True, help="tty path, /dev/serial/by-id/..., socket://, rfc2217://"
    )
    profile.add_argument("--protocol", choices=PROFILE_PROTOCOLS, default=Protocol.AUTO.value)
    profile.add_argument(
        "--from", dest="start", type=meter_time, default=None, help="first interval start (meter clock)"
    )
    profile.add_argument(
        "--to", dest="end", type=meter_time, default=None, help="last interval end (meter clock)"
    )
    profile.add_argument(
        "--baud-max",
        type=int,
        choices=sorted(BAUD_MODE_C.values()),
        default=19200,
        help="highest rate to negotiate",
    )
    profile.add_argument("--address", type=address, default="", help="device address for the sign-on")  # type: ignore[arg-type]
    profile.add_argument(
        "--password", default=None, help="IEC: answer the meter's P0 prompt with it; DLMS: low-level password"
    )
    profile.add_argument("--slave", type=int, default=1, help="DLMS server address (default 1)")
    profile.add_argument(
        "--command",
        dest="read_command",
        choices=[command.value for command in ReadCommand],
        default=ReadCommand.R5.value,
        help="R5 reads the profile in one message, R6 in partial blocks",
    )
    profile.add_argument(
        "--remote-baud", type=int, default=None, help="rate a raw TCP bridge is fixed at (default 300)"
    )
    profile.add_argument(
        "--software-parity", action="store_true", help="the TCP bridge runs 8N1 on the meter's 7E1 line"
    )
    profile.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")
    profile.add_argument("--json", action="store_true", help="print one JSON object")


def profile_json(profile: LoadProfile, protocol: str = Protocol.MODE_C.value) -> dict[str, object]:
    """Return the ``profile --json`` object."""
    from .cli import json_value  # noqa: PLC0415 - cli imports this module

    identity = profile.identity
    return {
        "meter": {
            "manufacturer": None if identity is None else identity.manufacturer,
            "flag_id": None if identity is None else identity.flag_id,
            "identification": None if identity is None else identity.identification,
            "protocol": protocol,
            "baud": profile.baud,
        },
        "profile": [
            {
                "end": interval.end.isoformat(),
                "period": interval.period,
                "status": interval.status,
                "values": {
                    str(obis): {"value": json_value(value.value), "unit": value.unit}
                    for obis, value in interval.values.items()
                },
            }
            for interval in profile
        ],
    }


async def _read(args: argparse.Namespace) -> LoadProfile:
    if args.protocol in (Variant.DLMS_MODE_E.value, Variant.DLMS_HDLC.value):
        pull = PullSettings(
            server=HdlcAddress(args.slave), password=args.password.encode() if args.password else None
        )
        async with asyncio.timeout(args.timeout):
            return await read_dlms_profile(
                args.port,
                mode_e=args.protocol == Variant.DLMS_MODE_E.value,
                address=args.address,
                max_baud=args.baud_max,
                settings=pull,
                start=args.start,
                end=args.end,
            )
    settings = SessionSettings(
        protocol=Protocol(args.protocol),
        address=args.address,
        max_baud=args.baud_max,
        fixed_baud=args.remote_baud,
        software_parity=args.software_parity,
    )
    request = ProfileRequest(
        start=args.start, end=args.end, command=ReadCommand(args.read_command), password=args.password
    )
    async with asyncio.timeout(args.timeout):
        return await read_profile(args.port, settings, request)


def run_profile(args: argparse.Namespace, out: TextIO, errout: TextIO) -> int:
    """Run ``profile``; return the exit code."""
    from .cli import EXIT_OK, EXIT_USAGE, _fail  # noqa: PLC0415 - cli imports this module

    if args.start is not None and args.end is not None and args.start >= args.end:
        print("error: --from must be before --to", file=errout)
        return EXIT_USAGE
    try:
        profile = asyncio.run(_read(args))
    except TimeoutError:
        return _fail(
            NoAnswerError(f"no complete load profile within {args.timeout} s"), args.json, out, errout
        )
    except MeterError as err:
        return _fail(err, args.json, out, errout)
    if args.json:
        protocol = Protocol.MODE_C.value if args.protocol == Protocol.AUTO.value else args.protocol
        print(json.dumps(profile_json(profile, protocol)), file=out)
        return EXIT_OK
    identity = profile.identity
    print(f"Meter:    {identity.identification if identity else '-'} at {profile.baud} Bd", file=out)
    print(f"Profile:  {len(profile)} intervals, {len(profile.gaps())} gaps", file=out)
    for interval in profile:
        values = "  ".join(f"{obis.short} {value.encode()}" for obis, value in interval.values.items())
        print(
            f"  {interval.end.isoformat()}  {interval.period // 60:>3} min  {interval.status}  {values}",
            file=out,
        )
    return EXIT_OK
