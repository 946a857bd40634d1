"""Translations: every language says all that English says, and English names all that the code uses.

The second half reads the integration's own modules (``ast`` for the flow, exceptions and repair
issues; the imported sensor tables for entity names) so a key added to the code without its
English text fails here rather than showing a raw key in the user interface.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
import importlib
import inspect
import json
from pathlib import Path
import re
from types import ModuleType, SimpleNamespace
from typing import Any

from homeassistant.config_entries import ConfigFlow, OptionsFlow
import pytest

from custom_components.landis_gyr_optical import sensor
from custom_components.landis_gyr_optical.meter.errors import MeterError
from custom_components.landis_gyr_optical.meter.iec62056_21.datasets import parse_data_block
from custom_components.landis_gyr_optical.meter.iec62056_21.messages import Identification
from custom_components.landis_gyr_optical.meter.obis import ObisCode
from custom_components.landis_gyr_optical.meter.verdicts import (
    ATTEMPT_ENGLISH,
    ATTEMPT_PLACEHOLDERS,
    ENGLISH as VERDICT_ENGLISH,
    PLACEHOLDERS as VERDICT_PLACEHOLDERS,
    AttemptName,
    FindingKey,
    VerdictKey,
)
from custom_components.landis_gyr_optical.probe_record import ATTEMPT_SELECTOR, FINDING_SELECTOR, HEADING

PACKAGE = "custom_components.landis_gyr_optical"
INTEGRATION = Path(__file__).parents[2] / "custom_components" / "landis_gyr_optical"
TRANSLATIONS = INTEGRATION / "translations"
REQUIRED_LANGUAGES = frozenset({"de", "nl", "pt"})
LANGUAGES = sorted(path.stem for path in TRANSLATIONS.glob("*.json") if path.stem != "en")

COMMAND_LINE_MODULES = frozenset({"cli", "__main__"})
"""Entry points of the command-line tool: they never reach Home Assistant's translations."""

SAME_AS_ENGLISH_ALLOWED: frozenset[str] = frozenset()
"""Dotted keys whose text of more than three words may stay English (none so far)."""

PLACEHOLDER = re.compile(r"\{(\w+)\}")
TECHNICAL_TOKEN = re.compile(
    r"[a-z0-9]+://[\w.:/?=]*|/dev/[\w./-]*|IEC 62056-21|Landis\+Gyr|OBIS|NUL|\b\d+ Bd\b|\bBd\b|\bkW\b"
)

type Flat = dict[str, str]


def load(language: str) -> dict[str, Any]:
    return json.loads((TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))


def flatten(tree: Mapping[str, Any], prefix: str = "") -> Flat:
    """Map dotted keys to the strings at the leaves; anything but objects and strings is an error."""
    flat: Flat = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            assert value, f"{dotted} is an empty object"
            flat.update(flatten(value, f"{dotted}."))
        else:
            assert isinstance(value, str), f"{dotted} is {type(value).__name__}, not a string"
            flat[dotted] = value
    return flat


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def technical_tokens(text: str) -> set[str]:
    return {token.rstrip(".") for token in TECHNICAL_TOKEN.findall(text)}


def subtree_placeholders(tree: Mapping[str, Any] | str) -> set[str]:
    if isinstance(tree, str):
        return placeholders(tree)
    return set().union(*(placeholders(text) for text in flatten(tree).values()))


ENGLISH = load("en")
ENGLISH_FLAT = flatten(ENGLISH)


# --- every language against English ----------------------------------------------------------


def test_required_languages_are_shipped() -> None:
    assert set(LANGUAGES) >= REQUIRED_LANGUAGES


@pytest.fixture(params=LANGUAGES)
def translated(request: pytest.FixtureRequest) -> Flat:
    return flatten(load(request.param))


def test_same_keys_as_english(translated: Flat) -> None:
    missing = sorted(ENGLISH_FLAT.keys() - translated.keys())
    extra = sorted(translated.keys() - ENGLISH_FLAT.keys())
    assert (missing, extra) == ([], [])


def test_same_placeholders_as_english(translated: Flat) -> None:
    wrong = {
        key: (sorted(placeholders(text)), sorted(placeholders(translated[key])))
        for key, text in ENGLISH_FLAT.items()
        if key in translated and placeholders(text) != placeholders(translated[key])
    }
    assert wrong == {}


def test_every_string_is_translated(translated: Flat) -> None:
    empty = sorted(key for key, text in translated.items() if not text.strip())
    untranslated = sorted(
        key
        for key, text in ENGLISH_FLAT.items()
        if translated.get(key) == text and len(text.split()) > 3 and key not in SAME_AS_ENGLISH_ALLOWED
    )
    assert (empty, untranslated) == ([], [])


def test_technical_tokens_and_layout_are_kept(translated: Flat) -> None:
    """URLs, device paths, standard names and units stay as they are; line breaks and lists too."""
    lost = {
        key: sorted(technical_tokens(text) - technical_tokens(translated[key]))
        for key, text in ENGLISH_FLAT.items()
        if key in translated and not technical_tokens(text) <= technical_tokens(translated[key])
    }
    layout = {
        key
        for key, text in ENGLISH_FLAT.items()
        if key in translated
        and (
            text.count("\n") != translated[key].count("\n")
            or text.count("\n- ") != translated[key].count("\n- ")
        )
    }
    assert (lost, layout) == ({}, set())


def test_quoted_choice_names_match_the_selector(translated: Flat) -> None:
    """A text that quotes a protocol choice uses that choice's label in the same language."""
    for key, label in ENGLISH_FLAT.items():
        if not key.startswith("selector.protocol.options."):
            continue
        quoted = f'"{label}"'
        for text_key, text in ENGLISH_FLAT.items():
            if quoted in text:
                assert translated[key] in translated[text_key], (text_key, translated[key])


# --- the code against English ----------------------------------------------------------------


def module_path(name: str) -> Path | None:
    if name != PACKAGE and not name.startswith(f"{PACKAGE}."):
        return None
    relative = INTEGRATION.joinpath(*name.split(".")[2:])
    for candidate in (relative / "__init__.py", relative.with_name(f"{relative.name}.py")):
        if candidate.is_file():
            return candidate
    return None


def own_imports(name: str) -> set[str]:
    """Modules of the integration that ``name`` imports directly."""
    path = module_path(name)
    assert path is not None, name
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
            found.update(c for c in candidates if module_path(c) is not None)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if module_path(a.name) is not None)
    return found


def home_assistant_modules() -> list[str]:
    return sorted(
        PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"
        for path in INTEGRATION.glob("*.py")
        if path.stem not in COMMAND_LINE_MODULES
    )


def reachable_modules() -> set[str]:
    seen: set[str] = set()
    todo = home_assistant_modules()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(own_imports(name) - seen)
    return seen


def reachable_error_keys() -> set[str]:
    """Keys of every ``MeterError`` class defined in a module the Home Assistant layer loads."""
    keys = {MeterError.key}
    for name in reachable_modules():
        module = importlib.import_module(name)
        keys.update(
            value.key
            for value in vars(module).values()
            if inspect.isclass(value) and issubclass(value, MeterError) and value.__module__ == name
        )
    return keys


ERROR_KEYS = reachable_error_keys()


def test_error_keys_come_from_the_protocol_core() -> None:
    """The walk over the imports finds the core's errors (a broken walk would make the rest vacuous)."""
    core = importlib.import_module(f"{PACKAGE}.meter.errors")
    keys = {
        value.key for value in vars(core).values() if inspect.isclass(value) and issubclass(value, MeterError)
    }
    assert len(keys) > 1
    assert keys <= ERROR_KEYS


def resolve(node: ast.expr, module: ModuleType) -> set[str]:
    """The strings an expression can stand for: literals, module constants, error classes' keys.

    ``<variable>.key`` is a caught ``MeterError``: it can be any reachable error's key;
    ``<variable>.verdict.key`` is a probe verdict: any ``VerdictKey``.
    An expression this does not understand fails the test, so new code cannot slip past.
    """
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return resolve(node.body, module) | resolve(node.orelse, module)
    if isinstance(node, ast.Name) and isinstance(getattr(module, node.id, None), str):
        return {getattr(module, node.id)}
    if isinstance(node, ast.Attribute) and node.attr == "key" and isinstance(node.value, ast.Name):
        owner = getattr(module, node.value.id, None)
        if inspect.isclass(owner) and issubclass(owner, MeterError):
            return {owner.key}
        if owner is None:
            return set(ERROR_KEYS)
    if (
        isinstance(node, ast.Attribute)
        and node.attr == "key"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "verdict"
    ):
        return {str(key) for key in VerdictKey}
    raise AssertionError(f"{module.__name__}: cannot tell which key {ast.unparse(node)} is")


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def dict_keys(node: ast.expr | None, module: ModuleType) -> set[str]:
    if node is None:
        return set()
    assert isinstance(node, ast.Dict), ast.unparse(node)
    return set().union(*(resolve(key, module) for key in node.keys if key is not None))


def called_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def target_name(target: ast.expr) -> str:
    if isinstance(target, ast.Subscript):
        target = target.value
    return (
        target.attr
        if isinstance(target, ast.Attribute)
        else target.id
        if isinstance(target, ast.Name)
        else ""
    )


def functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    yield from (node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef))


@dataclass
class FlowUse:
    """What one flow class asks of the translations."""

    section: str
    steps: dict[str, set[str]] = field(default_factory=dict)
    """Step id -> description placeholders the code supplies."""
    progress: dict[str, set[str]] = field(default_factory=dict)
    errors: set[str] = field(default_factory=set)
    aborts: set[str] = field(default_factory=set)
    title_placeholders: set[str] = field(default_factory=set)
    selectors: dict[str, set[str]] = field(default_factory=dict)
    """Selector translation key -> option values known without running the flow."""


def step_ids(
    node: ast.expr, function: ast.FunctionDef | ast.AsyncFunctionDef, cls: ast.ClassDef, module: ModuleType
) -> set[str]:
    """Resolve ``step_id``; a parameter of the enclosing method takes the literals its callers pass."""
    if isinstance(node, ast.Name) and node.id in (parameters := [a.arg for a in function.args.args[1:]]):
        index = parameters.index(node.id)
        ids: set[str] = set()
        for call in (n for n in ast.walk(cls) if isinstance(n, ast.Call) and called_name(n) == function.name):
            argument = call.args[index] if index < len(call.args) else keyword(call, node.id)
            assert argument is not None, ast.unparse(call)
            ids |= resolve(argument, module)
        assert ids, f"no caller of {function.name} passes a step id"
        return ids
    return resolve(node, module)


def default_reasons(call: ast.Call, cls: type) -> set[str]:
    """Abort reasons Home Assistant's helpers use when the call does not name one."""
    name = called_name(call)
    method = getattr(ConfigFlow, name, None)
    if (
        method is None
        or not callable(method)
        or not name.startswith(("_abort", "async_update_reload_and_abort"))
    ):
        return set()
    if any(kw.arg in {"reason", "error"} for kw in call.keywords):
        return set()
    for parameter in inspect.signature(method).parameters.values():
        if parameter.name in {"reason", "error"} and isinstance(parameter.default, str):
            return {parameter.default}
    # async_update_reload_and_abort picks its reason from the flow's source.
    sources = {"reconfigure": "reconfigure_successful", "reauth": "reauth_successful"}
    return {reason for source, reason in sources.items() if f"async_step_{source}" in vars(cls)}


FLOW_MODULES = ("config_flow", "options_flow")
"""The modules that hold the integration's flows."""


def flow_uses() -> list[FlowUse]:
    uses: list[FlowUse] = []
    for name in FLOW_MODULES:
        uses += module_flow_uses(importlib.import_module(f"{PACKAGE}.{name}"))
    return uses


def module_flow_uses(module: ModuleType) -> list[FlowUse]:
    tree = ast.parse(Path(inspect.getfile(module)).read_text(encoding="utf-8"))
    uses: list[FlowUse] = []
    for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
        runtime = getattr(module, cls.name)
        if issubclass(runtime, ConfigFlow):
            use = FlowUse("config")
        elif issubclass(runtime, OptionsFlow):
            use = FlowUse("options")
        else:
            continue
        uses.append(use)
        for function in functions(cls):
            for node in ast.walk(function):
                if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        if target_name(target).endswith("errors"):
                            if isinstance(target, ast.Subscript):
                                use.errors |= resolve(node.value, module)
                            elif isinstance(node.value, ast.Dict):
                                use.errors |= set().union(*(resolve(v, module) for v in node.value.values))
                        if (
                            isinstance(target, ast.Subscript)
                            and target_name(target) == "context"
                            and resolve(target.slice, module) == {"title_placeholders"}
                        ):
                            use.title_placeholders |= dict_keys(node.value, module)
                if not isinstance(node, ast.Call):
                    continue
                supplied = dict_keys(keyword(node, "description_placeholders"), module)
                if (reason := keyword(node, "reason")) is not None:
                    use.aborts |= resolve(reason, module)
                use.aborts |= default_reasons(node, runtime)
                if (errors := keyword(node, "errors")) is not None and isinstance(errors, ast.Dict):
                    use.errors |= set().union(*(resolve(v, module) for v in errors.values))
                if (action := keyword(node, "progress_action")) is not None:
                    for name in resolve(action, module):
                        use.progress.setdefault(name, set()).update(supplied)
                elif (step := keyword(node, "step_id")) is not None:
                    for name in step_ids(step, function, cls, module):
                        use.steps.setdefault(name, set()).update(supplied)
                if called_name(node) == "SelectSelectorConfig" and (key := keyword(node, "translation_key")):
                    use.selectors.setdefault(resolve(key, module).pop(), set()).update(
                        selector_options(node, function, module)
                    )
    return uses


def selector_options(
    config: ast.Call, function: ast.FunctionDef | ast.AsyncFunctionDef, module: ModuleType
) -> set[str]:
    """Option values of a selector: evaluated when they depend only on module constants.

    Otherwise (a list built at run time, such as the scanned ports) the fixed choices are the
    module constants the method passes as ``SelectOptionDict(value=...)``.
    """
    options = keyword(config, "options")
    assert options is not None
    try:
        values = eval(compile(ast.Expression(options), "<options>", "eval"), vars(module))  # noqa: S307
    except NameError:
        return {
            value
            for call in ast.walk(function)
            if isinstance(call, ast.Call)
            and called_name(call) == "SelectOptionDict"
            and isinstance(argument := keyword(call, "value"), ast.Name)
            and isinstance(value := getattr(module, argument.id, None), str)
        }
    return {value if isinstance(value, str) else value["value"] for value in values}


FLOWS = flow_uses()


def test_the_flow_walk_sees_both_flows() -> None:
    assert sorted(use.section for use in FLOWS) == ["config", "options"]


@pytest.mark.parametrize("use", FLOWS, ids=lambda use: use.section)
def test_flow_steps_errors_and_aborts_are_in_english(use: FlowUse) -> None:
    strings = ENGLISH[use.section]
    assert use.steps, "no step found"
    missing = {
        "step": sorted(use.steps.keys() - strings.get("step", {}).keys()),
        "progress": sorted(use.progress.keys() - strings.get("progress", {}).keys()),
        "error": sorted(use.errors - strings.get("error", {}).keys()),
        "abort": sorted(use.aborts - strings.get("abort", {}).keys()),
    }
    assert missing == {"step": [], "progress": [], "error": [], "abort": []}


@pytest.mark.parametrize("use", FLOWS, ids=lambda use: use.section)
def test_flow_placeholders_are_supplied(use: FlowUse) -> None:
    """Every ``{placeholder}`` of a step, progress or error text is one the code fills in."""
    strings = ENGLISH[use.section]
    unfilled: dict[str, list[str]] = {}
    for kind, shown in (("step", use.steps), ("progress", use.progress)):
        for name, supplied in shown.items():
            if name in strings.get(kind, {}) and (
                extra := subtree_placeholders(strings[kind][name]) - supplied
            ):
                unfilled[f"{kind}.{name}"] = sorted(extra)
    every_supplied = set().union(*use.steps.values(), *use.progress.values())
    for name in use.errors & strings.get("error", {}).keys():
        if extra := placeholders(strings["error"][name]) - every_supplied:
            unfilled[f"error.{name}"] = sorted(extra)
    if extra := placeholders(strings.get("flow_title", "")) - use.title_placeholders:
        unfilled["flow_title"] = sorted(extra)
    assert unfilled == {}


def test_selector_options_are_in_english() -> None:
    selectors: dict[str, set[str]] = {}
    for use in FLOWS:
        for key, options in use.selectors.items():
            selectors.setdefault(key, set()).update(options)
    assert selectors, "no translated selector found"
    missing = {
        key: sorted(options - ENGLISH["selector"].get(key, {}).get("options", {}).keys())
        for key, options in selectors.items()
    }
    assert all(options for options in selectors.values())
    assert missing == {key: [] for key in selectors}


def translated_raises() -> Iterator[tuple[str, str, set[str], str]]:
    """(section, key, supplied placeholders, where) of every translated exception and repair issue."""
    for name in home_assistant_modules():
        module = importlib.import_module(name)
        tree = ast.parse(Path(inspect.getfile(module)).read_text(encoding="utf-8"))
        for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
            key = keyword(call, "translation_key")
            if key is None:
                continue
            where = f"{Path(inspect.getfile(module)).name}:{call.lineno}"
            supplied = dict_keys(keyword(call, "translation_placeholders"), module)
            if called_name(call) == "async_create_issue":
                section = "issues"
            elif keyword(call, "translation_domain") is not None:
                section = "exceptions"
            else:
                continue
            for resolved in resolve(key, module):
                yield section, resolved, supplied, where


RAISES = list(translated_raises())


def test_exceptions_and_issues_are_found() -> None:
    assert {section for section, *_ in RAISES} == {"exceptions", "issues"}


def test_exceptions_and_repair_issues_are_in_english() -> None:
    missing = sorted(
        f"{where}: {section}.{key}"
        for section, key, _, where in RAISES
        if key not in ENGLISH.get(section, {})
    )
    assert missing == []


def test_exception_and_issue_placeholders_are_supplied() -> None:
    unfilled = sorted(
        f"{where}: {section}.{key} {sorted(extra)}"
        for section, key, supplied, where in RAISES
        if key in ENGLISH.get(section, {})
        and (extra := subtree_placeholders(ENGLISH[section][key]) - supplied)
    )
    assert unfilled == []


def test_every_meter_error_has_a_flow_error_and_an_exception() -> None:
    """A failed test read shows the error's key; a failed poll raises the exception of that key."""
    missing = {
        "config.error": sorted(ERROR_KEYS - ENGLISH["config"]["error"].keys()),
        "exceptions": sorted(ERROR_KEYS - ENGLISH["exceptions"].keys()),
    }
    assert missing == {"config.error": [], "exceptions": []}


# --- entity names ----------------------------------------------------------------------------


def register_sensors() -> Iterator[sensor.RegisterSensor | sensor.MeterStatusSensor]:
    """A sensor for every description of the table and the generic ones, built as setup builds them."""
    readout = SimpleNamespace(
        identity=Identification.parse(b"/LGZ5ZMF100AC.M27").identity, current={}, serial="1"
    )
    coordinator: Any = SimpleNamespace(
        config_entry=SimpleNamespace(unique_id="1", entry_id="entry"), data=SimpleNamespace(readout=readout)
    )
    described = [(f"1-0:{code}", description) for code, description in sensor.DESCRIPTIONS.items()]
    described += [("1-0:99.7.0", sensor.GENERIC), ("1-0:99.8.0", sensor.GENERIC_TOTAL)]
    described += [
        (f"6-0:{code}", description)
        for code, descriptions in sensor.HEAT_DESCRIPTIONS.items()
        for description in descriptions
    ]
    described += [("0-1:24.2.1", description) for description in sensor.SUB_METER_DESCRIPTIONS.values()]
    for code, description in described:
        yield sensor.RegisterSensor(coordinator, ObisCode.parse(code), description, None)
    for status in sensor.STATUS_DESCRIPTIONS:
        yield sensor.MeterStatusSensor(coordinator, status)


def test_every_entity_name_is_in_english() -> None:
    names = ENGLISH["entity"]["sensor"]
    checked = 0
    problems: list[str] = []
    for entity in register_sensors():
        key = entity.translation_key
        assert key is not None, entity.entity_description.key
        checked += 1
        if key not in names or "name" not in names[key]:
            problems.append(f"{key}: no name")
            continue
        supplied = set(entity.translation_placeholders)
        if placeholders(names[key]["name"]) != supplied:
            problems.append(
                f"{key}: name has {sorted(placeholders(names[key]['name']))}, code gives {sorted(supplied)}"
            )
    assert checked > len(sensor.STATUS_DESCRIPTIONS)
    assert problems == []


def test_state_attributes_are_in_english() -> None:
    names = ENGLISH["entity"]["sensor"]
    checked = 0
    for code, description in sensor.DESCRIPTIONS.items():
        if description.attributes_fn is None:
            continue
        (register,) = parse_data_block(f"{code}(02.150*kW)(2401151230)\r\n")
        attributes = description.attributes_fn(register)
        assert attributes, code
        checked += 1
        key = description.translation_key
        assert key is not None
        assert attributes.keys() <= names[key].get("state_attributes", {}).keys(), key
    assert checked


def test_sub_meter_devices_are_named_in_english() -> None:
    devices = ENGLISH["device"]
    for kind in sensor.SUB_METER_DESCRIPTIONS:
        assert placeholders(devices[f"{kind}_meter"]["name"]) == {"channel"}, kind


# --- probe verdicts ----------------------------------------------------------------------------


def test_verdicts_read_the_same_in_the_core_and_in_english() -> None:
    """The command line prints the core's English; the flow shows ``config.error.<key>``: one text."""
    errors = ENGLISH["config"]["error"]
    assert {key: errors.get(key) for key in VerdictKey} == {key: VERDICT_ENGLISH[key] for key in VerdictKey}
    used = set().union(*(placeholders(text) for text in VERDICT_ENGLISH.values()))
    assert used <= set(VERDICT_PLACEHOLDERS)


def test_attempt_names_and_findings_read_the_same_in_the_core_and_in_english() -> None:
    """Each attempt's line in the flow is ``selector.probe_attempt`` and ``selector.probe_finding``."""
    names = ENGLISH["selector"][ATTEMPT_SELECTOR]["options"]
    findings = ENGLISH["selector"][FINDING_SELECTOR]["options"]
    assert {key: names.get(key) for key in AttemptName} == {key: ATTEMPT_ENGLISH[key] for key in AttemptName}
    assert {key: findings.get(key) for key in FindingKey} == {key: ATTEMPT_ENGLISH[key] for key in FindingKey}
    assert set(names) - set(AttemptName) == {HEADING}
    assert set(findings) == set(FindingKey)
    used = set().union(*(placeholders(text) for text in ATTEMPT_ENGLISH.values()))
    assert used == set(ATTEMPT_PLACEHOLDERS)
