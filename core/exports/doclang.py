"""DOCLANG export: one DocLang archive (.dclx, an OPC zip: [Content_Types].xml, _rels/.rels,
document.xml, pages/<n>.<ext>, assets/...) per annotation, draft or prediction whose result holds a
DocLang XML document, as label_studio_sdk's converter (converter/exports/doclang.py) writes them from
Label Studio's JSON export. Reads whole tasks (not converter items): drafts, predictions and task data
count too.

Where to look for a document: a textarea's texts, a reactcode's code, and every string of a custom
result type's value (standard non-document types are skipped). A string is a DocLang document when it
parses as XML (no DTD, no entities) whose root is <doclang>, with no namespace or
https://www.doclang.ai/ns/v<N>. When no result has one, documents found under "doclang" / "document"
keys of task.data are written instead ("task-<id>-data[-<n>].dclx").

With `download_resources`, the task's page images (the config's Image value / valueList) become
pages/1.<ext>, pages/2.<ext>...; and <src uri="..."> assets of the document that are http(s) or /data/
files are copied into assets/ and the uri rewritten. Uploaded files are read from the upload directory,
remote ones are downloaded under the outgoing URL policy; what cannot be fetched is left out."""
from __future__ import annotations

import base64
import mimetypes
import posixpath
import shutil
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Iterator, Mapping, NamedTuple
from urllib.parse import parse_qsl, urlparse

from lxml import etree

from core.exports.media import MediaResolver

_NAMESPACE_PREFIX = "https://www.doclang.ai/ns/"
_MAX_DEPTH = 32
_MAX_NODES = 10_000
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
_ASSET_SUFFIXES = _IMAGE_SUFFIXES | {".svg"}
_DATA_KEYS = ("doclang", "document")
_NOT_DOCUMENTS = frozenset((
    "bitmask bitmasklabels brush brushlabels chatmessage choices datetime ellipse ellipselabels hypertextlabels "
    "keypoint keypointlabels labels magicwand number ocrlabels pairwise paragraphlabels polygon polygonlabels "
    "ranker rating rectangle rectanglelabels relation taxonomy timelinelabels timeserieslabels vector "
    "vectorlabels videorectangle videovector videovectorlabels").split())

_CONTENT_TYPES = """\
<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
  <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
  <Default Extension="png" ContentType="image/png"/>
  <Default Extension="jpg" ContentType="image/jpeg"/>
  <Default Extension="jpeg" ContentType="image/jpeg"/>
  <Default Extension="webp" ContentType="image/webp"/>
  <Default Extension="mp3" ContentType="audio/mpeg"/>
  <Default Extension="m4a" ContentType="audio/mp4"/>
  <Default Extension="aac" ContentType="audio/aac"/>
  <Default Extension="ogg" ContentType="audio/ogg"/>
  <Default Extension="opus" ContentType="audio/ogg"/>
  <Default Extension="wav" ContentType="audio/wav"/>
  <Default Extension="flac" ContentType="audio/flac"/>
  <Default Extension="mp4" ContentType="video/mp4"/>
  <Default Extension="webm" ContentType="video/webm"/>
  <Default Extension="mkv" ContentType="video/x-matroska"/>
  <Default Extension="mov" ContentType="video/quicktime"/>
  <Override PartName="/document.xml" ContentType="application/vnd.doclang.document+xml"/>
</Types>
"""
_RELATIONSHIPS = """\
<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
  <Relationship Id="rId1"
    Type="http://doclang.ai/ns/package/2026/relationships/document"
    Target="document.xml"/>
</Relationships>
"""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=False, huge_tree=True)


def doclang_document(value: str) -> bytes | None:
    """The UTF-8 bytes of `value` when it is a DocLang XML document."""
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    try:
        root = etree.fromstring(encoded, parser=_parser())
        name = etree.QName(root)
    except (ValueError, etree.XMLSyntaxError):
        return None
    namespace = name.namespace
    if namespace:
        version = namespace[len(_NAMESPACE_PREFIX):] if namespace.startswith(_NAMESPACE_PREFIX) else ""
        if not (version.startswith("v") and version[1:].isdigit()):
            return None
    if name.localname != "doclang" or root.getroottree().docinfo.doctype:
        return None
    return encoded


def _strings(value: Any) -> Iterator[str]:
    """Strings of a JSON value, depth first, at most _MAX_NODES nodes visited and _MAX_DEPTH deep."""
    stack: list[Iterator[tuple[Any, int]]] = [iter(((value, 0),))]
    visited = 0
    while stack and visited < _MAX_NODES:
        step = next(stack[-1], None)
        if step is None:
            stack.pop()
            continue
        current, depth = step
        visited += 1
        if isinstance(current, str):
            yield current
        elif depth < _MAX_DEPTH:
            if isinstance(current, dict):
                stack.append(((child, depth + 1) for child in current.values()))
            elif isinstance(current, list):
                stack.append(((child, depth + 1) for child in current))


def _payload(result: dict) -> Any:
    kind, value = result.get("type"), result.get("value")
    if kind == "textarea":
        return value.get("text") if isinstance(value, dict) else None
    if kind == "reactcode":
        return value.get("reactcode") if isinstance(value, dict) else None
    return None if kind in _NOT_DOCUMENTS else value


def _result_document(entry: dict) -> bytes | None:
    for result in entry.get("result", []) or []:
        if isinstance(result, dict):
            for text in _strings(_payload(result)):
                document = doclang_document(text)
                if document is not None:
                    return document
    return None


def _data_documents(task: dict) -> list[bytes]:
    """Distinct documents under "doclang"/"document" keys of task.data, in document order."""
    data = task.get("data") or {}
    if not isinstance(data, dict):
        return []
    documents: list[bytes] = []
    stack: list[tuple[Any, int, bool]] = [(data, 0, False)]
    visited = 0
    while stack and visited < _MAX_NODES:
        current, depth, under_key = stack.pop()
        visited += 1
        if isinstance(current, str):
            if under_key:
                document = doclang_document(current)
                if document is not None and document not in documents:
                    documents.append(document)
        elif depth < _MAX_DEPTH:
            if isinstance(current, dict):
                stack.extend((child, depth + 1, under_key or key in _DATA_KEYS)
                             for key, child in reversed(list(current.items())))
            elif isinstance(current, list):
                stack.extend((child, depth + 1, under_key) for child in reversed(current))
    return documents


class _Source(NamedTuple):
    kind: str
    source_id: Any
    document: bytes


def _sources(task: dict) -> list[_Source]:
    sources: list[_Source] = []
    exported: list[Any] = []
    annotations = task.get("annotations") or task.get("completions") or []
    valid = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled") and not a.get("skipped")]
    for index, annotation in enumerate(valid):
        document = _result_document(annotation)
        if document is not None:
            exported.append(annotation.get("id", index))
            sources.append(_Source("annotation", annotation.get("id", index), document))
    for index, draft in enumerate(task.get("drafts") or []):
        if not isinstance(draft, dict):
            continue
        if draft.get("annotation") is not None and draft.get("annotation") in exported:
            continue
        document = _result_document(draft)
        if document is not None:
            sources.append(_Source("draft", draft.get("id", index), document))
    for index, prediction in enumerate(task.get("predictions") or []):
        if isinstance(prediction, dict):
            document = _result_document(prediction)
            if document is not None:
                sources.append(_Source("prediction", prediction.get("id", index), document))
    if sources:
        return sources
    documents = _data_documents(task)
    if len(documents) == 1:
        return [_Source("data", "", documents[0])]
    return [_Source("data", number, document) for number, document in enumerate(documents, start=1)]


def _archive_name(task_id: Any, source: _Source) -> str:
    if source.kind == "data":
        return f"task-{task_id}-data.dclx" if source.source_id == "" else f"task-{task_id}-data-{source.source_id}.dclx"
    return f"task-{task_id}-{source.kind}-{source.source_id}.dclx"


def image_data_keys(parsed_config: Mapping[str, Any]) -> tuple[str, str | None]:
    """(the Image value key, default "image"; the Image valueList key) of the config (the last ones)."""
    single = listed = None
    for info in parsed_config.values():
        for input_tag in info.get("inputs", ()):
            if input_tag.get("type") != "Image":
                continue
            if input_tag.get("valueList"):
                listed = input_tag["valueList"]
            elif input_tag.get("value"):
                single = input_tag["value"]
    return single or "image", listed


def _page_urls(task: dict, image_key: str, list_key: str | None) -> list[str]:
    def url_of(raw: Any) -> str | None:
        if isinstance(raw, dict):
            raw = raw.get("url")
        return raw if isinstance(raw, str) and raw else None

    data = task.get("data") or {}
    if not isinstance(data, dict):
        return []
    if list_key and isinstance(data.get(list_key), list):
        return [url for url in map(url_of, data[list_key]) if url]
    url = url_of(data.get(image_key))
    return [url] if url else []


def _normal_suffix(suffix: str) -> str:
    suffix = suffix.lower()
    return ".jpg" if suffix == ".jpe" else suffix


def _guessed(path: str, allowed: set[str]) -> str:
    guess = (mimetypes.guess_extension(mimetypes.guess_type(path)[0] or "") or "").lower()
    return guess if guess in allowed else ".png"


def _page_suffix(url: str, local_name: str | None) -> str:
    if url.startswith("data:"):
        mime = url[5:].split(";", 1)[0].strip()
        guess = (mimetypes.guess_extension(mime) or "").lower()
        guess = ".jpg" if guess == ".jpe" else guess
        return guess if guess in _IMAGE_SUFFIXES else ".png"
    path = urlparse(url).path
    for candidate in (path, local_name):
        if candidate:
            suffix = _normal_suffix(posixpath.splitext(candidate)[1])
            if suffix in _IMAGE_SUFFIXES:
                return suffix
    return _guessed(path, _IMAGE_SUFFIXES)


class _Fetcher:
    """Local copies of uploaded files and downloads of remote ones, each URL fetched once per task."""

    def __init__(self, media: MediaResolver, work: Path):
        self.media = media
        self.work = work
        self.count = 0

    def fetch(self, url: str) -> Path | None:
        local = self.media.uploaded_file(url)
        if local is not None:
            return local
        if not url.lower().startswith(("http://", "https://")):
            return None
        self.count += 1
        name = posixpath.basename(urlparse(url).path) or "download"
        target = self.work / str(self.count) / name
        try:
            return target if self.media._download(url, target) and target.is_file() else None
        except Exception:  # noqa: BLE001 - an unreachable file is left out, as the converter logs and skips it
            return None


def _page_files(urls: list[str], fetcher: _Fetcher) -> list[tuple[str, bytes | Path]]:
    """[("pages/<n><ext>", bytes or local file)] for the pages that could be read."""
    pages: list[tuple[str, bytes | Path]] = []
    for number, url in enumerate(urls, start=1):
        if url.startswith("data:"):
            header, _, encoded = url.partition(",")
            if ";base64" not in header.lower() or not encoded:
                continue
            try:
                content = base64.b64decode(encoded)
            except Exception:  # noqa: BLE001
                continue
            pages.append((f"pages/{number}{_page_suffix(url, None)}", content))
            continue
        local = fetcher.fetch(url)
        if local is not None:
            pages.append((f"pages/{number}{_page_suffix(url, local.name)}", local))
    return pages


def _asset_path(uri: str) -> str:
    parsed = urlparse(uri)
    candidates = [parsed.path] + [value for key, value in parse_qsl(parsed.query) if key == "d"]
    return next((path for path in candidates if posixpath.splitext(path)[1]), parsed.path)


def _asset_suffix(uri: str) -> str:
    path = _asset_path(uri)
    suffix = _normal_suffix(posixpath.splitext(path)[1])
    if suffix in _ASSET_SUFFIXES:
        return suffix
    return "" if suffix else _guessed(path, _ASSET_SUFFIXES)


def _downloadable(uri: str) -> bool:
    scheme = urlparse(uri).scheme
    if scheme == "data":
        return False
    if not (scheme in ("http", "https") if scheme else uri.startswith("/data/")):
        return False
    return bool(_asset_suffix(uri))


def _with_assets(document: bytes, fetcher: _Fetcher) -> tuple[bytes, list[tuple[str, Path]]]:
    root = etree.fromstring(document, parser=_parser())
    assets: list[tuple[str, Path]] = []
    used: set[str] = set()
    for element in root.iter():
        if not isinstance(element.tag, str) or etree.QName(element).localname != "src":
            continue
        uri = element.get("uri")
        if not uri or not _downloadable(uri):
            continue
        suffix = _asset_suffix(uri)
        stem = PurePosixPath(posixpath.basename(_asset_path(uri))).stem or "image"
        name, number = f"assets/{stem}{suffix}", 2
        while name in used:
            name, number = f"assets/{stem}-{number}{suffix}", number + 1
        used.add(name)
        local = fetcher.fetch(uri)
        if local is None:
            continue
        assets.append((name, local))
        element.set("uri", name)
    if not assets:
        return document, []
    return etree.tostring(root, encoding="utf-8"), assets


def _write_archive(path: Path, document: bytes, pages: list[tuple[str, bytes | Path]], assets: list[tuple[str, Path]]) -> None:
    members: dict[str, bytes | Path] = {"document.xml": document, "[Content_Types].xml": _CONTENT_TYPES.encode(),
                                        "_rels/.rels": _RELATIONSHIPS.encode()}
    members.update(dict(pages))
    members.update(dict(assets))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        # The DocLang packer adds files in path order.
        for name in sorted(members, key=lambda member: PurePosixPath(member).parts):
            content = members[name]
            if isinstance(content, Path):
                archive.write(content, name)
            else:
                archive.writestr(name, content)


def write_doclang(tasks: Iterable[dict], output_dir: Path, parsed_config: Mapping[str, Any], media: MediaResolver,
                  work_dir: Path, *, download_resources: bool) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    image_key, list_key = image_data_keys(parsed_config)
    for task in tasks:
        sources = _sources(task)
        if not sources:
            continue
        task_id = task.get("id")
        fetcher = _Fetcher(media, work_dir)
        try:
            urls = _page_urls(task, image_key, list_key)
            pages = _page_files(urls, fetcher) if download_resources and urls else []
            for source in sources:
                document, assets = (_with_assets(source.document, fetcher) if download_resources
                                    else (source.document, []))
                _write_archive(output_dir / _archive_name(task_id, source), document, pages, assets)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
