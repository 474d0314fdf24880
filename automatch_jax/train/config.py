"""Loading ml_collections configs by path, and the training, data, loss, inference and search sections.

A config is a Python file under ``configs/`` whose ``get_config(arg=None)`` returns a ``ConfigDict``; on the
command line ``configs/table1.py:film`` passes ``"film"`` as ``arg`` (the ml_collections ``config_flags``
convention). ``config.model`` is the network (:mod:`automatch_jax.models.config`).

:func:`validate_config` checks a whole config against the schema of the defaults (every key, type and range) before
any work starts; ``train`` and ``search`` call it first, and so do the commands right after loading a config.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import inspect
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ml_collections

from automatch_jax.data.otb_table import ATTRIBUTES
from automatch_jax.data.pair_sources import IMAGERY_SOURCES
from automatch_jax.data.pairs import SCENE, PairConfig
from automatch_jax.data.training_sets import TRAINING_SETS
from automatch_jax.errors import AutomatchError
from automatch_jax.models.backbones import BACKBONES
from automatch_jax.models.checkpoint import jsonable, load_manifest
from automatch_jax.models.config import (
    ARCHITECTURES,
    COMPUTE_DTYPES,
    DEFAULT_BACKBONE,
    DTYPES,
    architecture_operators,
    build_network,
    check_operators,
    default_model_config,
    model_arch,
)
from automatch_jax.models.losses import CLS_LOSSES, IOU_LOSSES
from automatch_jax.models.settings import TrackerSettings


def default_training_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Adds Ocean-style training, data, loss and inference sections to ``config`` (values a config may change)."""
    config.backbone_weights = config.get("backbone_weights", "")
    # a tracker checkpoint (folder or shipped name) of the same network whose weights training starts from
    config.init_from = config.get("init_from", "")
    config.train = ml_collections.ConfigDict({
        "seed": 0,
        "batch_size": 32,
        "steps": 20000,
        "lr": 0.005,
        "warmup_lr": 0.001,
        "warmup_steps": 1000,
        "final_lr": 0.00005,
        "momentum": 0.9,
        "weight_decay": 1e-4,
        "grad_clip": 10.0,
        "unfreeze_step": 10000,
        "backbone_lr_scale": 0.1,
        "frozen_units": 0,  # the backbone's lowest units (stem first) that stay frozen after unfreeze_step
        "log_every": 50,
        "eval_every": 500,
        "eval_batches": 4,
        "checkpoint_every": 500,
        "workers": 2,
        "dtype": "auto",  # bfloat16 on GPU/TPU, float32 on CPU
    })
    # data.sources: name -> {"weight": mixing weight, "root": dataset folder, reader options}; see
    # automatch_jax.data.pair_sources. The default trains on still scenes synthesised from the imagery cache.
    config.data = ml_collections.ConfigDict({"imagery": "", "validation_fraction": 0.1, "pairs": {},
                                             "sources": {"synthetic": {"weight": 1.0}}})
    config.loss = ml_collections.ConfigDict({"reg_weight": 1.0, "cls": "bce", "iou": "log", "radius": 0.5})
    config.inference = ml_collections.ConfigDict({})
    # The BCM search (automatch search): the paper's 5 epochs of 6e5 pairs at batch 128 are ~23k steps;
    # weights: SGD, lr 1e-3 -> 1e-4; manipulators: Adam as in DARTS; tau 1 and no Gumbel noise as in the paper.
    config.search = ml_collections.ConfigDict({
        "space": (),  # empty: the architecture's operators (search_space)
        "keep": 2,
        "order": "second",  # first | second (exact, through the inner optax step) | second-fd (DARTS' approximation)
        "steps": 23000,
        "batch_size": 32,
        "seed": 0,
        "lr": 1e-3,
        "final_lr": 1e-4,
        "momentum": 0.9,
        "weight_decay": 1e-4,
        "grad_clip": 10.0,
        "arch_lr": 3e-4,
        "arch_weight_decay": 1e-3,
        "arch_b1": 0.5,
        "arch_b2": 0.999,
        "tau": 1.0,
        "noise": 0.0,
        "init": 0.5,
        "scalar": False,  # ablation: one manipulator per operator
        "random": False,  # ablation: two random operators per branch, no search
        "freeze_backbone": True,
        "log_every": 50,
        "checkpoint_every": 500,
        "workers": 2,
        "dtype": "auto",
    })
    return config


def search_space(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The operators ``automatch search`` searches over: ``config.search.space``, or when it is empty the whole
    space of the config's architecture (:func:`architecture_operators`); one line for a name it does not know
    (:func:`~automatch_jax.models.config.check_operators`)."""
    arch = model_arch(config["model"])
    space = tuple(config["search"].get("space", ()) or architecture_operators(arch))
    check_operators(space, arch, "search.space")
    return space


def check_keep(keep: int, space: Sequence[str]) -> None:
    """One line when ``search.keep`` exceeds the operators of the search space ``space`` (:func:`search_space`)."""
    if keep > len(space):
        raise AutomatchError(f"search.keep {keep} exceeds the {len(space)} operators of search.space")


def load_config(spec: str | Path) -> ml_collections.ConfigDict:
    """The config of ``path/to/file.py[:arg]``; a clear :class:`AutomatchError` for a missing or broken file."""
    text = str(spec)
    path_text, _, arg = text.partition(":") if not Path(text).is_file() else (text, "", "")
    path = Path(path_text)
    if not path.is_file():
        raise AutomatchError(f"{path}: config file not found")
    module_spec = importlib.util.spec_from_file_location(f"automatch_config_{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise AutomatchError(f"{path}: config file fails to load ({type(exc).__name__}: {exc})") from None
    if not hasattr(module, "get_config"):
        raise AutomatchError(f"{path}: config file has no get_config()")
    try:
        config = module.get_config(arg) if arg else module.get_config()
    except (KeyError, ValueError, TypeError) as exc:
        raise AutomatchError(f"{path}: get_config({arg!r}) failed ({exc})") from None
    if "model" not in config:
        raise AutomatchError(f"{path}: config has no 'model' section")
    return config


# --- the schema: every key of the defaults with its type, plus the values each accepts -------------------------------

COMMANDS = ("train", "search")
LOSS_KINDS = {"cls": CLS_LOSSES, "iou": IOU_LOSSES}
# the bilevel approximations search.bilevel implements (defined here: the schema sits below search)
SEARCH_ORDERS = ("first", "second", "second-fd")
OWN_SECTIONS = {"train": ("model", "data", "loss", "inference", "train"), "search": ("model", "data", "loss", "search")}
READ_WITH_DEFAULT = {"train": {"dtype", "frozen_units"}, "search": {"dtype", "random"}, "data": {"imagery", "sources"}}


@dataclasses.dataclass(frozen=True)
class Rule:
    """What one setting accepts.

    ``kind`` is the default's type: ``int``, ``float`` (an integer is fine too), ``bool``, ``str``, ``Path`` (a string
    or path-like) or ``tuple`` (a non-empty list of strings). Numbers must lie between ``low`` and ``high`` (either
    may be None); ``exclusive`` names the ends excluded (``"low"``, ``"high"`` or ``"both"``). ``choices`` are the
    strings allowed (for a tuple, for each of its elements).
    """

    kind: type | None = None
    low: float | None = None
    high: float | None = None
    exclusive: str = ""
    choices: tuple[str, ...] = ()
    empty: bool = False  # a tuple may be empty

    def allowed(self, strict: bool = True) -> str:
        """What the rule accepts, in words (``strict=False``: the type alone)."""
        if self.kind is tuple:
            things = f"names from {', '.join(self.choices)}" if self.choices and strict else "strings"
            return f"a {'' if self.empty else 'non-empty '}list of {things}"
        if self.kind is str:
            return f"one of {', '.join(map(repr, self.choices))}" if self.choices and strict else "a string"
        if self.kind is Path:
            return "a path (a string)"
        if self.kind is bool:
            return "True or False"
        text = "an integer" if self.kind is int else "a number"
        if not strict or (self.low is None and self.high is None):
            return text if self.kind is int or not strict else f"a finite {text[2:]}"
        low_open, high_open = self.exclusive in ("low", "both"), self.exclusive in ("high", "both")
        if self.high is None:
            return f"{text} {'>' if low_open else '>='} {self.low:g}"
        if self.low is None:
            return f"{text} {'<' if high_open else '<='} {self.high:g}"
        return f"{text} in {'(' if low_open else '['}{self.low:g}, {self.high:g}{')' if high_open else ']'}"

    def accepts(self, value: Any, strict: bool = True) -> bool:
        """Whether ``value`` has the rule's type and (``strict``) lies in its range or choices."""
        if self.kind is bool:
            return isinstance(value, bool)
        if self.kind is str:
            return isinstance(value, str) and (not strict or not self.choices or value in self.choices)
        if self.kind is Path:
            return isinstance(value, str | os.PathLike)
        if self.kind is tuple:
            if isinstance(value, str) or not isinstance(value, tuple | list) or not (value or self.empty):
                return False
            if not all(isinstance(v, str) for v in value):
                return False
            return not strict or not self.choices or all(v in self.choices for v in value)
        number = numbers.Integral if self.kind is int else numbers.Real
        if isinstance(value, bool) or not isinstance(value, number):
            return False
        if not strict:
            return True
        value = float(value)
        low_open, high_open = self.exclusive in ("low", "both"), self.exclusive in ("high", "both")
        return math.isfinite(value) and not (
            (self.low is not None and (value < self.low or (low_open and value == self.low)))
            or (self.high is not None and (value > self.high or (high_open and value == self.high)))
        )


def _at_least(low: float, exclusive: bool = False) -> Rule:
    return Rule(low=low, exclusive="low" if exclusive else "")


_POSITIVE, _NON_NEGATIVE, _COUNT = _at_least(0, exclusive=True), _at_least(0), _at_least(1)
_UNIT, _MOMENTUM = Rule(low=0, high=1), Rule(low=0, high=1, exclusive="high")

# every architecture's operator names
ALL_OPERATORS = tuple(dict.fromkeys(op for arch in ARCHITECTURES for op in architecture_operators(arch)))
# the values each setting accepts beyond its type (its type comes from its default)
LIMITS: dict[str, dict[str, Rule]] = {
    "top": {"backbone_weights": Rule(Path), "init_from": Rule(Path)},
    "model": {
        "channels": _COUNT, "tower_layers": _NON_NEGATIVE, "tower_channels": _COUNT, "search_size": _COUNT,
        "exemplar_size": _COUNT, "exemplar_cells": _COUNT, "dtype": Rule(choices=tuple(DTYPES)),
        # either architecture's names; build_network (check_operators) checks them against model.arch's own
        "cls_operators": Rule(choices=ALL_OPERATORS), "reg_operators": Rule(choices=ALL_OPERATORS),
    },
    "train": {
        "seed": _NON_NEGATIVE, "batch_size": _COUNT, "steps": _COUNT, "lr": _POSITIVE, "warmup_lr": _NON_NEGATIVE,
        "warmup_steps": _NON_NEGATIVE, "final_lr": _POSITIVE, "momentum": _MOMENTUM, "weight_decay": _NON_NEGATIVE,
        "grad_clip": _POSITIVE, "unfreeze_step": _NON_NEGATIVE, "backbone_lr_scale": _NON_NEGATIVE,
        "frozen_units": _NON_NEGATIVE, "log_every": _COUNT, "eval_every": _COUNT, "eval_batches": _COUNT,
        "checkpoint_every": _COUNT, "workers": _NON_NEGATIVE, "dtype": Rule(choices=COMPUTE_DTYPES),
    },
    "search": {
        "space": Rule(tuple, empty=True), "keep": _COUNT, "order": Rule(choices=SEARCH_ORDERS),
        "steps": _COUNT, "batch_size": _COUNT, "seed": _NON_NEGATIVE, "lr": _POSITIVE, "final_lr": _POSITIVE,
        "momentum": _MOMENTUM, "weight_decay": _NON_NEGATIVE, "grad_clip": _POSITIVE, "arch_lr": _POSITIVE,
        "arch_weight_decay": _NON_NEGATIVE, "arch_b1": _MOMENTUM, "arch_b2": _MOMENTUM, "tau": _POSITIVE,
        "noise": _NON_NEGATIVE, "log_every": _COUNT, "checkpoint_every": _COUNT, "workers": _NON_NEGATIVE,
        "dtype": Rule(choices=COMPUTE_DTYPES),
    },
    "loss": {"reg_weight": _NON_NEGATIVE, "cls": Rule(choices=LOSS_KINDS["cls"]),
             "iou": Rule(choices=LOSS_KINDS["iou"]), "radius": Rule(low=0, high=1, exclusive="low")},
    "data": {"imagery": Rule(Path), "validation_fraction": Rule(low=0, high=0.5, exclusive="low")},
    "data.pairs": {
        "context": _NON_NEGATIVE, "target_min": _POSITIVE, "target_max": Rule(low=0, high=SCENE / 2, exclusive="both"),
        "motion": _NON_NEGATIVE, "scale_change": _NON_NEGATIVE, "aspect_change": _NON_NEGATIVE,
        "rotation": _NON_NEGATIVE, "shift": _NON_NEGATIVE, "scale_jitter": _NON_NEGATIVE, "negative": _UNIT,
        "frame_gap": _NON_NEGATIVE, "distractors": _NON_NEGATIVE, "lookalike": _UNIT, "occlusion": _UNIT,
        "colour": _UNIT, "blur": _UNIT, "grey": _UNIT, "flip": _UNIT,
    },
    "data.sources": {"weight": _NON_NEGATIVE, "attributes": Rule(low=0, high=len(ATTRIBUTES))},
}
PAIR_SIZES = ("exemplar_size", "search_size")  # data.pairs keys that model.exemplar_size / search_size decide


def _rule(section: str, key: str, default: Any) -> Rule:
    """The rule of ``section.key``: the type of its ``default`` with the section's limits."""
    limits = LIMITS.get(section, {}).get(key, Rule())
    if limits.kind is not None:
        return limits
    kind = next(t for t in (bool, int, float, str, tuple) if isinstance(default, t) or (t is tuple and isinstance(
        default, list)))
    return dataclasses.replace(limits, kind=kind)


def _model_rules() -> dict[str, Rule]:
    """``config.model``: the keys of :func:`default_model_config` and every other field ``build_network`` takes."""
    from automatch_jax.models.automatch import AutoMatchNet
    from automatch_jax.models.tracker_net import TrackerNet

    defaults = dict(default_model_config())
    for module in (TrackerNet, AutoMatchNet):
        for name, field in module.__dataclass_fields__.items():
            if name not in ("parent", "name") and name not in defaults:
                defaults[name] = field.default
    rules = {key: _rule("model", key, value) for key, value in defaults.items()}
    rules["backbone"] = Rule(str, choices=tuple(BACKBONES))
    rules["arch"] = Rule(str, choices=tuple(ARCHITECTURES))
    return rules


def _source_options(name: str) -> tuple[str, ...]:
    """The settings a ``data.sources`` entry ``name`` takes besides ``weight``: its reader's keyword arguments."""
    if name in IMAGERY_SOURCES:
        return IMAGERY_SOURCES.metadata(name)["settings"]
    reader = TRAINING_SETS.get(name)
    return ("root", *(p for p in inspect.signature(reader).parameters if p not in ("root", "progress")))


def config_schema() -> dict[str, dict[str, Rule]]:
    """Section name -> key -> :class:`Rule`, derived from :func:`default_training_config`,
    :func:`~automatch_jax.models.config.default_model_config`, :class:`~automatch_jax.data.pairs.PairConfig` and
    :class:`~automatch_jax.models.settings.TrackerSettings` (``data.sources`` entries are checked by name)."""
    defaults = default_training_config(ml_collections.ConfigDict())
    schema = {section: {key: _rule(section, key, value) for key, value in defaults[section].items()}
              for section in ("train", "search", "loss")}
    schema["data"] = {key: _rule("data", key, defaults.data[key]) for key in ("imagery", "validation_fraction")}
    schema["data.pairs"] = {f.name: _rule("data.pairs", f.name, f.default) for f in dataclasses.fields(PairConfig)
                            if f.name not in PAIR_SIZES}
    schema["inference"] = {f.name: Rule(float) for f in dataclasses.fields(TrackerSettings)}
    schema["model"] = _model_rules()
    return schema


def _entries(value: Any, where: str) -> dict[str, Any]:
    """The ``key -> value`` entries of a config section (a ``ConfigDict`` or a mapping)."""
    if isinstance(value, ml_collections.ConfigDict):
        return {key: value[key] for key in value}
    if isinstance(value, Mapping):
        return dict(value)
    raise AutomatchError(f"{where}: expected a section (a dict of settings), got {value!r}")


def _unknown(where: str, key: str, known: list[str] | tuple[str, ...], what: str = "setting") -> AutomatchError:
    close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.7)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return AutomatchError(f"{where}.{key}: unknown {what}{hint}; known: {', '.join(sorted(known))}")


def _check_section(entries: dict[str, Any], rules: dict[str, Rule], where: str, strict: bool,
                   required: tuple[str, ...] = ()) -> None:
    """Unknown keys, missing ``required`` keys and values their rule refuses are one :class:`AutomatchError`."""
    for key in entries:
        if key not in rules:
            raise _unknown(where, key, list(rules))
    for key in required:
        if key not in entries:
            raise AutomatchError(f"{where}.{key}: missing (build the config on default_training_config)")
    for key, value in entries.items():
        rule = rules[key]
        if not rule.accepts(value, strict):
            raise AutomatchError(f"{where}.{key} = {value!r}: expected {rule.allowed(strict)}")


def _check_model(entries: dict[str, Any], strict: bool) -> None:
    rules = _model_rules()
    _check_section(entries, rules, "model", strict)
    if not strict:
        return
    try:  # build_network also checks the operators against model.arch's (check_operators)
        geometry = build_network(entries).geometry
    except ValueError as exc:
        raise AutomatchError(f"model: {exc}") from None
    if geometry.score_size < 1:
        raise AutomatchError(f"model.search_size {geometry.search_size}: the score map would be empty")


def _check_pairs(value: Any, strict: bool) -> None:
    entries = _entries(value, "data.pairs")
    for key in PAIR_SIZES:
        if key in entries:
            raise AutomatchError(f"data.pairs.{key}: set by model.{key} (the network's crop size); remove it here")
    _check_section(entries, config_schema()["data.pairs"], "data.pairs", strict)
    defaults = PairConfig()
    low, high = entries.get("target_min", defaults.target_min), entries.get("target_max", defaults.target_max)
    if strict and low > high:
        raise AutomatchError(f"data.pairs.target_min {low:g} exceeds data.pairs.target_max {high:g}")


def _check_sources(value: Any, strict: bool) -> None:
    entries = _entries(value, "data.sources")
    known = [*IMAGERY_SOURCES, *TRAINING_SETS]
    weights = []
    for name, spec in entries.items():
        where = f"data.sources.{name}"
        if name not in known:
            raise _unknown("data.sources", name, known, "training source")
        spec = _entries(spec, where)
        options = ("weight", *_source_options(name))
        kinds = {"weight": float, "root": Path, "attributes": int}  # reader options are strings
        rules = {key: dataclasses.replace(LIMITS["data.sources"].get(key, Rule()), kind=kinds.get(key, str))
                 for key in options}
        _check_section(spec, rules, where, strict)
        weight = float(spec.get("weight", 1.0))
        weights.append(weight)
        if strict and weight > 0 and "root" in options:
            root = spec.get("root", "")
            if not root:
                raise AutomatchError(f"{where}.root: missing (the dataset folder)")
            if not Path(root).is_dir():
                raise AutomatchError(f"{where}.root {root}: dataset folder not found")
    if strict and entries and not any(w > 0 for w in weights):
        raise AutomatchError("data.sources: every weight is 0; give at least one source a weight > 0")


def _check_inference(value: Any, strict: bool) -> None:
    entries = _entries(value, "inference")
    _check_section(entries, config_schema()["inference"], "inference", strict)
    if strict:
        try:
            TrackerSettings.from_dict(entries)
        except AutomatchError as exc:
            raise AutomatchError(f"inference: {exc}") from None


def _check_cross(config: Mapping[str, Any], command: str) -> None:
    """Rules between settings of the command's own sections."""
    if command == "train":
        tc = config["train"]
        if tc["eval_every"] % tc["log_every"]:
            raise AutomatchError(f"train.eval_every {tc['eval_every']} is not a multiple of train.log_every "
                                 f"{tc['log_every']} (validation runs at logged steps)")
        units = BACKBONES.metadata(config["model"].get("backbone", DEFAULT_BACKBONE))["units"]
        if tc.get("frozen_units", 0) >= units:
            raise AutomatchError(f"train.frozen_units {tc['frozen_units']}: the backbone has {units} units (stem "
                                 f"first); keep at most {units - 1} frozen, or never unfreeze it (train.unfreeze_step "
                                 "beyond train.steps)")
    else:
        sc = config["search"]
        space = list(search_space(config))
        if len(set(space)) < len(space):
            raise AutomatchError(f"search.space {tuple(space)}: names an operator twice")
        check_keep(sc["keep"], space)


def _check_init_from(init_from: str, model: Mapping[str, Any], command: str) -> None:
    """``init_from`` names a readable tracker checkpoint of the same network as ``model`` (its manifest only)."""
    if command != "train":
        raise AutomatchError(f"init_from {init_from}: only `automatch train` starts from a checkpoint's weights")
    try:
        _, manifest = load_manifest(init_from)
    except AutomatchError as exc:
        raise AutomatchError(f"init_from: {exc}") from None
    theirs = manifest["model"]

    def shown(values: Mapping[str, Any], key: str) -> str:
        return repr(jsonable(values[key])) if key in values else "unset"

    for key in sorted(set(model) | set(theirs)):
        if key != "dtype" and jsonable(model.get(key)) != jsonable(theirs.get(key)):
            raise AutomatchError(f"init_from {init_from}: a different network (model.{key} is {shown(theirs, key)} "
                                 f"there, {shown(model, key)} in this config)")


def validate_config(config: ml_collections.ConfigDict | Mapping[str, Any], command: str) -> None:
    """Checks the whole of ``config`` for ``command`` (``"train"`` or ``"search"``) before any work starts.

    Every section is checked against :func:`config_schema`: unknown keys (with the nearest known one), missing keys
    of ``train``/``search``, the type of every value; the sections the command uses (``OWN_SECTIONS``) also have
    their values checked (ranges, choices, registered names, dataset folders, the network's geometry, inference
    settings as :class:`~automatch_jax.models.settings.TrackerSettings` takes them). The first problem is one
    :class:`AutomatchError` naming the key and what it accepts.
    """
    if command not in COMMANDS:
        raise ValueError(f"validate_config: command {command!r} is not one of {', '.join(COMMANDS)}")
    top = _entries(config, "config")
    schema = config_schema()
    sections = ("model", "train", "data", "loss", "inference", "search")
    top_rules = {"name": Rule(str), **LIMITS["top"]}
    for key in top:
        if key not in top_rules and key not in sections:
            raise _unknown("config", key, [*top_rules, *sections], "section or setting")
    for section in ("model", "data", "loss", command):
        if section not in top:
            raise AutomatchError(f"config has no {section!r} section (build it on default_training_config)")
    _check_section({k: v for k, v in top.items() if k in top_rules}, top_rules, "config", strict=True)
    weights = top.get("backbone_weights", "")
    if weights and str(weights) != "imagenet" and not Path(weights).exists():
        raise AutomatchError(f"backbone_weights {weights}: weight file or folder not found")
    if top.get("init_from", ""):
        _check_init_from(str(top["init_from"]), _entries(top["model"], "model"), command)
    own = OWN_SECTIONS[command]
    entries = {section: _entries(top[section], section) for section in sections if section in top}
    _check_model(entries["model"], strict=True)
    for section in ("train", "search", "loss"):
        if section in entries:
            required = tuple(k for k in schema[section] if k not in READ_WITH_DEFAULT.get(section, ()))
            _check_section(entries[section], schema[section], section, section in own,
                           required if section in ("train", "search") else ())
    data = entries["data"]
    known_data = [*schema["data"], "pairs", "sources"]
    for key in data:
        if key not in known_data:
            raise _unknown("data", key, known_data)
    for key in ("validation_fraction", "pairs"):
        if key not in data:
            raise AutomatchError(f"data.{key}: missing (build the config on default_training_config)")
    _check_section({k: v for k, v in data.items() if k in schema["data"]}, schema["data"], "data", strict=True)
    _check_pairs(data["pairs"], strict=True)
    _check_sources(data.get("sources") or {}, strict=True)
    if "inference" in entries:
        _check_inference(entries["inference"], "inference" in own)
    _check_cross(entries, command)
