"""The flags of the engines' declared settings, shared by ``train``, ``baseline`` and ``sweep``.

`add_settings_flags` declares them from `mnist_lab.settings` declarations; `requested_values`
reads them back, over a ``--config`` file's values, for the chosen engine.
"""

from __future__ import annotations

import argparse
import json

from mnist_lab.architecture import Architecture
from mnist_lab.engines import DEFAULT_ENGINE, Engine, all_engines, get_engine
from mnist_lab.files import DamagedRunError, read_json
from mnist_lab.launch import draws_fresh_seed
from mnist_lab.runs import MAX_CONFIG_BYTES
from mnist_lab.settings import Setting, check_plain


def add_settings_flags(
    parser: argparse.ArgumentParser, engines: list[Engine], fresh_seeds: bool = False
) -> None:
    """One flag per declared setting of ``engines`` (a setting they share gets one flag).

    Every flag defaults to None, so that a ``--config`` file's values hold unless a flag
    overrides them, and the engine's declared defaults fill in the rest.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    engines : list of Engine
        The engines the subcommand launches.
    fresh_seeds : bool
        Whether the subcommand draws a fresh seed for a run that fixes none (`train`
        does, for the engines `launch.draws_fresh_seed` names): the seed's help says so.
    """
    seen = set()
    for engine in engines:
        for name, declaration in engine.settings_class.declared().items():
            if name in seen:
                continue
            seen.add(name)
            flags = [declaration.cli_flag]
            if declaration.cli_flag != "--" + name.replace("_", "-"):
                flags.append("--" + name.replace("_", "-"))
            # argparse formats help with %: a literal percent sign must be doubled.
            default = _default_text(declaration, engines, fresh_seeds)
            allowed = f"Allowed: {declaration.allowed()}. Default: {default}."
            text = f"{declaration.help} {allowed}".strip().replace("%", "%%")
            if declaration.kind is bool:
                parser.add_argument(
                    *flags, dest=name, action=argparse.BooleanOptionalAction, help=text
                )
            elif declaration.kind is list:
                parser.add_argument(*flags, dest=name, metavar="JSON", help=text)
            else:
                parser.add_argument(*flags, dest=name, type=_parser_of(declaration), help=text)


def _default_text(declaration: Setting, engines: list[Engine], fresh_seeds: bool) -> str:
    """A flag's default in words: the declared one, or the fresh seed a launch draws."""
    drawing = [engine for engine in engines if draws_fresh_seed(engine)]
    if declaration.name != "seed" or not fresh_seeds or not drawing:
        return str(declaration.default)
    kept = [engine.name for engine in engines if engine not in drawing]
    text = "a fresh seed drawn for each run (printed, and recorded in the run)"
    if kept:
        text += f"; {declaration.default} for {', '.join(kept)}, which reuse finished runs"
    return text


def _parser_of(declaration: Setting):
    """The flag's ``type``: the setting's own parsing, its refusal in argparse's words."""

    def parse(text: str):
        try:
            return declaration.parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def _read_config_file(path: str) -> dict:
    """A ``--config`` file's JSON object, or a ``ValueError`` that says what is wrong."""
    try:
        # A user's own file: a link is followed, but only a regular file of a config's size
        # is read (not /dev/zero or a FIFO, which never end).
        return read_json(path, MAX_CONFIG_BYTES, follow_links=True)
    except DamagedRunError as error:
        raise ValueError(f"--config {path}: {error}") from None
    except OSError as error:
        raise ValueError(f"--config {path}: cannot read it ({error.strerror})") from None


def requested_values(args: argparse.Namespace) -> tuple[Engine, dict]:
    """The engine and the settings that ``--config`` (if any) and the flags give, unvalidated.

    Raises
    ------
    ValueError
        If the config file is unreadable, a flag is not a setting of the chosen engine, or
        ``--layers`` is not JSON or contradicts ``--preset``.
    """
    values = _read_config_file(args.config) if args.config else {}
    chosen = getattr(args, "engine", None)
    if chosen and values.get("engine", chosen) != chosen:
        raise ValueError(f"--engine {chosen} contradicts the config file's {values['engine']!r}")
    engine = get_engine(chosen or values.get("engine") or DEFAULT_ENGINE)
    declared = engine.settings_class.declared()
    flag_names = {n for e in all_engines() for n in e.settings_class.declared()}
    # A subcommand for one engine has only that engine's flags.
    given = {n: getattr(args, n) for n in flag_names if getattr(args, n, None) is not None}
    foreign = sorted(name for name in given if name not in declared)
    if foreign:
        flags = [f"--{name.replace('_', '-')}" for name in foreign]
        raise ValueError(
            f"{', '.join(flags)}: not a setting of engine {engine.name!r}. {engine.description} "
            f"It takes: {', '.join(d.cli_flag for d in declared.values())}"
        )
    architecture = engine.settings_class.architecture
    if architecture is not None and architecture.layers_setting in given:
        given.update(_custom_layers(architecture, declared, given))
    values.update(given)
    return engine, values


def _custom_layers(architecture: Architecture, declared: dict, given: dict) -> dict:
    """The settings that the layer flag's JSON choose: the custom preset and those layers."""
    preset, layers = architecture.preset_setting, architecture.layers_setting
    preset_flag, layers_flag = declared[preset].cli_flag, declared[layers].cli_flag
    if given.get(preset, architecture.custom) != architecture.custom:
        raise ValueError(
            f"give {preset_flag} or {layers_flag}, not both ({layers_flag} trains custom layers)"
        )
    try:
        chosen = json.loads(given[layers])
        check_plain(layers_flag, chosen)
        return {preset: architecture.custom, layers: chosen}
    except json.JSONDecodeError as error:
        raise ValueError(f"{layers_flag} is not valid JSON: {error}") from None
    except RecursionError:
        raise ValueError(f"{layers_flag} is nested too deeply to be a list of layers") from None
