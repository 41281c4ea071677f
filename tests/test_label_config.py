"""Label config domain: parsing, validation, Label Studio parity, XXE safety, compatibility."""
from __future__ import annotations

import json
import time

import pytest
from lxml import etree

from core.errors import ValidationError
from core.label_config import (
    DTD_FORBIDDEN_MESSAGE,
    INCOMPATIBLE_PREFIX,
    ParsedLabelConfig,
    check_annotations_compatible,
    config_essential_data_has_changed,
    controls_used_in_results,
    data_keys,
    data_types,
    first_object_data_key,
    label_config_errors,
    labels_by_control,
    labels_used_in_results,
    parse_label_config_xml,
    parsed_label_config,
    validate_label_config,
)

sdk_label_config = pytest.importorskip("label_studio_sdk._extensions.label_studio_tools.core.label_config")
sdk_interface = pytest.importorskip("label_studio_sdk.label_interface")

TEXT_CLASSIFICATION = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single" showInLine="true">
    <Choice value="Positive"/>
    <Choice value="Negative" hotkey="n"/>
    <Choice value="Neutral" alias="neutral"/>
  </Choices>
</View>"""

NER = """<View>
  <Labels name="label" toName="text">
    <Label value="PER" background="red"/>
    <Label value="ORG" background="darkorange"/>
    <Label value="LOC" background="orange"/>
  </Labels>
  <Text name="text" value="$text"/>
</View>"""

IMAGE_BBOX = """<View>
  <Image name="image" value="$image" zoom="true"/>
  <RectangleLabels name="label" toName="image">
    <Label value="Airplane" background="green"/>
    <Label value="Car" background="blue"/>
  </RectangleLabels>
</View>"""

POLYGONS_KEYPOINTS_BRUSH = """<View>
  <Image name="image" value="$image"/>
  <PolygonLabels name="poly" toName="image" strokeWidth="3" pointSize="small">
    <Label value="Road"/><Label value="Sky"/>
  </PolygonLabels>
  <KeyPointLabels name="kp" toName="image"><Label value="Eye" background="red"/></KeyPointLabels>
  <BrushLabels name="brush" toName="image"><Label value="Mask"/></BrushLabels>
  <EllipseLabels name="ellipse" toName="image"><Label value="Ball"/></EllipseLabels>
</View>"""

AUDIO = """<View>
  <Labels name="speaker" toName="audio"><Label value="Speaker 1"/><Label value="Speaker 2"/></Labels>
  <AudioPlus name="audio" value="$audio"/>
  <TextArea name="transcription" toName="audio" rows="2" editable="true" perRegion="true" required="true"/>
</View>"""

VIDEO_TRACKING = """<View>
  <Labels name="videoLabels" toName="video" allowEmpty="true">
    <Label value="Man" background="blue"/>
    <Label value="Woman" background="red"/>
  </Labels>
  <Video name="video" value="$video" framerate="25.0"/>
  <VideoRectangle name="box" toName="video"/>
</View>"""

NESTED_CHOICES = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" showInLine="true">
    <Choice value="Positive"/><Choice value="Negative"/>
  </Choices>
  <View visibleWhen="choice-selected" whenTagName="sentiment" whenChoiceValue="Positive">
    <Header value="Why?"/>
    <Choices name="reason" toName="text" choice="multiple">
      <View style="display: flex"><Choice value="Price"/><Choice value="Quality"/></View>
    </Choices>
  </View>
</View>"""

PER_REGION = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image"><Label value="Car"/><Label value="Person"/></RectangleLabels>
  <Choices name="color" toName="image" perRegion="true" whenLabelValue="Car"><Choice value="Red"/></Choices>
  <TextArea name="note" toName="image" perRegion="true" whenTagName="label"/>
  <Rating name="quality" toName="image" maxRating="5" perRegion="true"/>
</View>"""

RATING_NUMBER_DATETIME = """<View>
  <Text name="text" value="$text" valueType="url"/>
  <Rating name="rating" toName="text" maxRating="10" icon="star" size="medium"/>
  <Number name="count" toName="text" min="0" max="100"/>
  <DateTime name="when" toName="text" only="date"/>
  <TextArea name="answer" toName="text" maxSubmissions="1"/>
</View>"""

TAXONOMY = """<View>
  <Text name="text" value="$text"/>
  <Taxonomy name="taxonomy" toName="text">
    <Choice value="Archaea"/>
    <Choice value="Bacteria"/>
    <Choice value="Eukarya">
      <Choice value="Human"/>
      <Choice value="Oppossum"/>
    </Choice>
  </Taxonomy>
</View>"""

PAIRWISE = """<View>
  <Header value="Which one is better?"/>
  <Pairwise name="comparison" toName="text1,text2" selectionStyle="background: #f0f0f0"/>
  <Text name="text1" value="$text1"/>
  <Text name="text2" value="$text2"/>
</View>"""

RANKER = """<View>
  <Style>.htx-text { white-space: pre-wrap; }</Style>
  <Text name="query" value="$query"/>
  <List name="results" value="$items" title="Search results"/>
  <Ranker name="rank" toName="results"/>
</View>"""

RELATIONS = """<View>
  <Relations>
    <Relation value="org:founded_by"/>
    <Relation value="per:employee_of" background="blue"/>
  </Relations>
  <Labels name="label" toName="text"><Label value="Organization"/><Label value="Person"/></Labels>
  <Text name="text" value="$text"/>
</View>"""

HYPERTEXT_PARAGRAPHS = """<View>
  <HyperTextLabels name="ner" toName="html"><Label value="Title"/></HyperTextLabels>
  <HyperText name="html" value="$html" valueType="text"/>
  <ParagraphLabels name="dialog" toName="chat"><Label value="Positive"/></ParagraphLabels>
  <Paragraphs name="chat" value="$dialogue" layout="dialogue" nameKey="author" textKey="text"/>
</View>"""

TIME_SERIES = """<View>
  <TimeSeriesLabels name="label" toName="ts"><Label value="Run"/><Label value="Walk"/></TimeSeriesLabels>
  <TimeSeries name="ts" valueType="url" value="$timeseriesUrl" sep="," timeColumn="time">
    <Channel column="velocity" strokeColor="#1f77b4" legend="Velocity"/>
  </TimeSeries>
</View>"""

REPEATER = """<View>
  <Repeater on="$images" indexFlag="{{idx}}" mode="pagination">
    <Image name="page_{{idx}}" value="$images[{{idx}}].url"/>
    <RectangleLabels name="labels_{{idx}}" toName="page_{{idx}}"><Label value="Stamp"/></RectangleLabels>
  </Repeater>
</View>"""

DYNAMIC_AND_FILTER = """<View>
  <!-- labels come from task data -->
  <Filter name="filter" toName="label" hotkey="shift+f" minlength="1"/>
  <Labels name="label" toName="text" value="$options"/>
  <Choices name="topic" toName="text" apiUrl="https://example.invalid/topics"><Choice value="Misc"/></Choices>
  <Text name="text" value="$text"/>
</View>"""

TABLE_AND_HEADER = """<View>
  <Header value="$title"/>
  <Table name="table" value="$row"/>
  <Choices name="ok" toName="table"><Choice value="Yes"/><Choice value="No"/></Choices>
</View>"""

PARITY_CONFIGS = {
    "text_classification": TEXT_CLASSIFICATION,
    "ner": NER,
    "image_bbox": IMAGE_BBOX,
    "polygons_keypoints_brush": POLYGONS_KEYPOINTS_BRUSH,
    "audio": AUDIO,
    "video_tracking": VIDEO_TRACKING,
    "nested_choices": NESTED_CHOICES,
    "per_region": PER_REGION,
    "rating_number_datetime": RATING_NUMBER_DATETIME,
    "taxonomy": TAXONOMY,
    "pairwise": PAIRWISE,
    "ranker": RANKER,
    "relations": RELATIONS,
    "hypertext_paragraphs": HYPERTEXT_PARAGRAPHS,
    "time_series": TIME_SERIES,
    "repeater": REPEATER,
    "dynamic_and_filter": DYNAMIC_AND_FILTER,
    "table_and_header": TABLE_AND_HEADER,
}


def label_config_messages(xml: object) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        validate_label_config(xml)  # type: ignore[arg-type]
    assert list(caught.value.errors) == ["label_config"]
    return caught.value.errors["label_config"]


def sdk_accepts(xml: str) -> bool:
    try:
        sdk_interface.LabelInterface(xml).validate()
    except Exception:
        return False
    return True


# --- parity with Label Studio (label-studio-sdk as oracle) -------------------


@pytest.mark.parametrize("name", PARITY_CONFIGS)
def test_parsed_label_config_matches_label_studio(name: str) -> None:
    xml = PARITY_CONFIGS[name]
    expected = sdk_label_config.parse_config(xml)
    # JSON text comparison also pins key order, which the API exposes
    assert json.dumps(parsed_label_config(xml)) == json.dumps(expected)


@pytest.mark.parametrize("name", PARITY_CONFIGS)
def test_real_world_configs_are_valid_here_and_in_label_studio(name: str) -> None:
    xml = PARITY_CONFIGS[name]
    assert sdk_accepts(xml)
    result = validate_label_config(xml)
    assert isinstance(result, ParsedLabelConfig)
    assert json.dumps(result.parsed) == json.dumps(sdk_label_config.parse_config(xml))


def test_parsed_shape_for_text_classification() -> None:
    assert parsed_label_config(TEXT_CLASSIFICATION) == {
        "sentiment": {
            "type": "Choices",
            "to_name": ["text"],
            "inputs": [{"type": "Text", "valueType": None, "value": "text"}],
            "labels": ["Positive", "Negative", "neutral"],
            "labels_attrs": {
                "Positive": {"value": "Positive"},
                "Negative": {"value": "Negative", "hotkey": "n"},
                "neutral": {"value": "Neutral", "alias": "neutral"},
            },
        }
    }


def test_parsed_extras_conditionals_dynamic_and_regex() -> None:
    per_region = parsed_label_config(PER_REGION)
    assert per_region["color"]["conditionals"] == {"type": "label", "name": "Car"}
    assert per_region["note"]["conditionals"] == {"type": "tag", "name": "label"}
    assert "conditionals" not in per_region["quality"]
    dynamic = parsed_label_config(DYNAMIC_AND_FILTER)
    assert "filter" not in dynamic
    assert dynamic["label"]["dynamic_labels"] is True and dynamic["topic"]["dynamic_labels"] is True
    assert parsed_label_config(REPEATER)["labels_{{idx}}"]["regex"] == {"{{idx}}": ".*"}


def test_multiple_to_names_and_relations_labels() -> None:
    pairwise = parsed_label_config(PAIRWISE)["comparison"]
    assert pairwise["to_name"] == ["text1", "text2"]
    assert [i["value"] for i in pairwise["inputs"]] == ["text1", "text2"]
    # Relation values belong to no control: Relations has no name
    assert set(parsed_label_config(RELATIONS)) == {"label"}


def test_empty_config_parses_to_nothing() -> None:
    assert parsed_label_config("") == {}
    assert parsed_label_config(None) == {}
    assert data_types("") == {}
    assert validate_label_config("<View></View>").has_control_tags is False
    assert validate_label_config(NER).has_control_tags is True


# --- validation errors ---------------------------------------------------------


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("", "no element found: line 1, column 0"),
        ("<View>", "no element found: line 1, column 6"),
        ("<View><Text></View>", "mismatched tag: line 1, column 14"),
        ("just text", "syntax error: line 1, column 0"),
        ("<View>&nbsp;</View>", "undefined entity: line 1, column 6"),
        ("<View/><Extra/>", "junk after document element: line 1, column 7"),
    ],
)
def test_malformed_xml_reports_label_studio_wording(xml: str, message: str) -> None:
    assert label_config_messages(xml) == [message]
    assert not sdk_accepts(xml)


def test_unencodable_text_and_excessive_depth_are_rejected() -> None:
    assert label_config_messages("<View>\ud800</View>") == ["not well-formed (invalid token): surrogates not allowed"]
    deep = "<View>" * 300 + "</View>" * 300  # lxml's huge_tree=False depth guard
    assert label_config_messages(deep)[0].startswith("Excessive depth in document")


@pytest.mark.parametrize("value", [None, 42, b"<View/>", ["<View/>"]])
def test_non_string_config_is_rejected(value: object) -> None:
    assert label_config_messages(value) == ["can only parse strings"]
    with pytest.raises(ValidationError):
        parse_label_config_xml(value)  # type: ignore[arg-type]


def test_root_must_be_view() -> None:
    assert label_config_messages('<Text name="t" value="$t"/>') == [
        "Label config root tag must be <View>, found <Text>"
    ]
    assert parse_label_config_xml("<view/>").tag == "view"


def test_missing_to_name() -> None:
    xml = '<View><Text name="t" value="$t"/><Choices name="c"><Choice value="a"/></Choices></View>'
    assert label_config_messages(xml) == ["Validation failed on View/Choices: 'toName' is a required property"]
    assert not sdk_accepts(xml)


def test_to_name_pointing_nowhere() -> None:
    xml = '<View><Text name="t" value="$t"/><Choices name="c" toName="txt"><Choice value="a"/></Choices></View>'
    assert label_config_messages(xml) == ["toName=\"txt\" not found in names: ['c', 't']"]
    assert not sdk_accepts(xml)


def test_comma_separated_to_name_checks_every_part() -> None:
    xml = '<View><Text name="a" value="$a"/><Text name="b" value="$b"/><Pairwise name="p" toName="a,c"/></View>'
    assert label_config_messages(xml) == ["toName=\"c\" not found in names: ['a', 'b', 'p']"]
    # Label Studio does not trim: "a, b" names " b"
    spaced = '<View><Text name="a" value="$a"/><Text name="b" value="$b"/><Pairwise name="p" toName="a, b"/></View>'
    assert label_config_messages(spaced) == ["toName=\" b\" not found in names: ['a', 'b', 'p']"]


def test_duplicate_names() -> None:
    xml = (
        '<View><Text name="t" value="$t"/><Text name="t" value="$u"/>'
        '<Choices name="c" toName="t"><Choice value="a"/></Choices></View>'
    )
    assert label_config_messages(xml) == ["Label config contains non-unique names: t"]
    assert not sdk_accepts(xml)


def test_object_tags_need_name_and_value() -> None:
    xml = '<View><Image value="$img"/><Text name="t"/><Choices name="c" toName="t"><Choice value="a"/></Choices></View>'
    assert label_config_messages(xml) == [
        "Validation failed on View/Image: 'name' is a required property",
        "Validation failed on View/Text: 'value' is a required property",
    ]


def test_value_list_satisfies_object_value() -> None:
    xml = '<View><Image name="img" valueList="$images"/><RectangleLabels name="r" toName="img"><Label value="a"/></RectangleLabels></View>'
    assert validate_label_config(xml).parsed["r"]["inputs"] == [
        {"type": "Image", "valueType": None, "valueList": "images"}
    ]


def test_controls_need_name_and_options() -> None:
    xml = (
        '<View><Text name="t" value="$t"/><Rating toName="t"/>'
        '<Choices name="empty" toName="t"/><Labels name="l" toName="t"><Label/></Labels></View>'
    )
    assert label_config_messages(xml) == [
        "Validation failed on View/Rating: 'name' is a required property",
        "Validation failed on View/Choices: 'Choice' is a required property",
        "Validation failed on View/Labels/Label: 'value' is a required property",
    ]
    assert not sdk_accepts('<View><Text name="t" value="$t"/><Choices name="empty" toName="t"/></View>')


@pytest.mark.parametrize(
    "speeds",
    [
        'defaultPlaybackSpeed="fast"',
        'defaultPlaybackSpeed="20" minPlaybackSpeed="0.01"',
        'defaultPlaybackSpeed="1" minPlaybackSpeed="2"',
        'defaultplaybackspeed="11"',
    ],
)
def test_video_playback_speed_errors_match_label_studio(speeds: str) -> None:
    xml = f'<View><Video name="video" value="$video" {speeds}/><Choices name="c" toName="video"><Choice value="a"/></Choices></View>'
    with pytest.raises(Exception) as sdk_error:
        sdk_interface.LabelInterface(xml).validate()
    assert label_config_messages(xml) == str(sdk_error.value).split("\n")


def test_valid_video_playback_speeds_pass() -> None:
    validate_label_config('<View><Video name="v" value="$v" defaultPlaybackSpeed="1.5" minPlaybackSpeed=" "/></View>')


def test_all_errors_are_collected_with_paths() -> None:
    xml = """<View>
      <View><Text name="t" value="$t"/></View>
      <View><Text name="t" value="$u"/><Labels name="l" toName="nowhere"><Label value="x"/></Labels></View>
      <Choices toName="t"><Choice value="a"/></Choices>
    </View>"""
    assert label_config_messages(xml) == [
        "Validation failed on View/Choices: 'name' is a required property",
        "Label config contains non-unique names: t",
        "toName=\"nowhere\" not found in names: ['l', 't']",
    ]
    assert label_config_errors(xml) == label_config_messages(xml)
    assert label_config_errors(NER) == []


def test_sibling_index_appears_in_error_path() -> None:
    xml = '<View><View><Text name="a" value="$a"/></View><View><Text name="b"/></View></View>'
    assert label_config_messages(xml) == ["Validation failed on View/View/1/Text: 'value' is a required property"]


def test_unknown_tags_are_classified_by_attributes_like_label_studio() -> None:
    xml = '<View><FancyViewer name="v" value="$doc"/><FancyTool name="tool" toName="v"><Label value="x"/></FancyTool></View>'
    assert sdk_accepts(xml)
    parsed = validate_label_config(xml).parsed
    assert parsed["tool"]["inputs"] == [{"type": "FancyViewer", "valueType": None, "value": "doc"}]
    assert parsed["tool"]["labels"] == ["x"]
    assert data_types(xml) == {"doc": "FancyViewer"}


def test_lowercase_tags_follow_the_frontend() -> None:
    xml = '<view><text name="t" value="$t"/><choices name="c" toName="t"><choice value="a"/></choices></view>'
    assert validate_label_config(xml).parsed["c"]["type"] == "choices"
    assert label_config_messages('<view><text name="t"/></view>') == [
        "Validation failed on view/text: 'value' is a required property"
    ]


def test_encoding_declaration_is_accepted() -> None:
    xml = '<?xml version="1.0" encoding="UTF-8"?>\n<View><Text name="tëxt" value="$t"/></View>'
    assert parse_label_config_xml(xml)[0].get("name") == "tëxt"
    assert data_types(xml) == {"t": "Text"}


# --- XXE and entity expansion ------------------------------------------------------


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-MARKER")
    return path


def xxe_payloads(secret_uri: str) -> dict[str, str]:
    return {
        "external_entity_in_text": (
            f'<!DOCTYPE View [<!ENTITY xxe SYSTEM "{secret_uri}">]>'
            '<View><Header value="x">&xxe;</Header><Text name="t" value="$t"/></View>'
        ),
        "external_entity_in_attribute": (
            f'<!DOCTYPE View [<!ENTITY xxe SYSTEM "{secret_uri}">]><View><Text name="t" value="&xxe;"/></View>'
        ),
        "parameter_entity": (
            f'<!DOCTYPE View [<!ENTITY % p SYSTEM "{secret_uri}"> %p;]><View/>'
        ),
        "external_dtd": f'<!DOCTYPE View SYSTEM "{secret_uri}"><View/>',
        "external_dtd_network": '<!DOCTYPE View SYSTEM "http://127.0.0.1:9/evil.dtd"><View/>',
        "malformed_after_dtd": f'<!DOCTYPE View [<!ENTITY xxe SYSTEM "{secret_uri}">]><View>&xxe;',
    }


def test_xxe_payload_would_leak_with_a_permissive_parser(secret_file) -> None:
    # control: proves the payload really reads the file when entities resolve
    payload = xxe_payloads(secret_file.as_uri())["external_entity_in_text"]
    unsafe = etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=True)
    assert "TOP-SECRET-MARKER" in etree.tostring(etree.fromstring(payload.encode(), unsafe), encoding="unicode")


@pytest.mark.parametrize(
    "kind",
    [
        "external_entity_in_text",
        "external_entity_in_attribute",
        "parameter_entity",
        "external_dtd",
        "external_dtd_network",
        "malformed_after_dtd",
    ],
)
def test_xxe_payloads_are_rejected_unread(kind: str, secret_file) -> None:
    payload = xxe_payloads(secret_file.as_uri())[kind]
    for call in (validate_label_config, parse_label_config_xml, parsed_label_config, data_types):
        with pytest.raises(ValidationError) as caught:
            call(payload)
        assert caught.value.errors == {"label_config": [DTD_FORBIDDEN_MESSAGE]}
        assert "TOP-SECRET-MARKER" not in repr(caught.value.errors)


def test_billion_laughs_is_rejected_quickly() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    payload = f"<!DOCTYPE View [{entities}]><View><Text name='t' value='&lol9;'/></View>"
    started = time.monotonic()
    assert label_config_messages(payload) == [DTD_FORBIDDEN_MESSAGE]
    assert time.monotonic() - started < 1.0


def test_internal_dtd_without_entities_is_still_refused() -> None:
    assert label_config_messages("<!DOCTYPE View><View/>") == [DTD_FORBIDDEN_MESSAGE]


# --- data types and keys -------------------------------------------------------------


def test_data_types_follow_label_studio() -> None:
    xml = """<View>
      <Header value="$title"/>
      <Text name="caption" value="Title: $headline, by $author"/>
      <Audio name="audio" value="$url"/>
      <Video name="video" value="$url"/>
      <Image name="thumb" value="$meta.thumbnail"/>
      <Labels name="l" toName="caption" value="$options"/>
    </View>"""
    assert data_types(xml) == {"headline": "Text", "url": "Video", "meta.thumbnail": "Image", "options": "Labels"}
    assert data_keys(xml) == ["headline", "url", "meta.thumbnail", "options"]
    assert first_object_data_key(xml) == "headline"


def test_video_keeps_priority_over_later_tags() -> None:
    xml = '<View><Video name="v" value="$url"/><Audio name="a" value="$url"/></View>'
    assert data_types(xml) == {"url": "Video"}


def test_first_object_data_key_without_objects() -> None:
    assert first_object_data_key("<View><Header value='Hello'/></View>") is None
    assert first_object_data_key(IMAGE_BBOX) == "image"
    assert validate_label_config(AUDIO).data_keys == ["audio"]


# --- annotations vs config ------------------------------------------------------------


def test_labels_used_in_results() -> None:
    results = [
        {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}},
        {"from_name": "label", "to_name": "image", "type": "rectanglelabels",
         "value": {"x": 1, "rectanglelabels": ["Car", "Airplane"]}},
        {"from_name": "tax", "to_name": "text", "type": "taxonomy", "value": {"taxonomy": [["Eukarya", "Human"]]}},
        {"from_name": "box", "to_name": "video", "type": "videorectangle", "value": {"labels": ["Man"]}},
        {"from_name": "answer", "to_name": "text", "type": "textarea", "value": {"text": ["free text"]}},
        {"from_name": "rating", "to_name": "text", "type": "rating", "value": {"rating": 4}},
        {"from_name": "label", "to_name": "text", "type": "relation", "value": {}},
        {"type": "choices", "value": {"choices": ["orphan"]}},
    ]
    assert labels_used_in_results(results) == {
        "sentiment": {"Positive"},
        "label": {"Car", "Airplane"},
        "tax": {"Eukarya", "Human"},
        "box": {"Man"},
        "answer": set(),
        "rating": set(),
    }
    assert controls_used_in_results(results)[("label", "image", "rectanglelabels")] == 1
    assert ("label", "text", "relation") not in controls_used_in_results(results)


def test_labels_by_control() -> None:
    assert labels_by_control(parsed_label_config(NER)) == {"label": {"PER", "ORG", "LOC"}}
    assert validate_label_config(TEXT_CLASSIFICATION).labels_by_control == {
        "sentiment": {"Positive", "Negative", "neutral"}
    }


def compat_messages(xml: str, used: dict[str, set[str]], **options) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        check_annotations_compatible(xml, used, **options)
    return caught.value.errors["label_config"]


def test_removing_a_used_control_is_incompatible() -> None:
    without_sentiment = '<View><Text name="text" value="$text"/><TextArea name="notes" toName="text"/></View>'
    messages = compat_messages(without_sentiment, {"sentiment": {"Positive"}})
    assert messages == [INCOMPATIBLE_PREFIX + "annotations with from_name=sentiment"]


def test_removing_a_used_label_is_incompatible_when_strict() -> None:
    fewer = TEXT_CLASSIFICATION.replace('<Choice value="Negative" hotkey="n"/>', "")
    used = {"sentiment": {"Positive", "Negative"}}
    assert compat_messages(fewer, used) == [
        "These labels still exist in annotations or drafts:\nNegative\n"
        'Please add labels to tag with name="sentiment".'
    ]
    check_annotations_compatible(fewer, used, strict_labels=False)


def test_compatible_changes_pass() -> None:
    check_annotations_compatible(TEXT_CLASSIFICATION, {"sentiment": {"Positive", "neutral"}})
    more = TEXT_CLASSIFICATION.replace("</Choices>", '<Choice value="Mixed"/></Choices>')
    check_annotations_compatible(more, {"sentiment": {"Positive", "Negative"}})
    # dynamic labels and Repeater indices are open-ended
    check_annotations_compatible(DYNAMIC_AND_FILTER, {"label": {"anything"}})
    check_annotations_compatible(REPEATER, {"labels_0": {"Stamp"}, "labels_12": {"Stamp"}})
    # VideoRectangle borrows the labels of the other controls
    check_annotations_compatible(VIDEO_TRACKING, {"box": {"Man"}, "videoLabels": {"Woman"}})
    assert compat_messages(VIDEO_TRACKING, {"box": {"Child"}})[0].startswith("These labels still exist")


def test_control_usage_gives_label_studio_lines() -> None:
    as_labels = '<View><Text name="text" value="$text"/><Labels name="sentiment" toName="text"><Label value="Positive"/></Labels></View>'
    results = [
        {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}},
        {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}},
        {"from_name": "notes", "to_name": "text", "type": "textarea", "value": {"text": ["x"]}},
    ]
    messages = compat_messages(
        as_labels, labels_used_in_results(results), used_controls=controls_used_in_results(results)
    )
    # the type changed from choices to labels; the removed TextArea is tolerated, as in Label Studio
    assert messages == [INCOMPATIBLE_PREFIX + "2 with from_name=sentiment, to_name=text, type=choices"]


def test_compatibility_check_rejects_bad_new_config() -> None:
    assert compat_messages("<View>", {"x": set()}) == ["no element found: line 1, column 6"]


def test_config_essential_data_has_changed() -> None:
    more = TEXT_CLASSIFICATION.replace("</Choices>", '<Choice value="Mixed"/></Choices>')
    assert config_essential_data_has_changed(more, TEXT_CLASSIFICATION) is False
    assert config_essential_data_has_changed(TEXT_CLASSIFICATION, more) is True
    assert config_essential_data_has_changed(NER, TEXT_CLASSIFICATION) is True
    assert config_essential_data_has_changed(NER, "") is True
    assert config_essential_data_has_changed("<View/>", NER) is False


# --- caching -----------------------------------------------------------------------------


def test_repeated_parsing_is_cached_and_results_are_private_copies() -> None:
    from core.label_config import _analyse

    xml = TEXT_CLASSIFICATION + "<!-- cache probe -->"
    before = _analyse.cache_info()
    first = parsed_label_config(xml)
    for _ in range(50):
        validate_label_config(xml)
        data_types(xml)
    after = _analyse.cache_info()
    assert after.misses - before.misses == 1
    assert after.hits - before.hits >= 100
    first["sentiment"]["labels"].append("Tampered")
    assert "Tampered" not in parsed_label_config(xml)["sentiment"]["labels"]
