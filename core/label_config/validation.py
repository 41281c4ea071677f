"""Structural rules of a labeling config, reported all at once.

Mirrors Label Studio's checks (schema of known tags, unique names, every
`toName` pointing at an existing name) and their message wording.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from lxml import etree

from .tags import CONTROL_TAGS, MAX_PLAYBACK_SPEED, MIN_PLAYBACK_SPEED, OBJECT_TAGS, OPTION_CONTAINERS, OPTION_TAGS


def config_errors(root: etree._Element) -> list[str]:
    errors: list[str] = []
    for element in iter_elements(root):
        errors.extend(_tag_errors(element))
        errors.extend(_video_speed_errors(element))
    errors.extend(_duplicate_name_errors(root))
    errors.extend(_to_name_errors(root))
    return list(dict.fromkeys(errors))


def iter_elements(root: etree._Element) -> Iterator[etree._Element]:
    """Elements in document order, skipping comments and processing instructions."""
    return (node for node in root.iter() if isinstance(node.tag, str))


def _tag_errors(element: etree._Element) -> list[str]:
    kind = element.tag.lower()
    if kind in CONTROL_TAGS:
        missing = _missing(element, "name", "toName")
    elif kind in OBJECT_TAGS:
        missing = _missing(element, "name") + _missing_value(element, "value", "valueList")
    elif kind in OPTION_TAGS:
        missing = _missing_value(element, "value")
    else:
        missing = []
    missing += _missing_options(element, kind)
    return [_required_message(element, attribute) for attribute in missing]


def _video_speed_errors(element: etree._Element) -> list[str]:
    """Playback speed bounds Label Studio 1.23 checks on Video objects."""
    name = element.get("name")
    if element.tag.lower() != "video" or not name or not (element.get("value") or element.get("valueList")):
        return []
    errors: list[str] = []
    speeds: dict[str, float] = {}
    for attribute in ("defaultPlaybackSpeed", "minPlaybackSpeed"):
        raw = _attribute_any_case(element, attribute)
        if raw is None:
            continue
        try:
            speeds[attribute] = float(raw)
        except ValueError:
            errors.append(f'Video tag "{name}": {attribute} must be a number, got "{raw}"')
    for attribute, speed in speeds.items():
        if not MIN_PLAYBACK_SPEED <= speed <= MAX_PLAYBACK_SPEED:
            errors.append(
                f'Video tag "{name}": {attribute} must be between {MIN_PLAYBACK_SPEED} and {MAX_PLAYBACK_SPEED}, '
                f"got {speed}"
            )
    default_speed, min_speed = speeds.get("defaultPlaybackSpeed"), speeds.get("minPlaybackSpeed")
    if default_speed is not None and min_speed is not None and min_speed > default_speed:
        errors.append(
            f'Video tag "{name}": minPlaybackSpeed ({min_speed}) must not exceed defaultPlaybackSpeed ({default_speed})'
        )
    return errors


def _attribute_any_case(element: etree._Element, attribute: str) -> str | None:
    value = element.get(attribute)
    if value is None:
        value = element.get(attribute.lower())
    return value if value is not None and value.strip() else None


def _missing(element: etree._Element, *attributes: str) -> list[str]:
    return [a for a in attributes if not (element.get(a) or "").strip()]


def _missing_value(element: etree._Element, *alternatives: str) -> list[str]:
    # `value=""` is legal (e.g. a Choice meaning "empty"), only absence is not.
    return [] if any(element.get(a) is not None for a in alternatives) else [alternatives[0]]


def _missing_options(element: etree._Element, kind: str) -> list[str]:
    option_tag = OPTION_CONTAINERS.get(kind)
    if option_tag is None or element.get("value") is not None:
        return []
    child_tags = {child.tag.lower() for child in iter_children(element)}
    return [] if {option_tag.lower(), "view"} & child_tags else [option_tag]


def iter_children(element: etree._Element) -> Iterator[etree._Element]:
    return (child for child in element if isinstance(child.tag, str))


def _required_message(element: etree._Element, attribute: str) -> str:
    return f"Validation failed on {schema_path(element)}: '{attribute}' is a required property"


def schema_path(element: etree._Element) -> str:
    """Path as Label Studio's JSON schema reports it: tags, plus an index among same-tag siblings."""
    parts: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        parent = node.getparent()
        if parent is not None:
            same_tag = [child for child in iter_children(parent) if child.tag == node.tag]
            if len(same_tag) > 1:
                parts.append(str(same_tag.index(node)))
        parts.append(node.tag)
        node = parent
    return "/".join(reversed(parts))


def all_names(root: etree._Element) -> list[str]:
    return [name for element in iter_elements(root) if (name := element.get("name")) is not None]


def _duplicate_name_errors(root: etree._Element) -> list[str]:
    counts = Counter(all_names(root))
    duplicates = [name for name, count in counts.items() if count > 1]
    if not duplicates:
        return []
    return ["Label config contains non-unique names: " + ", ".join(duplicates)]


def _to_name_errors(root: etree._Element) -> list[str]:
    names = set(all_names(root))
    known = sorted(names)
    errors = []
    for element in iter_elements(root):
        to_names = element.get("toName")
        if to_names is None:
            continue
        # split like Label Studio: no trimming, so "a, b" refers to " b"
        for to_name in to_names.split(","):
            if to_name not in names:
                errors.append(f'toName="{to_name}" not found in names: {known}')
    return errors
