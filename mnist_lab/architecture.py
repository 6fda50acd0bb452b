"""A kind of setting: the network an engine trains, as a named preset or a list of layers.

An engine whose settings pick an architecture declares one `Architecture` on its settings
class (``architecture``); the Train page's architecture picker and layer builder and the
CLI's ``--layers`` flag are built from it, so they know no engine by name. The engine keeps
everything about its layers (what they mean, their shapes and parameter counts) and hands
only these plain declarations and functions out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LayerField:
    """One field of one layer type: its default and the values it takes.

    Attributes
    ----------
    name : str
        The field's key in a layer's dict (``units``, ``activation``...).
    default : Any
        Its value when a layer leaves it out; None means required.
    low, high : float, optional
        The range of a number (a whole number when ``whole``).
    step : float, optional
        A number widget's step.
    whole : bool
        Whether the number is a whole number.
    choices : tuple of str, optional
        The values of a text field.
    start : Any, optional
        What a widget starts at for a required field.
    """

    name: str
    default: Any = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    whole: bool = False
    choices: tuple[str, ...] | None = None
    start: Any = None

    @property
    def first_value(self) -> Any:
        """What a new layer of this type gets in this field."""
        return self.default if self.default is not None else self.start


@dataclass(frozen=True)
class Preset:
    """A named architecture: its title and description, in words."""

    title: str
    description: str


@dataclass(frozen=True)
class Architecture:
    """How an engine's settings pick a network.

    Attributes
    ----------
    presets : mapping of str to Preset
        The named architectures, in the order a picker offers them.
    custom : str
        The preset name that means "the layers of ``layers_setting``".
    layer_types : mapping of str to tuple of LayerField
        Each layer type a custom list may hold, with its fields.
    starter_layers : tuple of dict
        What a new custom list starts with.
    summarize : callable
        ``summarize(layers, n_classes)``: one row per layer of the model (``layer``,
        ``type``, ``activation``, ``output_shape``, ``params``); raises ``ValueError`` for
        layers that do not make a model.
    preset_layers : callable
        ``preset_layers(name)``: a preset's layers.
    preset_setting, layers_setting : str
        The names of the two settings the architecture is made of.
    """

    presets: Mapping[str, Preset]
    custom: str
    layer_types: Mapping[str, tuple[LayerField, ...]]
    starter_layers: tuple[dict, ...]
    summarize: Callable[[list, int], list[dict]]
    preset_layers: Callable[[str], list[dict]]
    preset_setting: str = "preset"
    layers_setting: str = "layers"

    def layers_of(self, values: dict) -> list[dict]:
        """The layers that settings ``values`` train: the custom ones or their preset's.

        Raises
        ------
        ValueError
            If the preset is unknown.
        """
        preset = values.get(self.preset_setting)
        if preset == self.custom:
            return list(values.get(self.layers_setting) or [])
        return self.preset_layers(preset)
