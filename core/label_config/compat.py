"""Whether existing annotations still fit a new labeling config.

Follows Label Studio's Project.validate_config: results whose control
(from_name / to_name / type) vanished make the config incompatible; labels
removed from a still-present control are an error only in strict mode.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from .parsed import ParsedConfig

INCOMPATIBLE_PREFIX = "Created annotations are incompatible with provided labeling schema, we found:\n"

ControlUsage = tuple[str, str, str]  # (from_name, to_name, result type)

# Result types that never name a control of their own.
_NON_CONTROL_RESULT_TYPES = frozenset({"relation", "pairwise"})


def labels_by_control(parsed: Mapping[str, Mapping[str, Any]]) -> dict[str, set[str]]:
    return {name: set(info.get("labels", [])) for name, info in parsed.items()}


def labels_used_in_results(results: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
    """from_name -> label values used; controls used without labels map to an empty set."""
    used: dict[str, set[str]] = {}
    for result in _control_results(results):
        used.setdefault(result["from_name"], set()).update(_result_labels(result))
    return used


def controls_used_in_results(results: Iterable[Mapping[str, Any]]) -> Counter[ControlUsage]:
    """How many results each (from_name, to_name, type) produced, like Label Studio's project summary."""
    return Counter(
        (result["from_name"], result["to_name"], str(result["type"]).lower())
        for result in _control_results(results)
    )


def _control_results(results: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for result in results or ():
        if not isinstance(result, Mapping) or result.get("type") in (None, *_NON_CONTROL_RESULT_TYPES):
            continue
        if isinstance(result.get("from_name"), str) and isinstance(result.get("to_name"), str):
            yield result


def _result_labels(result: Mapping[str, Any]) -> list[str]:
    result_type = result["type"]
    if result_type == "videorectangle":  # video boxes keep their labels under "labels"
        result_type = "labels"
    value = result.get("value")
    options = value.get(result_type) if isinstance(value, Mapping) else None
    # TextArea's "text" list holds free text, not labels
    if not options or not isinstance(options, list) or result_type == "text":
        return []
    labels: list[str] = []
    for option in options:
        # taxonomy stores paths: [["Animal", "Cat"], ...]
        if result_type == "taxonomy" and isinstance(option, list):
            labels.extend(str(part) for part in option)
        else:
            labels.append(str(option))
    return labels


def incompatibility_errors(
    parsed: ParsedConfig,
    used_labels: Mapping[str, Iterable[str]],
    used_controls: Mapping[ControlUsage, int] | None,
    strict_labels: bool,
) -> list[str]:
    missing = _missing_control_lines(parsed, used_labels, used_controls)
    if missing:
        return [INCOMPATIBLE_PREFIX + "\n".join(missing)]
    if not strict_labels:
        return []
    return [
        error
        for from_name, labels in used_labels.items()
        if (error := _removed_labels_error(parsed, from_name, set(labels)))
    ]


def _missing_control_lines(
    parsed: ParsedConfig,
    used_labels: Mapping[str, Iterable[str]],
    used_controls: Mapping[ControlUsage, int] | None,
) -> list[str]:
    if used_controls is None:
        return [f"annotations with from_name={name}" for name in used_labels if _find_control(parsed, name) is None]
    config_types = {info["type"].lower() for info in parsed.values()}
    lines = []
    for (from_name, to_name, result_type), count in used_controls.items():
        if result_type == "textarea":  # Label Studio lets TextArea go (DEV-1598)
            continue
        if (
            _find_control(parsed, from_name) is None
            or not _to_name_in_config(parsed, to_name)
            or result_type not in config_types
        ):
            lines.append(f"{count} with from_name={from_name}, to_name={to_name}, type={result_type}")
    return lines


def _removed_labels_error(parsed: ParsedConfig, from_name: str, used: set[str]) -> str | None:
    control = _find_control(parsed, from_name)
    if not used or control is None or _labels_are_open(parsed[control]):
        return None
    allowed = set(parsed[control].get("labels", []))
    if any(info["type"] == "VideoRectangle" for info in parsed.values()):
        # VideoRectangle has no labels of its own: it borrows every control's
        allowed |= {label for info in parsed.values() for label in info.get("labels", [])}
    removed = sorted(used - allowed)
    if not removed:
        return None
    listed = "".join(f"{label}\n" for label in removed)
    return (
        f"These labels still exist in annotations or drafts:\n{listed}"
        f'Please add labels to tag with name="{from_name}".'
    )


def _labels_are_open(info: Mapping[str, Any]) -> bool:
    # dynamic labels come from task data; Taxonomy user labels live outside the config
    return bool(info.get("dynamic_labels")) or info["type"] == "Taxonomy"


def _find_control(parsed: ParsedConfig, from_name: str) -> str | None:
    if from_name in parsed:
        return from_name
    for name, info in parsed.items():
        if _name_pattern(name, info).fullmatch(from_name):
            return name
    return None


def _to_name_in_config(parsed: ParsedConfig, to_name: str) -> bool:
    return any(
        _name_pattern(candidate, info).fullmatch(to_name) for info in parsed.values() for candidate in info["to_name"]
    )


def _name_pattern(name: str, info: Mapping[str, Any]) -> re.Pattern[str]:
    # Repeater names like "image_{{idx}}" stand for "image_0", "image_1", ...
    pattern = re.escape(name)
    for flag, replacement in info.get("regex", {}).items():
        pattern = pattern.replace(re.escape(flag), replacement)
    return re.compile(pattern)
