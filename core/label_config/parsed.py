"""Label Studio's derived views of a config: `parsed_label_config` and `data_types`.

The output must equal Label Studio 1.23.2 byte for byte once JSON-encoded
(the project API returns it), so key order and the odd corner cases
(no trimming of toName, Repeater regexes, Video priority) are kept.
"""
from __future__ import annotations

import re
from typing import Any

from lxml import etree

from .tags import PARSE_CONFIG_LABEL_TAGS, PARSE_CONFIG_NOT_CONTROL_TAGS
from .validation import iter_elements

ParsedConfig = dict[str, dict[str, Any]]

_DYNAMIC_VALUE = re.compile(r"\$[A-Za-z_]+")
_FIRST_VARIABLE = re.compile(r"\$\w+")


def build_parsed_config(root: etree._Element) -> ParsedConfig:
    index_flags: list[str] = []
    controls: ParsedConfig = {}
    inputs: dict[str, dict[str, Any]] = {}
    labels: dict[str, dict[str, dict[str, str]]] = {}
    for element in iter_elements(root):
        attrs = element.attrib
        if "indexFlag" in attrs:
            index_flags.append(attrs["indexFlag"])
        if _is_control(element):
            controls[attrs["name"]] = _control_info(element, index_flags)
        elif _is_input(element):
            inputs[attrs["name"]] = _input_info(element)
        if element.tag in PARSE_CONFIG_LABEL_TAGS:
            _collect_label(element, controls, labels)
    for name, info in controls.items():
        info["inputs"] = [inputs[to_name] for to_name in info["to_name"] if to_name in inputs]
        info["labels"] = list(labels.get(name, {}))
        info["labels_attrs"] = labels.get(name, {})
    return controls


def _is_control(element: etree._Element) -> bool:
    attrs = element.attrib
    return bool(attrs.get("name") and attrs.get("toName")) and element.tag not in PARSE_CONFIG_NOT_CONTROL_TAGS


def _is_input(element: etree._Element) -> bool:
    attrs = element.attrib
    return bool(attrs.get("name") and (attrs.get("value") or attrs.get("valueList")))


def _control_info(element: etree._Element, index_flags: list[str]) -> dict[str, Any]:
    attrs = element.attrib
    info: dict[str, Any] = {"type": element.tag, "to_name": attrs["toName"].split(",")}
    # Repeater: names containing an index flag like {{idx}} match any index
    regex = {flag: ".*" for flag in index_flags if any(flag in to_name for to_name in info["to_name"])}
    if regex:
        info["regex"] = regex
    conditionals = _conditionals(element)
    if conditionals:
        info["conditionals"] = conditionals
    if _DYNAMIC_VALUE.fullmatch(attrs.get("value", "")) or attrs.get("apiUrl"):
        info["dynamic_labels"] = True
    return info


def _conditionals(element: etree._Element) -> dict[str, str]:
    attrs = element.attrib
    if attrs.get("perRegion") != "true":
        return {}
    for attribute, kind in (("whenTagName", "tag"), ("whenLabelValue", "label"), ("whenChoiceValue", "choice")):
        if attrs.get(attribute):
            return {"type": kind, "name": attrs[attribute]}
    return {}


def _input_info(element: etree._Element) -> dict[str, Any]:
    attrs = element.attrib
    info: dict[str, Any] = {"type": element.tag, "valueType": attrs.get("valueType")}
    if "value" in attrs:
        info["value"] = attrs["value"].lstrip("$")
    else:
        info["valueList"] = attrs["valueList"].lstrip("$")
    return info


def _collect_label(
    element: etree._Element, controls: ParsedConfig, labels: dict[str, dict[str, dict[str, str]]]
) -> None:
    owner = _owning_control(element, controls)
    attrs = element.attrib
    label = attrs.get("alias") or attrs.get("value") or attrs.get("valueList")
    if owner is not None and label:
        labels.setdefault(owner, {})[label] = dict(attrs)


def _owning_control(element: etree._Element, controls: ParsedConfig) -> str | None:
    # nearest ancestor already registered as a control: options may sit in nested Views
    for ancestor in element.iterancestors():
        name = ancestor.get("name")
        if name is not None and name in controls:
            return name
    return None


def build_data_types(root: etree._Element) -> dict[str, str]:
    """Task data key -> object tag type, like Label Studio's extract_data_types."""
    data_types: dict[str, str] = {}
    for element in iter_elements(root):
        value = element.get("value")
        if element is root or value is None or not element.get("name"):
            continue
        key = _data_key(value)
        # Video outranks other tags reading the same key (e.g. Video + Audio on $url)
        if key and data_types.get(key) != "Video":
            data_types[key] = element.tag
    return data_types


def _data_key(value: str) -> str:
    if len(value) > 1 and value.startswith("$"):
        return value[1:]
    # templated values such as "Title: $title" read their first variable
    match = _FIRST_VARIABLE.search(value)
    return match.group()[1:] if match else ""
