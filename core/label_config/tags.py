"""Tag vocabularies of Label Studio labeling configs.

Label Studio's backend classifies tags by their attributes (a tag with
`name` + `toName` is a control, one with `name` + `value` is an object), so
unknown tag names are accepted. These sets only add the attribute
requirements of the tags we know. Names are compared lower-cased, like the
Label Studio frontend does.
"""
from __future__ import annotations

ROOT_TAG = "view"

# Controls that produce results: they need `name` and `toName`.
# Relations (no name) and Filter (not a control) are deliberately absent.
CONTROL_TAGS: frozenset[str] = frozenset(
    {
        "bitmask",
        "bitmasklabels",
        "brush",
        "brushlabels",
        "choices",
        "datetime",
        "ellipse",
        "ellipselabels",
        "hypertextlabels",
        "keypoint",
        "keypointlabels",
        "labels",
        "magicwand",
        "number",
        "pairwise",
        "paragraphlabels",
        "polygon",
        "polygonlabels",
        "ranker",
        "rating",
        "rectangle",
        "rectanglelabels",
        "taxonomy",
        "textarea",
        "timelinelabels",
        "timeserieslabels",
        "vector",
        "vectorlabels",
        "videorectangle",
    }
)

# Objects that display task data: they need `name` and `value` (or `valueList`).
# Header is absent: its `value` may be a literal caption and it needs no name.
OBJECT_TAGS: frozenset[str] = frozenset(
    {
        "audio",
        "audioplus",
        "chat",
        "hypertext",
        "image",
        "list",
        "markdown",
        "paragraphs",
        "pdf",
        "table",
        "text",
        "timeseries",
        "video",
    }
)

# Option tags whose `value` is the label itself.
OPTION_TAGS: frozenset[str] = frozenset({"choice", "label"})

# Label Studio's schema requires these to hold options (child Choice/Label,
# a dynamic `value`, or a nested View).
OPTION_CONTAINERS: dict[str, str] = {"choices": "Choice", "labels": "Label"}

# Exact, case-sensitive sets used by Label Studio's parse_config.
PARSE_CONFIG_LABEL_TAGS: frozenset[str] = frozenset({"Label", "Choice", "Relation"})
PARSE_CONFIG_NOT_CONTROL_TAGS: frozenset[str] = frozenset({"Filter"})

# Video playback speed bounds (Label Studio 1.23 rejects values outside them).
MIN_PLAYBACK_SPEED = 0.05
MAX_PLAYBACK_SPEED = 10
