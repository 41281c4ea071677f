"""An example task for a labeling config: every `$variable` the config reads, with a sample
value that suits the tag reading it (what Label Studio's import example shows).

The tag type and its attributes (valueType, nameKey/textKey, Channel columns) decide the value.
Media are URLs on example.com, the domain reserved for documentation: an example shows the
expected format, nothing is fetched."""
from __future__ import annotations

import json
import math
from typing import Any

from lxml import etree

from core import label_config as lc

SAMPLE_TEXT = "Sample: a short text to label."
SAMPLE_HTML = "<p>Sample: <b>HTML</b> to label.</p>"
_MEDIA_URLS = {
    "image": "https://example.com/samples/image.jpg",
    "audio": "https://example.com/samples/audio.wav",
    "audioplus": "https://example.com/samples/audio.wav",
    "video": "https://example.com/samples/video.mp4",
    "pdf": "https://example.com/samples/document.pdf",
}
_URLS_BY_TAG = {
    "text": "https://example.com/samples/text.txt",
    "hypertext": "https://example.com/samples/page.html",
    "paragraphs": "https://example.com/samples/dialogue.json",
    "timeseries": "https://example.com/samples/time-series.csv",
}
_DIALOGUE = (("Alice", "Sample: Hi, Bob."), ("Bob", "Sample: Hello, Alice!"), ("Alice", "Sample: Shall we label?"))
_TIME_SERIES_POINTS = 20


def _paragraphs(element: etree._Element) -> list[dict]:
    name_key = element.get("nameKey") or element.get("namekey") or "author"
    text_key = element.get("textKey") or element.get("textkey") or "text"
    return [{name_key: author, text_key: text} for author, text in _DIALOGUE]


def _time_series(element: etree._Element) -> dict:
    """Columns as JSON: the time column counts up, each channel is a sine wave."""
    columns = [channel.get("column") for channel in element.iter() if isinstance(channel.tag, str)
               and channel.tag.lower() == "channel" and channel.get("column")]
    series: dict[str, list] = {element.get("timeColumn") or "time": list(range(_TIME_SERIES_POINTS))}
    for offset, column in enumerate(columns):
        series[column] = [round(math.sin(step / 3 + offset), 4) for step in range(_TIME_SERIES_POINTS)]
    return series


def _options(prefix: str, nested: bool) -> list[dict]:
    if nested:
        return [{"value": f"{prefix} {n}", "children": [{"value": f"{prefix} {n}.{m}"} for m in (1, 2)]} for n in (1, 2)]
    return [{"value": f"{prefix} {n}"} for n in (1, 2, 3)]


def _sample_value(element: etree._Element) -> Any:
    tag = element.tag.lower()
    value_type = element.get("valueType") or element.get("valuetype")
    as_url = value_type == "url" or (tag == "timeseries" and value_type != "json")
    if as_url and tag in _URLS_BY_TAG:
        return _URLS_BY_TAG[tag]
    if tag in _MEDIA_URLS:
        return _MEDIA_URLS[tag]
    if tag == "paragraphs":
        return _paragraphs(element)
    if tag == "timeseries":
        return _time_series(element)
    if tag == "hypertext":
        return SAMPLE_HTML
    if tag == "header":
        return "Sample: a header"
    if tag == "markdown":
        return "**Sample:** markdown to label."
    if tag == "table":
        return {"name": "Sample", "size": 42}
    if tag == "chat":
        return [{"role": "user", "content": "Sample: Hello!"}, {"role": "assistant", "content": "Sample: Hi, how can I help?"}]
    if tag == "list":
        return [{"id": n, "title": f"Sample: item {n}", "body": f"Sample: text of item {n}."} for n in (1, 2, 3)]
    if tag.endswith("labels") or tag == "labels":
        return _options("Label", nested=False)
    if tag in ("choices", "taxonomy"):
        nested = (element.get("allowNested") or element.get("allownested")) == "true" or tag == "taxonomy"
        return _options("Choice", nested=nested)
    return SAMPLE_TEXT


def _put(task: dict, key: str, value: Any) -> None:
    """`a.b` reads task["a"]["b"] and `items[{{idx}}].url` a list of objects (Repeater): build them so."""
    if "[" in key:
        base, _, rest = key.partition("[")
        child = rest.partition("]")[2].lstrip(".")
        task[base] = [{child: value} if child else value for _ in range(2)]
        return
    *parents, leaf = key.split(".")
    target = task
    for parent in parents:
        child = target.get(parent)
        if not isinstance(child, dict):
            child = target[parent] = {}
        target = child
    target[leaf] = value


def _predefined_data(root: etree._Element) -> dict | None:
    """Task data written in a config comment (`<!-- {"data": {...}} -->`), as Label Studio's
    templates carry their example."""
    comments = [*root.itersiblings(preceding=True), *root.iter()]
    for node in comments:
        if not isinstance(node, etree._Comment):
            continue
        text = (node.text or "").strip()
        if not text.startswith("{"):
            continue
        try:
            body = json.loads(text)
        except ValueError:
            continue
        if not isinstance(body, dict):
            continue
        if isinstance(body.get("data"), dict):
            return body["data"]
        if "predictions" not in body and "annotations" not in body:
            return body
    return None


def sample_task_data(config: str) -> dict:
    """Example task data for a config; raises ValidationError({"label_config": [...]}) when the
    config is not valid."""
    lc.validate_label_config(config)
    root = lc.parse_label_config_xml(config)
    task: dict = {}
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        variable = element.get("value") or element.get("valueList")
        if not variable or not variable.startswith("$") or len(variable) == 1:
            continue
        value = _sample_value(element)
        if "valueList" in element.attrib and not isinstance(value, list):
            value = [value]
        _put(task, variable[1:], value)
    predefined = _predefined_data(root)
    if predefined:
        task.update(predefined)
    return task
