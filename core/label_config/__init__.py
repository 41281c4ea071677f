"""Labeling configs (Label Studio XML): safe parsing, validation and derived views.

Pure Python + lxml. Every result is computed once per distinct config string
(see `_analyse`) and handed out as a fresh copy, so callers may mutate it.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from core.errors import ValidationError

from .compat import (
    INCOMPATIBLE_PREFIX,
    ControlUsage,
    controls_used_in_results,
    incompatibility_errors,
    labels_by_control,
    labels_used_in_results,
)
from .parsed import ParsedConfig, build_data_types, build_parsed_config
from .parser import DTD_FORBIDDEN_MESSAGE, NOT_A_STRING_MESSAGE, label_config_error, parse_label_config_xml
from .validation import config_errors

__all__ = [
    "DTD_FORBIDDEN_MESSAGE",
    "INCOMPATIBLE_PREFIX",
    "ControlUsage",
    "ParsedLabelConfig",
    "check_annotations_compatible",
    "config_essential_data_has_changed",
    "controls_used_in_results",
    "data_keys",
    "data_types",
    "first_object_data_key",
    "label_config_errors",
    "labels_by_control",
    "labels_used_in_results",
    "parse_label_config_xml",
    "parsed_label_config",
    "validate_label_config",
]

_CACHE_SIZE = 128  # configs can be large (big taxonomies), keep the cache bounded


@dataclass(frozen=True)
class ParsedLabelConfig:
    """A config that passed validation, with Label Studio's derived views."""

    parsed: ParsedConfig = field(default_factory=dict)  # Project.parsed_label_config
    data_types: dict[str, str] = field(default_factory=dict)  # Project.data_types

    @property
    def data_keys(self) -> list[str]:
        return list(self.data_types)

    @property
    def has_control_tags(self) -> bool:
        """Label Studio's `config_has_control_tags`."""
        return bool(self.parsed)

    @property
    def labels_by_control(self) -> dict[str, set[str]]:
        return labels_by_control(self.parsed)


@dataclass(frozen=True)
class _Analysis:
    parse_errors: tuple[str, ...] = ()  # not well-formed: nothing else could be derived
    errors: tuple[str, ...] = ()
    parsed: ParsedConfig = field(default_factory=dict)  # shared: read it, never hand it out
    parsed_json: str = "{}"  # copies come from here: json.loads beats deepcopy ~5x
    data_types: dict[str, str] = field(default_factory=dict)

    def parsed_copy(self) -> ParsedConfig:
        return json.loads(self.parsed_json)


@lru_cache(maxsize=_CACHE_SIZE)
def _analyse(xml: str) -> _Analysis:
    try:
        root = parse_label_config_xml(xml)
    except ValidationError as exc:
        return _Analysis(parse_errors=tuple(exc.errors["label_config"]))
    parsed = build_parsed_config(root)
    return _Analysis(
        errors=tuple(config_errors(root)),
        parsed=parsed,
        parsed_json=json.dumps(parsed),
        data_types=build_data_types(root),
    )


def _parsed_analysis(xml: str) -> _Analysis:
    """Analysis of a config that must at least be well-formed XML."""
    if not isinstance(xml, str):
        raise label_config_error(NOT_A_STRING_MESSAGE)
    analysis = _analyse(xml)
    if analysis.parse_errors:
        raise label_config_error(*analysis.parse_errors)
    return analysis


def _shared_parsed(xml: str | None) -> ParsedConfig:
    """The cached parse_config output, read-only; {} for an empty config like Label Studio."""
    return _parsed_analysis(xml).parsed if xml else {}


def label_config_errors(xml: str) -> list[str]:
    """Every problem with the config, or [] when it is valid. Never raises."""
    try:
        return list(_parsed_analysis(xml).errors)
    except ValidationError as exc:
        return list(exc.errors["label_config"])


def validate_label_config(xml: str) -> ParsedLabelConfig:
    """Validate like Label Studio and return the derived views; raise ValidationError with all errors."""
    analysis = _parsed_analysis(xml)
    if analysis.errors:
        raise label_config_error(*analysis.errors)
    return ParsedLabelConfig(parsed=analysis.parsed_copy(), data_types=dict(analysis.data_types))


def parsed_label_config(xml: str | None) -> ParsedConfig:
    """Label Studio's parse_config output (the project's `parsed_label_config`); {} for an empty config."""
    if not xml:
        return {}
    return _parsed_analysis(xml).parsed_copy()


def data_types(xml: str | None) -> dict[str, str]:
    """Task data key -> object tag type (Label Studio's Project.data_types); {} for an empty config."""
    if not xml:
        return {}
    return dict(_parsed_analysis(xml).data_types)


def data_keys(xml: str | None) -> list[str]:
    """Task data keys the config reads, in document order (`$meta.title` gives "meta.title")."""
    return list(data_types(xml))


def first_object_data_key(xml: str | None) -> str | None:
    """Key that receives data imported without a key (Label Studio's DATA_UNDEFINED_NAME)."""
    return next(iter(data_types(xml)), None)


def check_annotations_compatible(
    new_xml: str,
    used: Mapping[str, Iterable[str]],
    *,
    used_controls: Mapping[ControlUsage, int] | None = None,
    strict_labels: bool = True,
) -> None:
    """Raise ValidationError({"label_config": [...]}) if existing annotations don't fit `new_xml`.

    `used` is from_name -> labels (see labels_used_in_results). Pass `used_controls`
    (see controls_used_in_results) to check to_name and type too, with Label
    Studio's exact message lines. Label Studio's project PATCH is not strict about
    removed labels (it only logs them): pass strict_labels=False for that.
    """
    parsed = _parsed_analysis(new_xml).parsed
    errors = incompatibility_errors(parsed, used, used_controls, strict_labels)
    if errors:
        raise label_config_error(*errors)


def config_essential_data_has_changed(new_xml: str, old_xml: str) -> bool:
    """True when controls, their inputs or labels changed in a way that breaks saved views."""
    new, old = _shared_parsed(new_xml), _shared_parsed(old_xml)
    for name, new_info in new.items():
        old_info = old.get(name)
        if old_info is None or new_info["type"] != old_info["type"] or new_info["inputs"] != old_info["inputs"]:
            return True
        if not set(old_info["labels"]).issubset(new_info["labels"]):
            return True
    return False
