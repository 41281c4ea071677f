"""Webhooks through REST and GraphQL: CRUD in the spec's shapes, /api/webhooks/info/, validation,
the outgoing-URL policy at creation, other organizations' webhooks, and the events recorded.
(Deliveries: tests/test_webhooks_delivery.py.)"""
from __future__ import annotations

from sqlalchemy import select

from core.events.models import OutboxEvent
from core.webhooks.models import Webhook
from tests.openapi_contract import assert_matches_spec

CONFIG = '<View><Text name="text" value="$text"/><Choices name="label" toName="text"><Choice value="a"/></Choices></View>'
# A public address literal: passes the outgoing-URL policy without a DNS lookup. Nothing is sent
# to it: these tests record no event a webhook would receive after creating one.
PUBLIC_URL = "http://93.184.215.14/hook"


def make_project(client, title: str = "Hooked") -> int:
    response = client.post("/api/projects/", json={"title": title, "label_config": CONFIG})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_webhook_crud_in_the_spec_shapes(actor, db):
    c = actor.client
    project_id = make_project(c)
    response = c.post("/api/webhooks/", json={"project": project_id, "url": PUBLIC_URL, "send_for_all_actions": False,
                                              "actions": ["ANNOTATION_UPDATED", "ANNOTATION_CREATED"],
                                              "headers": {"Authorization": "Bearer x"}})
    assert response.status_code == 201, response.text
    created = assert_matches_spec(response, "POST", "/api/webhooks/")
    assert created["project"] == project_id and created["organization"] == actor.organization_id
    assert created["actions"] == ["ANNOTATION_CREATED", "ANNOTATION_UPDATED"]  # in Label Studio's order
    assert created["headers"] == {"Authorization": "Bearer x"} and created["is_active"] and created["send_payload"]
    assert "secret" not in created
    hook_id = created["id"]

    listed = c.get("/api/webhooks/")
    assert [w["id"] for w in assert_matches_spec(listed, "GET", "/api/webhooks/")] == [hook_id]
    assert [w["id"] for w in c.get(f"/api/webhooks/?project={project_id}").json()] == [hook_id]
    assert c.get(f"/api/webhooks/?project={project_id + 1000}").json() == []
    assert c.get("/api/webhooks/?project=isnull").json() == []
    assert c.get("/api/webhooks/?project=abc").status_code == 400

    got = c.get(f"/api/webhooks/{hook_id}/")
    assert assert_matches_spec(got, "GET", "/api/webhooks/{id}/") == created

    # PATCH without `actions` clears them (Label Studio); `project` cannot be changed.
    other_project = make_project(c, "Other")
    patched = c.patch(f"/api/webhooks/{hook_id}/", json={"is_active": False, "project": other_project})
    body = assert_matches_spec(patched, "PATCH", "/api/webhooks/{id}/")
    assert body["actions"] == [] and body["is_active"] is False and body["project"] == project_id
    assert body["updated_at"] >= created["updated_at"]
    again = c.patch(f"/api/webhooks/{hook_id}/", json={"actions": ["TASKS_CREATED"], "url": PUBLIC_URL + "2"}).json()
    assert again["actions"] == ["TASKS_CREATED"] and again["url"] == PUBLIC_URL + "2"
    # PUT (Label Studio answers it too) needs the url.
    assert c.put(f"/api/webhooks/{hook_id}/", json={"is_active": True}).json()["validation_errors"] == {"url": ["This field is required."]}

    assert c.delete(f"/api/webhooks/{hook_id}/").status_code == 204
    assert c.get(f"/api/webhooks/{hook_id}/").status_code == 404
    assert db.scalar(select(Webhook.id)) is None
    kinds = db.scalars(select(OutboxEvent.kind).where(OutboxEvent.kind.like("WEBHOOKS_%")).order_by(OutboxEvent.id)).all()
    assert kinds == ["WEBHOOKS_CREATED", "WEBHOOKS_UPDATED", "WEBHOOKS_UPDATED", "WEBHOOKS_DELETED"]


def test_organization_wide_webhooks_are_supported(actor):
    """Label Studio Enterprise's behaviour (Community answers 404): no project, every project's events."""
    response = actor.client.post("/api/webhooks/", json={"url": PUBLIC_URL, "send_for_all_actions": False,
                                                         "actions": ["PROJECT_CREATED", "PROJECT_DELETED"]})
    assert response.status_code == 201, response.text
    body = assert_matches_spec(response, "POST", "/api/webhooks/")
    assert body["project"] is None and body["actions"] == ["PROJECT_CREATED", "PROJECT_DELETED"]
    assert [w["id"] for w in actor.client.get("/api/webhooks/?project=isnull").json()] == [body["id"]]


def test_info_lists_the_actions(client, actor):
    response = client.get("/api/webhooks/info/")  # public, as in Label Studio
    info = assert_matches_spec(response, "GET", "/api/webhooks/info/")
    assert list(info)[:3] == ["PROJECT_CREATED", "PROJECT_UPDATED", "PROJECT_DELETED"]
    assert info["ANNOTATION_CREATED"] == {"name": "Annotation created", "description": info["ANNOTATION_CREATED"]["description"],
                                          "key": "annotation", "organization-only": False}
    assert info["TASKS_DELETED"]["key"] == "tasks" and info["ANNOTATIONS_DELETED"]["key"] == "annotations"
    only = client.get("/api/webhooks/info/?organization-only=true").json()
    assert set(only) == {"PROJECT_CREATED", "PROJECT_DELETED"}
    others = client.get("/api/webhooks/info/?organization-only=false").json()
    assert "PROJECT_CREATED" not in others and "ANNOTATION_CREATED" in others


def test_bad_input_is_a_field_error(actor):
    c = actor.client
    project_id = make_project(c)

    def errors(body: dict) -> dict:
        response = c.post("/api/webhooks/", json=body)
        assert response.status_code == 400, response.text
        return response.json()["validation_errors"]

    assert errors({"project": project_id}) == {"url": ["This field is required."]}
    assert errors({"url": "ftp://93.184.215.14/x"}) == {"url": ["Enter a valid URL."]}
    assert errors({"url": "not a url"}) == {"url": ["Enter a valid URL."]}
    assert errors({"url": PUBLIC_URL, "actions": ["NOPE"]}) == {"actions": ['"NOPE" is not a valid choice.']}
    assert "actions" in errors({"url": PUBLIC_URL, "actions": "ANNOTATION_CREATED"})
    assert "headers" in errors({"url": PUBLIC_URL, "headers": ["x"]})
    assert "headers" in errors({"url": PUBLIC_URL, "headers": {"X-Number": 1}})
    assert "headers" in errors({"url": PUBLIC_URL, "headers": {"bad header": "x"}})
    assert "headers" in errors({"url": PUBLIC_URL, "headers": {f"h{i}": "x" for i in range(11)}})
    assert errors({"url": PUBLIC_URL, "send_payload": "maybe"}) == {"send_payload": ["Must be a valid boolean."]}
    assert errors({"url": PUBLIC_URL, "project": project_id, "actions": ["PROJECT_CREATED"]}) == {
        "non_field_errors": ["Project webhook can't contain organization-only action."]}
    assert "secret" in errors({"url": PUBLIC_URL, "secret": "not-a-secret"})
    assert actor.client.get("/api/webhooks/").json() == []


def test_outgoing_url_policy_at_creation_and_update(actor):
    """Loopback, private and metadata addresses are refused unless LABELGRAPH_ALLOWED_URL_HOSTS allows them."""
    c = actor.client
    for url in ("http://127.0.0.1:9/hook", "http://10.0.0.5/hook", "http://169.254.169.254/latest/meta-data", "http://[::1]/x"):
        response = c.post("/api/webhooks/", json={"url": url})
        assert response.status_code == 400, url
        assert "non-public address" in response.json()["validation_errors"]["url"][0]
    hook_id = c.post("/api/webhooks/", json={"url": PUBLIC_URL}).json()["id"]
    assert c.patch(f"/api/webhooks/{hook_id}/", json={"url": "http://127.0.0.1/hook"}).status_code == 400
    assert c.get(f"/api/webhooks/{hook_id}/").json()["url"] == PUBLIC_URL


def test_another_organizations_webhooks_are_not_found(actor, stranger):
    project_id = make_project(actor.client)
    hook_id = actor.client.post("/api/webhooks/", json={"url": PUBLIC_URL, "project": project_id}).json()["id"]
    s = stranger.client
    assert s.get("/api/webhooks/").json() == []
    assert s.get(f"/api/webhooks/?project={project_id}").json() == []
    for method in ("get", "patch", "put", "delete"):
        kwargs = {} if method in ("get", "delete") else {"json": {"url": PUBLIC_URL}}
        assert getattr(s, method)(f"/api/webhooks/{hook_id}/", **kwargs).status_code == 404, method
    # Nor can a webhook be hung on another organization's project.
    response = s.post("/api/webhooks/", json={"url": PUBLIC_URL, "project": project_id})
    assert response.status_code == 400 and "project" in response.json()["validation_errors"]
    assert actor.client.get(f"/api/webhooks/{hook_id}/").status_code == 200


def test_anonymous_callers_are_refused(client):
    assert client.get("/api/webhooks/").status_code == 401
    assert client.post("/api/webhooks/", json={"url": PUBLIC_URL}).status_code == 401


def test_signed_webhook_shows_its_secret_once(actor):
    c = actor.client
    response = c.post("/api/webhooks/", json={"url": PUBLIC_URL, "signed": True})
    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert "secret" not in c.get(f"/api/webhooks/{body['id']}/").json()
    assert "secret" not in c.get("/api/webhooks/").json()[0]
    # Asking again keeps the secret (nothing new to show); false stops signing.
    assert "secret" not in c.patch(f"/api/webhooks/{body['id']}/", json={"signed": True}).json()
    mine = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"  # base64 of 24 bytes
    assert c.patch(f"/api/webhooks/{body['id']}/", json={"secret": mine}).json()["secret"] == mine


GQL_CREATE = """
mutation($input: WebhookInput!, $projectId: ID) {
  createWebhook(input: $input, projectId: $projectId) {
    __typename
    ... on WebhookPayload { secret webhook { id pk url actions signed organizationWide isActive project { pk } } }
    ... on ValidationError { field messages }
    ... on NotFoundError { message }
  }
}"""


def gql(client, query: str, **variables) -> dict:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_graphql_webhooks(actor, stranger):
    from graphql_api.relay import to_global_id

    c = actor.client
    project_id = make_project(c)
    project_gid = to_global_id("Project", project_id)
    created = gql(c, GQL_CREATE, input={"url": PUBLIC_URL, "sendForAllActions": False, "actions": ["ANNOTATION_CREATED"],
                                        "signed": True}, projectId=project_gid)["createWebhook"]
    assert created["__typename"] == "WebhookPayload", created
    webhook = created["webhook"]
    assert created["secret"].startswith("whsec_") and webhook["signed"] and not webhook["organizationWide"]
    assert webhook["project"] == {"pk": project_id} and webhook["actions"] == ["ANNOTATION_CREATED"]

    refused = gql(c, GQL_CREATE, input={"url": "http://127.0.0.1/x"})["createWebhook"]
    assert refused["__typename"] == "ValidationError" and refused["field"] == "url"
    bad = gql(c, GQL_CREATE, input={"url": PUBLIC_URL, "actions": ["NOPE"]})["createWebhook"]
    assert bad["__typename"] == "ValidationError" and bad["field"] == "actions"

    # Updates are partial: actions not sent stay.
    updated = gql(c, """mutation($id: ID!) { updateWebhook(id: $id, input: {isActive: false}) {
        ... on WebhookPayload { secret webhook { isActive actions } } } }""", id=webhook["id"])["updateWebhook"]
    assert updated == {"secret": None, "webhook": {"isActive": False, "actions": ["ANNOTATION_CREATED"]}}

    listed = gql(c, """query($p: ID) { webhooks(projectId: $p) { pk deliveries(first: 5) { totalCount edges { node { status } } } }
                      webhookActions(organizationOnly: true) { key payloadKey organizationOnly } }""", p=project_gid)
    assert listed["webhooks"] == [{"pk": webhook["pk"], "deliveries": {"totalCount": 0, "edges": []}}]
    assert [a["key"] for a in listed["webhookActions"]] == ["PROJECT_CREATED", "PROJECT_DELETED"]
    assert gql(c, "query($id: ID!) { node(id: $id) { ... on Webhook { url } } }", id=webhook["id"])["node"] == {"url": PUBLIC_URL}

    # Another organization sees nothing and changes nothing.
    s = stranger.client
    assert gql(s, "{ webhooks { pk } }")["webhooks"] == []
    assert gql(s, "query($id: ID!) { node(id: $id) { id } }", id=webhook["id"])["node"] is None
    denied = gql(s, """mutation($id: ID!) { deleteWebhook(id: $id) { __typename } }""", id=webhook["id"])["deleteWebhook"]
    assert denied["__typename"] == "NotFoundError"

    deleted = gql(c, """mutation($id: ID!) { deleteWebhook(id: $id) { ... on DeletePayload { deletedId } } }""", id=webhook["id"])
    assert deleted["deleteWebhook"] == {"deletedId": webhook["id"]}
    assert gql(c, "{ webhooks { pk } }")["webhooks"] == []
