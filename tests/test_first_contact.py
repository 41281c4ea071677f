"""What a newcomer meets first: the / page, GraphiQL served from Labelgraph itself, CORS for browser
clients on other origins, and `labelgraph serve` on an empty database saying how to get a token."""
import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from core.config import load_settings
from tests.conftest import _free_port
from tests.test_cli import LABELGRAPH, _wait_up


class _Links(HTMLParser):
    """The URLs a page loads or links to."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("href", "src") and value]


def _urls(page: str) -> list[str]:
    parser = _Links()
    parser.feed(page)
    return parser.urls


def test_home_page_links_graphiql_docs_and_health_and_says_how_to_authenticate(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = _urls(response.text)
    assert {"/graphql", "/docs/api/", "/health"} <= set(urls)
    assert all(url.startswith("/") or url.startswith("data:") for url in urls), urls
    assert "Authorization: Token" in response.text
    assert "labelgraph create-user" in response.text
    for url in ("/graphql", "/docs/api/", "/health"):
        assert client.get(url, headers={"Accept": "text/html"}).status_code == 200, url


def test_graphiql_page_loads_only_files_served_here(client):
    page = client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    urls = _urls(page.text)
    assert all(url.startswith("/") or url.startswith("data:") for url in urls), urls
    assets = [url for url in urls if url.startswith("/")]
    assert any(url.endswith("/graphiql.min.js") for url in assets) and any(url.endswith("/react.production.min.js") for url in assets)
    for url in assets:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert "sourceMappingURL=" not in asset.text[-300:], f"{url} would make the browser ask for a map not shipped"
    script = client.get("/static/graphiql/labelgraph-graphiql.js").text
    assert '"Authorization": "Token <your API token>"' in script  # the headers editor starts with the header to fill
    assert "me { email }" in script
    assert client.get("/static/graphiql/vendor/LICENSE.graphiql").status_code == 200
    assert client.get("/static/graphiql/nothing.js").status_code == 404


def test_graphiql_page_still_only_for_browsers(actor):
    # A GET with ?query= (or without text/html) is a GraphQL request, not the page.
    answer = actor.client.get("/graphql", params={"query": "{ me { email } }"}, headers={"Accept": "text/html, application/json"})
    assert answer.json() == {"data": {"me": {"email": actor.email}}}


@pytest.mark.parametrize("path", ["/graphql", "/api/projects/", "/api/projects/1/"])
def test_cors_preflight_is_answered_for_any_origin_by_default(client, path):
    response = client.options(path, headers={
        "Origin": "http://app.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    })
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


def test_cors_headers_on_answers_including_errors(actor, client):
    origin = {"Origin": "http://app.example.com"}
    ok = actor.client.get("/api/projects/", headers=origin)
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "*"
    graphql = actor.client.post("/graphql", json={"query": "{ me { email } }"}, headers=origin)
    assert graphql.json()["data"]["me"]["email"] == actor.email
    assert graphql.headers["access-control-allow-origin"] == "*"
    refused = client.get("/api/projects/", headers=origin)
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == "*"


def _client_for(settings):
    from starlette.testclient import TestClient

    from labelgraph.app import create_app

    app = create_app(settings)
    return app, TestClient(app, raise_server_exceptions=False)


def test_cors_origins_setting_limits_origins(settings):
    app, client = _client_for(settings.with_(cors_origins=("https://app.example.com",)))
    try:
        preflight = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
        allowed = client.options("/api/projects/", headers={"Origin": "https://app.example.com", **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        other = client.options("/api/projects/", headers={"Origin": "https://evil.example.com", **preflight})
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers
    finally:
        app.state.engine.dispose()


def test_cors_can_be_turned_off(settings):
    app, client = _client_for(settings.with_(cors_origins=()))
    try:
        response = client.options("/api/projects/", headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})
        assert response.status_code == 405
        assert "access-control-allow-origin" not in response.headers
    finally:
        app.state.engine.dispose()


def test_cors_origins_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("LABELGRAPH_CORS_ORIGINS", raising=False)
    assert load_settings(tmp_path).cors_origins == ("*",)
    monkeypatch.setenv("LABELGRAPH_CORS_ORIGINS", " https://a.example.com, http://localhost:3000 ,")
    assert load_settings(tmp_path).cors_origins == ("https://a.example.com", "http://localhost:3000")
    monkeypatch.setenv("LABELGRAPH_CORS_ORIGINS", "")
    assert load_settings(tmp_path).cors_origins == ()


ENV = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}


def _serve(tmp_path, *extra: str):
    port = _free_port()
    proc = subprocess.Popen([LABELGRAPH, "serve", "--port", str(port), "--data-dir", str(tmp_path), *extra],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    _wait_up(url, proc)
    return proc, url


def _stop(proc) -> str:
    proc.terminate()
    return proc.communicate(timeout=10)[0]


def test_serve_on_an_empty_database_says_how_to_create_the_first_user(tmp_path):
    proc, url = _serve(tmp_path)
    try:
        assert requests.get(f"{url}/").status_code == 200
    finally:
        output = _stop(proc)
    command = re.search(r"^ +(\S*labelgraph create-user .*)$", output, re.M)
    assert command, output
    assert f"--data-dir {tmp_path}" in command.group(1)
    assert "Authorization: Token" in output
    assert str(tmp_path) in output  # where its data lives

    # The printed command, run as shown (with a real password), gives a token the server accepts.
    argv = command.group(1).replace("CHOOSE-A-PASSWORD", "pw-12345").split()
    argv[0] = LABELGRAPH
    token = subprocess.run(argv, env=ENV, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    proc, url = _serve(tmp_path)
    try:
        me = requests.get(f"{url}/api/current-user/whoami", headers={"Authorization": f"Token {token}"})
        assert me.status_code == 200 and me.json()["email"] == "you@example.com"
    finally:
        output = _stop(proc)
    assert "create-user" not in output, "with a user, no hint"


def test_make_serve_takes_port_and_host():
    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}

    def serve_command(*variables: str) -> str:
        dry_run = subprocess.run(["make", "-n", "-C", str(root), "serve", *variables], env=env, capture_output=True, text=True, check=True)
        return next(line for line in dry_run.stdout.splitlines() if "labelgraph serve" in line)

    assert serve_command().endswith("labelgraph serve --host 127.0.0.1 --port 8080")
    assert serve_command("PORT=8081", "HOST=0.0.0.0").endswith("labelgraph serve --host 0.0.0.0 --port 8081")
