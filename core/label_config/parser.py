"""Safe XML parsing of labeling configs.

lxml never resolves entities, loads a DTD or touches the network here, and any
DOCTYPE is refused outright (as Label Studio does with defusedxml's
forbid_dtd), so XXE and entity-expansion payloads are rejected unread.
"""
from __future__ import annotations

import re
from xml.parsers import expat

from lxml import etree

from core.errors import ValidationError

from .tags import ROOT_TAG

FIELD = "label_config"
DTD_FORBIDDEN_MESSAGE = "Label config must not contain a DOCTYPE, DTD or entity declarations"
NOT_A_STRING_MESSAGE = "can only parse strings"

_DTD_MARKER = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _make_parser() -> etree.XMLParser:
    # encoding is forced: the text is always handed over as UTF-8 bytes, even
    # when its <?xml?> declaration names another encoding (expat does the same).
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        encoding="utf-8",
    )


def label_config_error(*messages: str) -> ValidationError:
    return ValidationError({FIELD: list(messages)})


def parse_label_config_xml(xml: str) -> etree._Element:
    """Parse a labeling config into a fresh lxml element, or raise ValidationError."""
    if not isinstance(xml, str):
        raise label_config_error(NOT_A_STRING_MESSAGE)
    try:
        # a new parser per call: lxml parsers are not safe to share across threads
        root = etree.fromstring(xml.encode("utf-8"), _make_parser())
    except UnicodeEncodeError as exc:  # lone surrogates cannot be XML text
        raise label_config_error(f"not well-formed (invalid token): {exc.reason}") from None
    except etree.XMLSyntaxError as exc:
        raise label_config_error(_syntax_error_message(xml, exc)) from None
    if _has_dtd(root):
        raise label_config_error(DTD_FORBIDDEN_MESSAGE)
    _require_view_root(root)
    return root


def _has_dtd(root: etree._Element) -> bool:
    docinfo = root.getroottree().docinfo
    return bool(docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None)


def _require_view_root(root: etree._Element) -> None:
    tag = root.tag if isinstance(root.tag, str) else ""
    if tag.lower() != ROOT_TAG:
        raise label_config_error(f"Label config root tag must be <View>, found <{tag}>")


def _syntax_error_message(xml: str, exc: etree.XMLSyntaxError) -> str:
    if _DTD_MARKER.search(xml):
        return DTD_FORBIDDEN_MESSAGE
    # Label Studio reports expat's wording ("mismatched tag: line 1, column 14"),
    # so ask expat for it; fall back to lxml's text when expat accepts the input.
    return _expat_error_message(xml) or exc.msg or str(exc)


def _expat_error_message(xml: str) -> str | None:
    # Only ever called on DTD-free text, so there is nothing for expat to expand
    # or fetch; the doctype handler is a second lock on that door.
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    try:
        parser.Parse(xml, True)
    except expat.ExpatError as exc:
        return str(exc)
    except ValueError:
        return DTD_FORBIDDEN_MESSAGE
    return None


def _refuse_doctype(*_args: object) -> None:
    raise ValueError("DOCTYPE forbidden")
