"""GraphQL exports: export formats per labeling config, snapshots started by a mutation and
written by the export job, their REST download links, conversions, tenant isolation."""
from __future__ import annotations


from tests.test_graphql import global_id, post, run
from tests.test_graphql_dm import CHOICE_RESULT, make_project
from tests.test_graphql_jobs import JOB_FIELDS, wait_for_job

CREATE_SNAPSHOT = f"""mutation($project: ID!, $input: ExportSnapshotInput) {{ createExportSnapshot(projectId: $project, input: $input) {{
    __typename ... on ExportSnapshotPayload {{ snapshot {{ id pk title status downloadUrl }} job {{ {JOB_FIELDS} }} }}
    ... on ValidationError {{ field messages }} ... on NotFoundError {{ message }} }} }}"""
CONVERT = """mutation($id: ID!, $type: String!) { convertExport(snapshotId: $id, exportType: $type) {
    __typename ... on ConvertExportPayload { convertedFormat { pk exportType status downloadUrl } job { id kind } }
    ... on ValidationError { field messages } ... on NotFoundError { message } } }"""
SNAPSHOTS = """query($id: ID!, $first: Int, $after: String) { project(id: $id) { exportSnapshots(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id pk title status md5 counters downloadUrl createdBy { email } job { status kind }
        convertedFormats { exportType status downloadUrl job { status } } } } } } }"""


def annotated_project(actor) -> int:
    return make_project(actor, [
        {"data": {"text": "good"}, "annotations": [{"result": CHOICE_RESULT}]},
        {"data": {"text": "plain"}},
    ])


def test_export_formats_follow_the_labeling_config(actor):
    project_id = annotated_project(actor)
    formats = run(actor.client, "query($id: ID!) { project(id: $id) { exportFormats { name title disabled tags } } }",
                  id=global_id("Project", project_id))["project"]["exportFormats"]
    rest = actor.client.get(f"/api/projects/{project_id}/export/formats").json()
    assert [(f["name"], f["disabled"]) for f in formats] == [(f["name"], f.get("disabled", False)) for f in rest]
    enabled = {f["name"] for f in formats if not f["disabled"]}
    assert {"JSON", "CSV"} <= enabled and "COCO" not in enabled


def test_snapshot_via_mutation_job_completes_and_download_link_works(actor, stranger):
    project_id = annotated_project(actor)
    project = global_id("Project", project_id)
    created = run(actor.client, CREATE_SNAPSHOT, project=project, input={"title": "nightly", "taskFilter": {"onlyWithAnnotations": True}})
    payload = created["createExportSnapshot"]
    assert payload["__typename"] == "ExportSnapshotPayload", payload
    assert payload["snapshot"]["title"] == "nightly" and payload["snapshot"]["downloadUrl"] is None
    assert payload["job"]["kind"] == "export" and payload["job"]["status"] in ("QUEUED", "RUNNING", "COMPLETED")

    job = wait_for_job(actor, payload["job"]["id"])
    assert job["status"] == "COMPLETED", job
    listed = run(actor.client, SNAPSHOTS, id=project)["project"]["exportSnapshots"]
    assert listed["totalCount"] == 1
    snapshot = listed["edges"][0]["node"]
    assert snapshot["status"] == "COMPLETED" and snapshot["job"] == {"status": "COMPLETED", "kind": "export"}
    assert snapshot["createdBy"] == {"email": actor.email} and snapshot["md5"]
    assert snapshot["downloadUrl"] == f"/api/projects/{project_id}/exports/{snapshot['pk']}/download"
    downloaded = actor.client.get(snapshot["downloadUrl"])
    assert downloaded.status_code == 200
    assert [task["data"]["text"] for task in downloaded.json()] == ["good"]
    assert stranger.client.get(snapshot["downloadUrl"]).status_code == 404

    # Convert to CSV: another job, another link.
    converted = run(actor.client, CONVERT, id=snapshot["id"], type="CSV")["convertExport"]
    assert converted["__typename"] == "ConvertExportPayload", converted
    assert converted["job"]["kind"] == "export_convert"
    assert wait_for_job(actor, converted["job"]["id"])["status"] == "COMPLETED"
    conversion = run(actor.client, SNAPSHOTS, id=project)["project"]["exportSnapshots"]["edges"][0]["node"]["convertedFormats"]
    assert conversion == [{"exportType": "CSV", "status": "COMPLETED", "job": {"status": "COMPLETED"},
                           "downloadUrl": f"/api/projects/{project_id}/exports/{snapshot['pk']}/download?exportType=CSV"}]
    csv = actor.client.get(conversion[0]["downloadUrl"])
    assert csv.status_code == 200 and "good" in csv.text

    # Bad conversions are typed errors.
    again = run(actor.client, CONVERT, id=snapshot["id"], type="CSV")["convertExport"]
    assert again["__typename"] == "ValidationError"
    unknown = run(actor.client, CONVERT, id=snapshot["id"], type="NOPE")["convertExport"]
    assert unknown["__typename"] == "ValidationError" and unknown["field"] == "exportType"

    # Another organization sees nothing and starts nothing.
    assert run(stranger.client, "query($id: ID!) { node(id: $id) { id } }", id=snapshot["id"]) == {"node": None}
    assert run(stranger.client, SNAPSHOTS, id=project) == {"project": None}
    assert run(stranger.client, CONVERT, id=snapshot["id"], type="TSV")["convertExport"]["__typename"] == "NotFoundError"
    assert run(stranger.client, CREATE_SNAPSHOT, project=project)["createExportSnapshot"]["__typename"] == "NotFoundError"
    delete = "mutation($id: ID!) { deleteExportSnapshot(id: $id) { __typename } }"
    assert run(stranger.client, delete, id=snapshot["id"])["deleteExportSnapshot"]["__typename"] == "NotFoundError"
    assert run(actor.client, SNAPSHOTS, id=project)["project"]["exportSnapshots"]["totalCount"] == 1

    assert run(actor.client, delete, id=snapshot["id"])["deleteExportSnapshot"]["__typename"] == "DeletePayload"
    assert actor.client.get(snapshot["downloadUrl"]).status_code == 404


def test_snapshots_page_newest_first_with_cursors(actor):
    project_id = annotated_project(actor)
    project = global_id("Project", project_id)
    jobs = []
    for n in range(3):
        payload = run(actor.client, CREATE_SNAPSHOT, project=project, input={"title": f"snapshot {n}"})["createExportSnapshot"]
        jobs.append(payload["job"]["id"])
    for job_id in jobs:
        assert wait_for_job(actor, job_id)["status"] == "COMPLETED"
    titles, after = [], None
    while True:
        page = run(actor.client, SNAPSHOTS, id=project, first=2, after=after)["project"]["exportSnapshots"]
        assert page["totalCount"] == 3
        titles += [edge["node"]["title"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert titles == ["snapshot 2", "snapshot 1", "snapshot 0"]
    rest = actor.client.get(f"/api/projects/{project_id}/exports/").json()
    assert [item["title"] for item in rest] == titles


def test_bad_snapshot_options_are_typed_errors_and_nothing_is_written(actor):
    project_id = annotated_project(actor)
    project = global_id("Project", project_id)
    body = run(actor.client, CREATE_SNAPSHOT, project=project, input={"title": "x" * 3000})["createExportSnapshot"]
    assert body["__typename"] == "ValidationError" and body["field"] == "title"
    assert post(actor.client, CREATE_SNAPSHOT, project=project, input={"taskFilter": {"skipped": "SOMETIMES"}}).json()["errors"]
    assert actor.client.get(f"/api/projects/{project_id}/exports/").json() == []
