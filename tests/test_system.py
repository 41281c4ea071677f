from tests.openapi_contract import assert_matches_spec


def test_health_answers_without_auth(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "UP"}


def test_version_matches_spec(client):
    response = client.get("/api/version/")
    assert response.status_code == 200
    body = assert_matches_spec(response, "GET", "/api/version/")
    assert body["release"] == "1.23.2"


def test_unknown_path_is_a_json_404(client):
    response = client.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["status_code"] == 404
    assert response.json()["detail"] == "Not found."


def test_bad_token_is_401_in_label_studio_shape(client):
    response = client.get("/api/projects/", headers={"Authorization": "Token nope"})
    assert response.status_code == 401
    body = response.json()
    assert body["status_code"] == 401 and "detail" in body


def test_openapi_document_lists_every_api_route(app, client):
    document = client.get("/docs/api/schema/json/").json()
    assert document["openapi"].startswith("3.")
    for method, path in [("get", "/api/projects/"), ("post", "/api/tasks/{id}/annotations/"), ("delete", "/api/predictions/{id}/")]:
        assert method in document["paths"][path], (method, path)
    project = document["paths"]["/api/projects/{id}/"]["get"]
    assert project["parameters"][0] == {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    assert client.get("/swagger.json").json()["paths"] == document["paths"]
    page = client.get("/docs/api/")
    assert page.status_code == 200 and "/api/projects/" in page.text


def test_head_is_answered_like_get(client):
    response = client.head("/api/version/")
    assert response.status_code == 200
