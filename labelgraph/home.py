"""GET /: a page for whoever opens the server's address in a browser, saying where everything is."""
from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

HOME_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Labelgraph</title>
<link rel="icon" href="data:,">
<style>
body { font-family: system-ui, sans-serif; max-width: 46em; margin: 2em auto; padding: 0 1em; line-height: 1.5; }
code, pre { background: #f3f3f3; padding: 0 .2em; }
pre { padding: .5em; overflow-x: auto; }
</style>
</head>
<body>
<h1>Labelgraph</h1>
<p>A data-labeling backend that speaks the Label Studio REST API and GraphQL.</p>
<ul>
<li><a href="/graphql">GraphiQL</a> (<code>/graphql</code>): explore and run GraphQL queries in the browser</li>
<li><a href="/docs/api/">REST API documentation</a> (<code>/docs/api/</code>; OpenAPI at
  <a href="/docs/api/schema/json/"><code>/docs/api/schema/json/</code></a>)</li>
<li><a href="/health">Health check</a> (<code>/health</code>)</li>
</ul>
<h2>Authenticating</h2>
<p>Every API call carries a token in the <code>Authorization</code> header:
<code>Authorization: Token &lt;your API token&gt;</code> (or <code>Bearer &lt;access token&gt;</code>,
from <code>POST /api/token/refresh/</code>). In GraphiQL, put it in the <em>Headers</em> tab as
<code>{"Authorization": "Token &lt;your API token&gt;"}</code>.</p>
<p>No user yet? Create one; the command prints the user's token:</p>
<pre>.venv/bin/labelgraph create-user you@example.com --password 'a password'</pre>
<p>Then, e.g.:</p>
<pre>curl -H "Authorization: Token &lt;your API token&gt;" http://HOST/api/projects/</pre>
</body>
</html>
"""


async def home(request: Request) -> HTMLResponse:
    origin = html.escape(f"{request.url.scheme}://{request.url.netloc}")  # the Host header is the client's
    return HTMLResponse(HOME_PAGE.replace("http://HOST", origin))


home_routes = [Route("/", home, methods=["GET"], include_in_schema=False)]
