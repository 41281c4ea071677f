"""A real browser (Debian's chromium through Playwright) against a real Labelgraph server: GraphiQL
works with no network beyond the server, the / page leads to it, and a page on another origin
calls REST and GraphQL with a token (CORS).

Every request the pages make to anything but the server (and the second origin's page) is aborted
and recorded; the tests assert there was none. Runs on SQLite only: the pages are the same on
either database."""
from __future__ import annotations

import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import _free_port

CHROMIUM = "/usr/bin/chromium"
ACTION_TIMEOUT_MS = 15_000


@pytest.fixture
def db_url(sqlite_template, tmp_path) -> str:
    path = tmp_path / "db.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); in CI this test must run")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


class OfflinePage:
    """A browser page that reaches only `allowed` origins; every other request is aborted and kept,
    as are script errors and what the page's Content-Security-Policy refused (before any request)."""

    def __init__(self, browser, *allowed: str):
        self.context = browser.new_context()
        self.context.set_default_timeout(ACTION_TIMEOUT_MS)
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", self._console)
        self.allowed = allowed

    def _route(self, route):
        url = route.request.url
        if any(url == origin or url.startswith(origin + "/") for origin in self.allowed):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")

    def _console(self, message):
        if message.type == "error" and "Content Security Policy" in message.text:
            self.blocked.append(message.text)

    def close(self):
        self.context.close()


@pytest.fixture
def offline_page(browser, live_server):
    pages: list[OfflinePage] = []

    def open_page(*other_origins: str) -> OfflinePage:
        page = OfflinePage(browser, live_server, *other_origins)
        pages.append(page)
        return page

    yield open_page
    for page in pages:
        page.close()


def run_in_graphiql(page, token: str) -> str:
    """Types the Authorization header into GraphiQL's headers editor, runs the editor's query with
    the run button and returns the response pane's text."""
    page.locator(".graphiql-execute-button").wait_for()
    headers_editor = page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror")
    assert "Token <your API token>" in headers_editor.inner_text(), "the headers editor starts with the header to fill in"
    headers_editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(f'{{"Authorization": "Token {token}"}}')
    page.locator(".graphiql-execute-button").click()
    response = page.locator(".graphiql-response")
    response.get_by_text('"email"').wait_for()
    return response.inner_text()


def test_graphiql_runs_a_query_with_no_network_but_the_server(offline_page, live_server, actor):
    actor.client.post("/api/projects/", json={"title": "Seen in GraphiQL"})
    browser_page = offline_page()
    page = browser_page.page
    page.goto(f"{live_server}/graphql")
    result = run_in_graphiql(page, actor.token)
    assert actor.email in result
    assert "Seen in GraphiQL" in result, "the default example query lists projects"
    # The schema is asked for again with the typed token: the Docs show the API.
    page.get_by_role("button", name="Show Documentation Explorer").click()
    page.locator(".graphiql-doc-explorer").get_by_text("Mutation").first.wait_for()
    assert browser_page.blocked == []
    assert browser_page.errors == []


def test_home_page_leads_to_graphiql(offline_page, live_server, actor):
    browser_page = offline_page()
    page = browser_page.page
    page.goto(f"{live_server}/")
    assert "Authorization: Token" in page.locator("body").inner_text()
    page.get_by_role("link", name="GraphiQL").click()
    page.wait_for_url(f"{live_server}/graphql")
    assert actor.email in run_in_graphiql(page, actor.token)
    assert browser_page.blocked == []
    assert browser_page.errors == []


class _AppPage(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><title>another origin</title><p>a frontend served elsewhere</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def other_origin():
    """A page served from another loopback port: another origin than the server's."""
    server = ThreadingHTTPServer(("127.0.0.1", _free_port()), _AppPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


CROSS_ORIGIN_CALLS = """async ([server, token]) => {
  const headers = {"Authorization": "Token " + token, "Content-Type": "application/json"};
  const projects = await fetch(server + "/api/projects/", {headers});
  const graphql = await fetch(server + "/graphql", {
    method: "POST", headers, body: JSON.stringify({query: "{ me { email } projects { edges { node { title } } } }"}),
  });
  return {projects: await projects.json(), graphql: await graphql.json()};
}"""


def test_page_on_another_origin_calls_rest_and_graphql_with_a_token(offline_page, live_server, other_origin, actor):
    actor.client.post("/api/projects/", json={"title": "Seen across origins"})
    browser_page = offline_page(other_origin)
    page = browser_page.page
    page.goto(f"{other_origin}/app")
    answers = page.evaluate(CROSS_ORIGIN_CALLS, [live_server, actor.token])
    assert [project["title"] for project in answers["projects"]["results"]] == ["Seen across origins"]
    assert answers["graphql"]["data"]["me"]["email"] == actor.email
    assert answers["graphql"]["data"]["projects"]["edges"][0]["node"]["title"] == "Seen across origins"
    assert browser_page.blocked == []
