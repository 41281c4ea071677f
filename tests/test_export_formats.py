"""Every export format against label_studio_sdk's converter (the oracle Label Studio 1.23.2 runs):
our JSON export is fed to `Converter.convert`, and its files are compared with ours file by file.
Also the formats list against Label Studio's rule (DataExport.get_export_formats).

Media: image/audio URLs are remote (not downloaded by either side: the converter names them
"images/<md5>__<name>") or files uploaded to this server (/data/upload/<project>/<file>, read from
settings.data_dir/upload). For uploaded images Label Studio's converter writes the absolute
upload path into COCO `file_name`; we write "images/<name>" (the copy inside the archive), so only
that field is compared by base name."""
from __future__ import annotations

import copy
import io
import json
import math
import wave
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import orjson
import pytest
from label_studio_sdk.converter import Converter
from label_studio_sdk.converter.brush import mask2rle
from label_studio_sdk.converter.utils import parse_config
from PIL import Image

from core.annotations.models import Annotation
from core.exports.formats import format_list
from core import label_config as lc
from tests.test_export import add_task, create_project

T = [datetime(2024, 5, 1, 10, minute, 0) for minute in range(10)]

NER = ('<View><Text name="text" value="$text"/>'
       '<Labels name="ner" toName="text"><Label value="PER"/><Label value="ORG"/></Labels>'
       '<Choices name="topic" toName="text"><Choice value="news"/></Choices></View>')
BBOX = ('<View><Image name="image" value="$image"/>'
        '<RectangleLabels name="label" toName="image"><Label value="Cat" category="7"/><Label value="Dog"/>'
        '</RectangleLabels></View>')
POLYGON = ('<View><Image name="image" value="$image"/>'
           '<PolygonLabels name="poly" toName="image"><Label value="Road"/><Label value="Car"/></PolygonLabels></View>')
KEYPOINTS = ('<View><Image name="image" value="$image"/>'
             '<RectangleLabels name="box" toName="image"><Label value="Person"/></RectangleLabels>'
             '<KeyPointLabels name="kp" toName="image"><Label value="eye" model_index="0"/>'
             '<Label value="nose" model_index="1"/></KeyPointLabels></View>')
BRUSH = ('<View><Image name="image" value="$image"/>'
         '<BrushLabels name="mask" toName="image"><Label value="Sky"/><Label value="Tree/Bush"/></BrushLabels></View>')
ASR = '<View><Audio name="audio" value="$audio"/><TextArea name="transcription" toName="audio"/></View>'
TEXT_CLASSIFICATION = ('<View><Text name="text" value="$text"/>'
                       '<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>')


def region(from_name, to_name, kind, value, **extra):
    return {"id": extra.pop("id", f"r{abs(hash((from_name, str(value)))) % 10**6}"), "from_name": from_name,
            "to_name": to_name, "type": kind, "value": value, **extra}


def rectangle(x, y, w, h, label, rotation=0, *, id=None, from_name="label"):
    return region(from_name, "image", "rectanglelabels",
                  {"x": x, "y": y, "width": w, "height": h, "rotation": rotation, "rectanglelabels": [label]},
                  original_width=640, original_height=480, **({"id": id} if id else {}))


def annotate(db, task_id, project_id, user_id, result, created_at, cancelled=False):
    annotation = Annotation(task_id=task_id, project_id=project_id, completed_by_id=user_id, result=result,
                            was_cancelled=cancelled, created_at=created_at, updated_at=created_at, lead_time=1.5)
    db.add(annotation)
    db.flush()
    return annotation.id


def build_project(actor, db, config, tasks):
    """tasks: [(data, [(result, cancelled), ...])]."""
    project_id = create_project(actor, label_config=config)
    for number, (data, annotations) in enumerate(tasks, start=1):
        task_id = add_task(db, project_id, data(project_id) if callable(data) else data, inner_id=number)
        for index, (result, cancelled) in enumerate(annotations):
            annotate(db, task_id, project_id, actor.user_id, result, T[index], cancelled)
    db.commit()
    return project_id


def unpack(response, into: Path) -> None:
    """An export response as files: a zip extracted, a single file under its own extension."""
    into.mkdir(parents=True)
    assert response.status_code == 200, response.text
    if response.headers["content-type"] == "application/zip":
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            archive.extractall(into)
            for name in archive.namelist():
                if name.endswith("/"):
                    (into / name).mkdir(parents=True, exist_ok=True)
    else:
        suffix = Path(response.headers["filename"]).suffix
        (into / f"single{suffix}").write_bytes(response.content)


def oracle(config, snapshot: bytes, export_type, tmp_path: Path, *, upload_dir=None, download_resources=False) -> Path:
    """What Label Studio's converter writes for our JSON export, laid out as Label Studio packs it."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "oracle-input.json"
    source.write_bytes(snapshot)
    out = tmp_path / "oracle-out"
    out.mkdir()
    converter = Converter(config=parse_config(config), project_dir=None, upload_dir=upload_dir,
                          download_resources=download_resources)
    converter.convert(str(source), str(out), export_type, is_dir=False)
    files = [path for path in out.rglob("*") if path.is_file()]
    folders = [path for path in out.rglob("*") if path.is_dir()]
    if len(files) == 1 and not folders:
        single = tmp_path / "oracle"
        single.mkdir()
        files[0].rename(single / f"single{files[0].suffix}")
        return single
    return out


def tree(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() + ("/" if path.is_dir() else "") for path in root.rglob("*")}


def close(ours, theirs, path=""):
    """Equal JSON values, floats within rounding (numpy sums polygon areas in another order)."""
    if isinstance(theirs, float) or isinstance(ours, float):
        assert math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-9), (path, ours, theirs)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), (path, ours, theirs)
        for key in theirs:
            close(ours[key], theirs[key], f"{path}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), (path, ours, theirs)
        for index, (a, b) in enumerate(zip(ours, theirs)):
            close(a, b, f"{path}[{index}]")
    else:
        assert ours == theirs, (path, ours, theirs)


def without_clock(value):
    """COCO/YOLO notes carry the conversion time."""
    value = copy.deepcopy(value)
    if isinstance(value, dict) and isinstance(value.get("info"), dict):
        value["info"].pop("date_created", None)
        value["info"].pop("year", None)
    return value


def compare_trees(ours: Path, theirs: Path, *, file_name_by_basename=False) -> None:
    assert tree(ours) == tree(theirs)
    for path in theirs.rglob("*"):
        if path.is_dir():
            continue
        mine = ours / path.relative_to(theirs)
        if path.suffix == ".json" and path.name != "manifest.json":
            a, b = without_clock(orjson.loads(mine.read_bytes())), without_clock(json.loads(path.read_text()))
            if file_name_by_basename:
                for image in a.get("images", []) + b.get("images", []):
                    image["file_name"] = Path(image["file_name"]).name
            close(a, b, path.name)
        elif path.name == "manifest.json":
            close([json.loads(line) for line in mine.read_text().splitlines()],
                  [json.loads(line) for line in path.read_text().splitlines()])
            assert mine.read_text() == path.read_text()
        elif path.suffix == ".png" and not file_name_by_basename:
            assert np.array_equal(np.array(Image.open(mine)), np.array(Image.open(path))), path.name
        else:
            assert mine.read_bytes() == path.read_bytes(), path.name


def check_format(actor, project_id, config, export_type, tmp_path, *, all_tasks=True, upload_dir=None,
                 download_resources=False, file_name_by_basename=False):
    query = "&download_all_tasks=true" if all_tasks else ""
    snapshot = actor.client.get(f"/api/projects/{project_id}/export?exportType=JSON{query}").content
    theirs = oracle(config, snapshot, export_type, tmp_path / export_type, upload_dir=upload_dir,
                    download_resources=download_resources)
    response = actor.client.get(f"/api/projects/{project_id}/export?exportType={export_type}{query}"
                                f"&download_resources={'true' if download_resources else 'false'}")
    ours = tmp_path / export_type / "ours"
    unpack(response, ours)
    compare_trees(ours, theirs, file_name_by_basename=file_name_by_basename)
    return ours


def span(start, end, text, label):
    return region("ner", "text", "labels", {"start": start, "end": end, "text": text, "labels": [label]})


NER_TASKS = [
    ({"text": "John Smith works at Acme Corp. in New York."},
     [([span(0, 10, "John Smith", "PER"), span(20, 29, "Acme Corp", "ORG"),
        region("topic", "text", "choices", {"choices": ["news"]})], False),
      ([span(0, 4, "John", "PER")], False)]),
    ({"text": "No entities here, \"quoted\" -- fine?"}, []),
    ({"text": "Skipped   text  with   spaces"}, [([], True)]),
    ({"text": "Mary's dog can't run."}, [([span(0, 6, "Mary's", "PER")], False)]),
]


@pytest.mark.parametrize("export_type", ["CONLL2003", "JSON_MIN", "CSV", "TSV"])
def test_ner_formats_match_the_converter(actor, db, tmp_path, export_type):
    project_id = build_project(actor, db, NER, NER_TASKS)
    check_format(actor, project_id, NER, export_type, tmp_path)
    check_format(actor, project_id, NER, export_type, tmp_path / "annotated-only", all_tasks=False)


def test_text_classification_formats_match_the_converter(actor, db, tmp_path):
    project_id = build_project(actor, db, TEXT_CLASSIFICATION, [
        ({"text": "good"}, [([region("sentiment", "text", "choices", {"choices": ["pos"]})], False)]),
        ({"text": "bad, \"really\""}, [([region("sentiment", "text", "choices", {"choices": ["neg"]})], False),
                                       ([region("sentiment", "text", "choices", {"choices": ["pos"]})], False)]),
        ({"text": "none"}, []),
    ])
    for export_type in ("JSON_MIN", "CSV", "TSV"):
        check_format(actor, project_id, TEXT_CLASSIFICATION, export_type, tmp_path)


BBOX_TASKS = [
    ({"image": "http://example.com/images/cat.jpg"},
     [([rectangle(10, 20, 30, 40, "Cat"), rectangle(50.5, 10.25, 20, 15.75, "Dog", rotation=30),
        rectangle(5, 5, 10, 10, "Bird")], False),
      ([rectangle(1, 2, 3, 4, "Dog")], False)]),
    ({"image": "https://example.com/a/dog.png?size=large"}, [([rectangle(0, 0, 100, 100, "Dog", rotation=-45)], False)]),
    ({"image": "http://example.com/images/empty.jpg"}, []),
    ({"image": "http://example.com/images/skipped.jpg"}, [([], True)]),
    ({"image": "http://example.com/images/blank.jpg"}, [([], False)]),
]


@pytest.mark.parametrize("export_type", ["COCO", "YOLO", "YOLO_OBB", "VOC", "JSON_MIN", "CSV",
                                         # Remote images that cannot be fetched (no DNS here): both keep the URL.
                                         "COCO_WITH_IMAGES", "YOLO_WITH_IMAGES", "YOLO_OBB_WITH_IMAGES"])
def test_bounding_box_formats_match_the_converter(actor, db, tmp_path, export_type):
    project_id = build_project(actor, db, BBOX, BBOX_TASKS)
    check_format(actor, project_id, BBOX, export_type, tmp_path)


def polygon(points, label):
    return region("poly", "image", "polygonlabels", {"points": points, "polygonlabels": [label], "closed": True},
                  original_width=800, original_height=600)


@pytest.mark.parametrize("export_type", ["COCO", "YOLO"])
def test_polygon_formats_match_the_converter(actor, db, tmp_path, export_type):
    project_id = build_project(actor, db, POLYGON, [
        ({"image": "http://example.com/street.jpg"},
         [([polygon([[10, 10], [50.5, 12.25], [40, 60], [12, 55.5]], "Road"), polygon([[1, 1], [2, 1], [2, 2]], "Car")], False)]),
        ({"image": "http://example.com/other.jpg"}, [([polygon([[0, 0], [100, 0], [100, 100]], "Truck")], False)]),
    ])
    check_format(actor, project_id, POLYGON, export_type, tmp_path)


def keypoint(x, y, label, parent):
    return region("kp", "image", "keypointlabels", {"x": x, "y": y, "width": 0.5, "keypointlabels": [label]},
                  original_width=640, original_height=480, parentID=parent)


@pytest.mark.parametrize("export_type", ["COCO", "YOLO"])
def test_keypoint_formats_match_the_converter(actor, db, tmp_path, export_type):
    project_id = build_project(actor, db, KEYPOINTS, [
        ({"image": "http://example.com/people.jpg"},
         [([rectangle(10, 10, 30, 60, "Person", id="p1", from_name="box"), keypoint(20, 15, "eye", "p1"),
            keypoint(22.5, 20, "nose", "p1"), rectangle(50, 10, 30, 60, "Person", id="p2", from_name="box"),
            keypoint(60, 15, "eye", "p2")], False)]),
        ({"image": "http://example.com/nobody.jpg"}, []),
    ])
    check_format(actor, project_id, KEYPOINTS, export_type, tmp_path)


def brush(mask: np.ndarray, label: str, number: int):
    rle = [int(byte) for byte in mask2rle(mask)]
    return region("mask", "image", "brushlabels", {"format": "rle", "rle": rle, "brushlabels": [label]},
                  original_width=mask.shape[1], original_height=mask.shape[0], id=f"m{number}")


@pytest.mark.parametrize("export_type", ["BRUSH_TO_NUMPY", "BRUSH_TO_PNG"])
def test_brush_formats_match_the_converter(actor, db, tmp_path, export_type):
    sky = np.zeros((30, 40), dtype=np.uint8)
    sky[2:10, 5:35] = 255
    tree_mask = np.zeros((30, 40), dtype=np.uint8)
    tree_mask[15:29, 1:12] = 255
    tree_mask[20, 30] = 128
    project_id = build_project(actor, db, BRUSH, [
        ({"image": "http://example.com/landscape.jpg"},
         [([brush(sky, "Sky", 1), brush(tree_mask, "Tree/Bush", 2), brush(sky, "Sky", 3)], False),
          ([brush(tree_mask, "Sky", 4)], False)]),
        ({"image": "http://example.com/none.jpg"}, []),
    ])
    ours = check_format(actor, project_id, BRUSH, export_type, tmp_path)
    if export_type == "BRUSH_TO_NUMPY":
        decoded = {path.name: np.load(path) for path in ours.rglob("*.npy")}
        assert any(np.array_equal(array, sky) for array in decoded.values())
        assert any(np.array_equal(array, tree_mask) for array in decoded.values())


def test_one_brush_mask_is_a_single_file(actor, db, tmp_path):
    mask = np.zeros((4, 6), dtype=np.uint8)
    mask[1:3, 2:5] = 200
    project_id = build_project(actor, db, BRUSH, [({"image": "http://example.com/x.jpg"}, [([brush(mask, "Sky", 1)], False)])])
    response = actor.client.get(f"/api/projects/{project_id}/export?exportType=BRUSH_TO_NUMPY")
    assert response.headers["filename"].endswith(".npy")
    assert np.array_equal(np.load(io.BytesIO(response.content)), mask)


def write_wave(path: Path, seconds: float, rate: int = 8000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "w") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(b"\x00\x00" * int(seconds * rate))


def test_asr_manifest_matches_the_converter(actor, db, tmp_path, settings):
    upload_dir = settings.data_dir / "upload"

    def uploaded(name, seconds):
        def data(project_id):
            write_wave(upload_dir / str(project_id) / name, seconds)
            return {"audio": f"/data/upload/{project_id}/{name}"}
        return data

    text = lambda words: region("transcription", "audio", "textarea", {"text": [words]})  # noqa: E731
    project_id = build_project(actor, db, ASR, [
        (uploaded("one.wav", 1.5), [([text("hello world")], False)]),
        (uploaded("two.wav", 0.25), [([text("second take")], False), ([text("first take")], False)]),
        ({"audio": "http://example.com/remote.wav"}, [([text("never fetched")], False)]),
    ])
    ours = check_format(actor, project_id, ASR, "ASR_MANIFEST", tmp_path, all_tasks=False,
                        upload_dir=str(upload_dir), download_resources=True)
    lines = [json.loads(line) for line in (ours / "manifest.json").read_text().splitlines()]
    # Annotations newest first, as the converter orders them; the remote file is left out.
    assert [line["text"] for line in lines] == ["hello world", "first take", "second take"]
    assert lines[0]["audio_filepath"] == "audio/one.wav" and lines[0]["duration"] == 1.5


@pytest.mark.parametrize("export_type", ["COCO_WITH_IMAGES", "YOLO_WITH_IMAGES", "VOC"])
def test_uploaded_images_are_copied_into_the_archive(actor, db, tmp_path, settings, export_type):
    upload_dir = settings.data_dir / "upload"

    def uploaded(project_id):
        path = upload_dir / str(project_id) / "photo.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 48), (10, 20, 30)).save(path)
        return {"image": f"/data/upload/{project_id}/photo.png"}

    project_id = build_project(actor, db, BBOX, [(uploaded, [([rectangle(10, 10, 50, 50, "Cat")], False)])])
    ours = check_format(actor, project_id, BBOX, export_type, tmp_path, upload_dir=str(upload_dir),
                        download_resources=export_type == "VOC", file_name_by_basename=True)
    if export_type != "VOC":
        assert (ours / "images" / "photo.png").read_bytes() == (upload_dir / str(project_id) / "photo.png").read_bytes()
    if export_type == "COCO_WITH_IMAGES":
        coco = orjson.loads((ours / "result.json").read_bytes())
        assert coco["images"] == [{"width": 64, "height": 48, "id": 0, "file_name": "images/photo.png"}]


CONFIGS = [NER, BBOX, POLYGON, KEYPOINTS, BRUSH, ASR, TEXT_CLASSIFICATION,
           '<View><Image name="image" value="$image"/><KeyPointLabels name="kp" toName="image"><Label value="a"/></KeyPointLabels></View>',
           '<View><Image name="image" valueList="$images"/><RectangleLabels name="r" toName="image"><Label value="a"/></RectangleLabels></View>',
           '<View><Video name="video" value="$video"/><TimelineLabels name="t" toName="video"><Label value="a"/></TimelineLabels></View>',
           '<View><Text name="a" value="$a"/><Text name="b" value="$b"/><TextArea name="t" toName="a"/></View>',
           '<View><Image name="image" value="$image"/><Rectangle name="r" toName="image"/><Labels name="l" toName="image"><Label value="a"/></Labels></View>',
           "<View></View>"]


def label_studio_formats(config: str) -> list[dict]:
    """data_export.models.DataExport.get_export_formats of Label Studio 1.23.2."""
    converter = Converter(config=lc.parsed_label_config(config), project_dir=None)
    supported = set(converter.supported_formats)
    formats = []
    for fmt, info in converter.all_formats().items():
        info = copy.deepcopy(info)
        info["name"] = fmt.name
        if fmt.name not in supported:
            info["disabled"] = True
        formats.append(info)
    return sorted(formats, key=lambda info: info.get("disabled", False))


@pytest.mark.parametrize("config", CONFIGS)
def test_formats_list_is_label_studios(config):
    assert format_list(lc.parsed_label_config(config)) == label_studio_formats(config)


def test_formats_endpoint(actor, stranger, db):
    project_id = create_project(actor, label_config=BBOX)
    response = actor.client.get(f"/api/projects/{project_id}/export/formats")
    assert response.status_code == 200 and response.json() == label_studio_formats(BBOX)
    assert [f["name"] for f in response.json() if not f.get("disabled")] == [
        "JSON", "JSON_MIN", "CSV", "TSV", "COCO", "COCO_WITH_IMAGES", "VOC", "YOLO", "YOLO_WITH_IMAGES", "YOLO_OBB",
        "YOLO_OBB_WITH_IMAGES"]
    assert stranger.client.get(f"/api/projects/{project_id}/export/formats").status_code == 404
    assert stranger.client.get(f"/api/projects/{project_id}/export?exportType=COCO").status_code == 404


@pytest.mark.parametrize("export_type", ["BOGUS", "CSV_OLD", "coco"])
def test_unknown_or_unavailable_format_is_refused(actor, db, export_type):
    project_id = create_project(actor, label_config=BBOX)
    response = actor.client.get(f"/api/projects/{project_id}/export?exportType={export_type}")
    assert response.status_code == 400 and "export_type" in response.json()["validation_errors"]


VIDEO = ('<View><Video name="video" value="$video"/><VideoRectangle name="box" toName="video"/>'
         '<Labels name="videoLabels" toName="video"><Label value="Car"/></Labels></View>')


def test_video_key_frames_are_interpolated_on_request(actor, db, tmp_path):
    from label_studio_sdk._extensions.label_studio_tools.postprocessing.video import extract_key_frames

    track = region("box", "video", "videorectangle", {
        "framesCount": 12, "duration": 0.5, "labels": ["Car"],
        "sequence": [
            {"frame": 1, "enabled": True, "rotation": 0, "x": 10, "y": 10, "width": 20, "height": 20, "time": 0.04},
            {"frame": 6, "enabled": False, "rotation": 10, "x": 30, "y": 15.5, "width": 25, "height": 20, "time": 0.24},
            {"frame": 9, "enabled": True, "rotation": 0, "x": 5, "y": 5, "width": 10, "height": 10, "time": 0.36},
        ]})
    project_id = build_project(actor, db, VIDEO, [({"video": "http://example.com/v.mp4"}, [([track], False)])])
    plain = actor.client.get(f"/api/projects/{project_id}/export?exportType=JSON").json()
    assert plain[0]["annotations"][0]["result"] == [track]
    interpolated = actor.client.get(f"/api/projects/{project_id}/export?exportType=JSON&interpolate_key_frames=true").json()
    assert interpolated[0]["annotations"][0]["result"] == extract_key_frames([track])
    assert len(interpolated[0]["annotations"][0]["result"][0]["value"]["sequence"]) > 3

    snapshot = actor.client.post(f"/api/projects/{project_id}/exports/",
                                 json={"serialization_options": {"interpolate_key_frames": True}}).json()
    from tests.test_export_snapshots import wait_for_snapshot
    wait_for_snapshot(actor, project_id, snapshot["id"])
    tasks = actor.client.get(f"/api/projects/{project_id}/exports/{snapshot['id']}/download").json()
    assert tasks[0]["annotations"][0]["result"] == extract_key_frames([track])


def test_easy_export_copies_uploaded_audio_by_default_like_label_studio(actor, db, settings):
    upload_dir = settings.data_dir / "upload"

    def uploaded(project_id):
        write_wave(upload_dir / str(project_id) / "clip.wav", 0.5)
        return {"audio": f"/data/upload/{project_id}/clip.wav"}

    project_id = build_project(actor, db, ASR, [(uploaded, [([region("transcription", "audio", "textarea", {"text": ["hi"]})], False)])])
    response = actor.client.get(f"/api/projects/{project_id}/export?exportType=ASR_MANIFEST")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert set(archive.namelist()) == {"audio/", "audio/clip.wav", "manifest.json"}
    assert json.loads(archive.read("manifest.json")) == {"audio_filepath": "audio/clip.wav", "duration": 0.5, "text": "hi",
                                                         "annotator": str(actor.user_id)}  # completed_by is an id here
    without = actor.client.get(f"/api/projects/{project_id}/export?exportType=ASR_MANIFEST&download_resources=false")
    assert zipfile.ZipFile(io.BytesIO(without.content)).read("manifest.json") == b""
