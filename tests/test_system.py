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
