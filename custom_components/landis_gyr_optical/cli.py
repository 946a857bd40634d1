"""Troubleshooting CLI: ``python -m custom_components.landis_gyr_optical read|probe|profile``.

``read --protocol`` takes ``auto`` and every variant (IEC modes, ``mbus``, ``dlms_push``,
``dlms_mode_e``, ``dlms_hdlc``, ``sml``, ``eredes_han``); ``--key`` / ``--auth-key`` (32 hex
digits) decrypt DLMS pushes, ``--password`` and ``--slave`` address DLMS pull and HAN meters,
``--framing`` sets the HAN line (detected when left out); ``--slave`` is an M-Bus meter's
primary address (254, any meter, when left out), ``--wake-up`` its optical wake-up.

Contract (scripts rely on it):
- ``read --json`` prints exactly one JSON object on stdout: ``{"meter": {...}, "registers":
  {"1-0:1.8.0": {"value": 12345.678, "unit": "kWh"}, ...}}`` keyed by normalised OBIS code
  (current values without ``*F``, billing history with it); on failure
  ``{"error": {"key": ..., "message": ...}}`` and no registers.
- Exit codes: 0 success, 2 usage, 3 no answer or timeout, 4 checksum or format error,
  5 port cannot be opened.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
import json
import logging
import sys
from typing import TextIO

from .cli_profile import add_profile_parser, run_profile
from .meter.eredes_han.client import BAUDS as HAN_BAUDS, probe_eredes
from .meter.errors import MeterError, NoAnswerError, PortError, ProtocolError
from .meter.iec62056_21.client import read_meter
from .meter.iec62056_21.messages import BAUD_MODE_C, MAX_ADDRESS_LENGTH
from .meter.iec62056_21.session import Protocol
from .meter.line import Framing
from .meter.mbus.frames import BROADCAST_ANSWERING
from .meter.mbus.session import BAUDS as MBUS_BAUDS
from .meter.probe import DEFAULT_LISTEN_TIME, ProbeAttempt, ProbeReport, probe, variants
from .meter.readout import Direction, Readout, TraceEntry, printable
from .meter.variants import DEFAULT_PUSH_TIMEOUT, KeyFormatError, MeterConfig, MeterReader, Variant, parse_key

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_NO_ANSWER = 3


def _address(value: str) -> str:
    if len(value) > MAX_ADDRESS_LENGTH or not value.isascii() or "!" in value:
        raise argparse.ArgumentTypeError(f"up to {MAX_ADDRESS_LENGTH} ASCII characters without '!'")
    return value


def _key(value: str) -> bytes:
    try:
        key = parse_key(value)
    except KeyFormatError as err:
        raise argparse.ArgumentTypeError(str(err)) from err
    if key is None:
        raise argparse.ArgumentTypeError("an empty key")
    return key


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m custom_components.landis_gyr_optical",
        description="Read or probe a meter (IEC 62056-21, DLMS/COSEM, SML, E-Redes HAN).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    rates = sorted(BAUD_MODE_C.values())

    read = commands.add_parser("read", help="read the meter once and print its registers")
    read.add_argument("--port", required=True, help="tty path, /dev/serial/by-id/..., socket://, rfc2217://")
    read.add_argument(
        "--protocol", choices=[Protocol.AUTO.value, *(v.value for v in Variant)], default=Protocol.AUTO.value
    )
    read.add_argument("--baud-max", type=int, choices=rates, default=19200, help="highest rate to negotiate")
    read.add_argument("--address", type=_address, default="", help="device address for the sign-on")
    read.add_argument("--wake-up", action="store_true", help="send the battery wake-up sequence first")
    read.add_argument(
        "--software-parity",
        action="store_true",
        help="the TCP bridge runs 8N1 on the meter's 7E1 line: add and check parity bits here",
    )
    read.add_argument(
        "--remote-baud", type=int, default=None, help="rate a raw TCP bridge is fixed at (default 300)"
    )
    read.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")
    read.add_argument("--retries", type=int, default=2, help="attempts after a failed one (rate steps down)")
    read.add_argument("--key", type=_key, default=None, help="DLMS encryption key (32 hex digits)")
    read.add_argument("--auth-key", type=_key, default=None, help="DLMS authentication key (32 hex digits)")
    read.add_argument("--password", default=None, help="DLMS low-level password (dlms_mode_e, dlms_hdlc)")
    read.add_argument(
        "--slave",
        type=int,
        default=None,
        help="HAN slave id or DLMS server address (default 1), M-Bus primary address (default 254: any)",
    )
    read.add_argument(
        "--framing",
        choices=[Framing.EIGHT_N_ONE.value, Framing.EIGHT_N_TWO.value],
        default=None,
        help="HAN line framing (detected when left out)",
    )
    read.add_argument(
        "--baud",
        type=int,
        choices=sorted({*HAN_BAUDS, *MBUS_BAUDS}),
        default=None,
        help="HAN line rate (default 9600), M-Bus line rate (default 2400)",
    )
    read.add_argument("--physical", type=int, default=None, help="DLMS server physical address")
    read.add_argument("--client", type=int, default=16, help="DLMS client address (default 16, public)")
    read.add_argument("--short-names", action="store_true", help="DLMS short-name referencing")
    read.add_argument("--json", action="store_true", help="print one JSON object")
    read.add_argument("--trace", action="store_true", help="print the wire trace to stderr")

    probe_cmd = commands.add_parser("probe", help="find out which variant the meter speaks")
    probe_cmd.add_argument("--port", required=True)
    probe_cmd.add_argument("--address", type=_address, default="")
    probe_cmd.add_argument("--baud-max", type=int, choices=rates, default=19200)
    probe_cmd.add_argument(
        "--listen", type=float, default=DEFAULT_LISTEN_TIME, help="seconds per push listen"
    )
    probe_cmd.add_argument("--key", type=_key, default=None, help="DLMS encryption key for encrypted pushes")
    probe_cmd.add_argument("--auth-key", type=_key, default=None)
    probe_cmd.add_argument(
        "--password", default=None, help="DLMS low-level password, tried once (a wrong one locks the port)"
    )
    probe_cmd.add_argument("--timeout", type=float, default=None)
    probe_cmd.add_argument("--json", action="store_true")
    add_profile_parser(commands, _address)
    return parser


def json_value(value: Decimal | str | None) -> int | float | str | None:
    """Return a register value for JSON: integers stay exact, decimals become numbers.

    The meter's own notation decides: ``0001846`` is an integer (and may be a serial number
    too long for a float), ``000.000`` a decimal quantity.
    """
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    return value


def readout_json(readout: Readout) -> dict[str, object]:
    """Return the ``read --json`` object."""
    identity = readout.identity
    registers: dict[str, dict[str, object]] = {}
    for register in readout.registers:
        registers.setdefault(str(register.obis), {"value": json_value(register.value), "unit": register.unit})
    return {
        "meter": {
            "manufacturer": readout.manufacturer,
            "flag_id": identity.flag_id,
            "identification": identity.identification,
            "serial": readout.serial,
            "protocol": readout.protocol,
            "baud": readout.baud,
        },
        "registers": registers,
    }


def _print_readout(readout: Readout, out: TextIO) -> None:
    identity = readout.identity
    print(f"Meter:    {readout.manufacturer or 'unknown manufacturer'} ({identity.flag_id})", file=out)
    print(f"Ident:    {identity.identification}", file=out)
    print(f"Serial:   {readout.serial or '-'}", file=out)
    print(f"Protocol: {readout.protocol} at {readout.baud} Bd, checksum {readout.checksum}", file=out)
    for register in readout.registers:
        value = "" if register.value is None else str(register.value)
        print(f"  {register.obis!s:<22} {value} {register.unit or ''}".rstrip(), file=out)


def _print_trace(trace: Sequence[TraceEntry], err: TextIO) -> None:
    for entry in trace:
        print(
            f"{entry.at:8.3f}s {entry.direction:<8} {entry.baud:>6} Bd {entry.printable()} {entry.note}",
            file=err,
        )


def _print_attempt(attempt: ProbeAttempt, out: TextIO) -> None:
    mark = "OK  " if attempt.ok else "FAIL"
    print(f"[{mark}] {attempt.name} ({attempt.duration:.1f} s)", file=out)
    print(f"       sent:     {printable(attempt.sent) or '-'}", file=out)
    print(f"       received: {printable(attempt.received[:160]) or '-'}", file=out)
    print(f"       verdict:  {attempt.verdict}", file=out)


def _probe_json(report: ProbeReport) -> dict[str, object]:
    settings = report.settings
    return {
        "port": report.port,
        "attempts": [attempt.as_dict() for attempt in report.attempts],
        "result": None
        if settings is None or report.readout is None
        else {
            "protocol": report.readout.protocol,
            "address": settings.address,
            "wake_up": settings.wake_up,
            "framing": str(settings.framing),
            "baud": report.readout.baud,
            "identification": report.readout.identity.identification,
        },
        "summary": _summary(report),
    }


def _summary(report: ProbeReport) -> str:
    """Return the probe's summary and, when a variant worked, the options that read it this way."""
    if report.settings is None or report.readout is None:
        return report.summary
    return f"{report.summary} Use {' '.join(report.settings.cli_arguments())}."


PUSH_GRACE = 2.0
"""Seconds the outer deadline leaves a push listener to report why its pushes failed."""


async def _read(args: argparse.Namespace) -> Readout:
    # A push listener stops at ``--timeout`` itself and says why (a bad frame, an unknown
    # layout); the outer deadline must not take that reason away with a bare timeout.
    push = args.protocol != Protocol.AUTO and Variant(args.protocol).push
    outer = args.timeout + PUSH_GRACE if push and args.timeout is not None else args.timeout
    async with asyncio.timeout(outer):
        if args.protocol == Protocol.AUTO:
            return await _read_auto(args)
        config = _config(args)
        if config.variant is Variant.EREDES_HAN and args.framing is None:
            return (await probe_eredes(args.port, config.han_settings())).readout
        return await MeterReader(args.port, config, retries=max(args.retries, 0)).read_once()


async def _read_auto(args: argparse.Namespace) -> Readout:
    """Follow the identification; on silence, try the other sign-ons the probe tries.

    Those are the battery wake-up, 7E2 and, on a raw bridge, parity bits added here (a
    bridge left at 8N1). Options the user gave are kept; only silence moves on to the next
    sign-on, since any answer means the meter was found.
    """
    # Any IEC variant maps the options; the session then follows the identification.
    settings = replace(_config(args, Variant.MODE_C).session_settings(), protocol=Protocol.AUTO)
    tries = [settings]
    if not (args.wake_up or args.software_parity or args.remote_baud):
        for variant in variants(args.port, address=args.address, max_baud=args.baud_max)[1:]:
            other = variant.settings
            if other.protocol is Protocol.AUTO and other.address == settings.address:
                tries.append(
                    replace(
                        settings,
                        wake_up=other.wake_up,
                        framing=other.framing,
                        software_parity=other.software_parity,
                    )
                )
    silence: NoAnswerError | None = None
    for number, attempt in enumerate(tries):
        try:
            return await read_meter(args.port, attempt, retries=max(args.retries, 0) if number == 0 else 0)
        except NoAnswerError as err:
            if err.trace and any(entry.direction is Direction.RECEIVED for entry in err.trace):
                raise
            silence = silence or err
    assert silence is not None
    raise silence


def _config(args: argparse.Namespace, variant: Variant | None = None) -> MeterConfig:
    variant = variant or Variant(args.protocol)
    config = MeterConfig(
        variant,
        address=args.address,
        max_baud=args.baud_max,
        wake_up=args.wake_up,
        fixed_baud=args.baud if variant in (Variant.EREDES_HAN, Variant.MBUS) else args.remote_baud,
        software_parity=args.software_parity,
        key=args.key,
        authentication_key=args.auth_key,
        password=args.password.encode() if args.password else None,
        slave=args.slave if args.slave is not None else BROADCAST_ANSWERING if variant is Variant.MBUS else 1,
        server_physical=args.physical,
        dlms_client=args.client,
        short_names=args.short_names,
        push_timeout=args.timeout or DEFAULT_PUSH_TIMEOUT,
    )
    if not variant.iec:
        config = replace(config, framing=Framing(args.framing or Framing.EIGHT_N_ONE))
    return config


def _fail(err: MeterError, as_json: bool, out: TextIO, errout: TextIO) -> int:
    if as_json:
        print(json.dumps({"error": {"key": err.key, "message": str(err)}}), file=out)
    print(f"error: {err}", file=errout)
    return err.exit_code


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout, errout: TextIO = sys.stderr) -> int:
    """Run the CLI; return the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) if exit_.code in (0, None) else EXIT_USAGE
    logging.basicConfig(level=logging.WARNING, stream=errout)
    if args.command == "profile":
        return run_profile(args, out, errout)
    if args.command == "read":
        try:
            readout = asyncio.run(_read(args))
        except TimeoutError:
            return _fail(
                NoAnswerError(f"no complete readout within {args.timeout} s"), args.json, out, errout
            )
        except MeterError as err:
            if args.trace:
                _print_trace(err.trace, errout)
            return _fail(err, args.json, out, errout)
        if args.trace:
            _print_trace(readout.trace, errout)
        if args.json:
            print(json.dumps(readout_json(readout)), file=out)
        else:
            _print_readout(readout, out)
        return EXIT_OK

    def show(attempt: ProbeAttempt) -> None:
        if not args.json:
            _print_attempt(attempt, out)

    async def run_probe() -> ProbeReport:
        async with asyncio.timeout(args.timeout):
            return await probe(
                args.port,
                address=args.address,
                max_baud=args.baud_max,
                listen_time=args.listen,
                key=args.key,
                authentication_key=args.auth_key,
                password=args.password.encode() if args.password else None,
                on_attempt=show,
            )

    try:
        report = asyncio.run(run_probe())
    except TimeoutError:
        return _fail(NoAnswerError(f"probe did not finish within {args.timeout} s"), args.json, out, errout)
    if args.json:
        print(json.dumps(_probe_json(report)), file=out)
    else:
        print(_summary(report), file=out)
    if report.ok:
        return EXIT_OK
    if any(isinstance(attempt.error, PortError) for attempt in report.attempts):
        return PortError.exit_code
    if any(attempt.received for attempt in report.attempts):
        return ProtocolError.exit_code
    return EXIT_NO_ANSWER
