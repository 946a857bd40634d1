"""Serve a simulated meter until interrupted.

``python -m tests.simulator --pty --profile lgz_e350`` prints the pty path on the first
line of stdout; ``--tcp 0`` prints ``socket://127.0.0.1:N`` instead. ``--mbus multical``
(or ``t230``) serves an M-Bus heat meter answering with that libmbus capture instead of an
IEC 62056-21 meter (``--awake``: without the optical wake-up).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
import signal
import sys

from .mbus import MULTICAL, T230, MbusProfile, PtyMbusMeter, TcpMbusMeter
from .meter import SimulatedMeter
from .ports import PtyMeter, TcpMeter
from .profile import load_profile, parse_fault, profile_names


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.simulator", description=__doc__)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo terminal")
    where.add_argument("--tcp", type=int, metavar="PORT", help="serve as a raw TCP bridge (0: any port)")
    parser.add_argument("--profile", default="lgz_e350", choices=profile_names())
    parser.add_argument("--mbus", choices=sorted(_MBUS), help="an M-Bus heat meter instead")
    parser.add_argument("--awake", action="store_true", help="M-Bus: answer without the wake-up")
    parser.add_argument("--reaction", type=float, metavar="S", help="reaction time in seconds")
    parser.add_argument("--address", help="device address the meter answers to")
    parser.add_argument("--push-interval", type=float, metavar="S", help="mode D: seconds between pushes")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="e.g. bad_bcc=1, truncate_after=40, noise=0.01, silent=1, wrong_baud=4800",
    )
    return parser.parse_args(argv)


_MBUS = {"multical": (MULTICAL, 17), "t230": (T230, 0)}


async def _serve_mbus(arguments: argparse.Namespace, stop: asyncio.Event) -> None:
    frame, address = _MBUS[arguments.mbus]
    profile = MbusProfile((frame,), address=address, asleep=not arguments.awake)
    meter = PtyMbusMeter(profile) if arguments.pty else TcpMbusMeter(profile, port=arguments.tcp)
    async with meter:
        print(meter.port, flush=True)
        await stop.wait()
    print(f"requests={len(meter.log.requests)} ignored={len(meter.log.ignored)}", file=sys.stderr)


async def _serve(arguments: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if arguments.mbus is not None:
        await _serve_mbus(arguments, stop)
        return
    profile = load_profile(arguments.profile)
    if arguments.reaction is not None:
        profile = replace(profile, reaction_time=arguments.reaction)
    if arguments.address is not None:
        profile = replace(profile, address=arguments.address)
    if arguments.push_interval is not None:
        profile = replace(profile, push_interval=arguments.push_interval)
    faults = profile.faults
    for assignment in arguments.fault:
        faults = parse_fault(assignment, faults)
    profile = replace(profile, faults=faults)
    meter: SimulatedMeter = PtyMeter(profile) if arguments.pty else TcpMeter(profile, port=arguments.tcp)
    async with meter:
        print(meter.port, flush=True)
        await stop.wait()
    print(
        f"sessions={meter.sessions} readouts_sent={meter.readouts_sent} closes={meter.closes}",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve."""
    try:
        asyncio.run(_serve(_arguments(argv)))
    except ValueError as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main()
