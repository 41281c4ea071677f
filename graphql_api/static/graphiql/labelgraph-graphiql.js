// Labelgraph's GraphiQL page: queries go to this page's own URL over HTTP, subscriptions over
// graphql-transport-ws on the same path; the headers editor's headers (Authorization) go with both.
(function () {
  "use strict";

  var EXAMPLE_QUERY = [
    "# Labelgraph's GraphQL API. Every query needs your API token:",
    "# in the Headers tab below, replace <your API token> (or use",
    "# \"Bearer <access token>\"). No token yet? In a terminal,",
    "#   .venv/bin/labelgraph create-user you@example.com",
    "# prints one. Then run this query with the play button",
    "# (Ctrl-Enter); the Docs and autocompletion follow your token.",
    "",
    "{",
    "  me { email }",
    "  projects(first: 10) {",
    "    totalCount",
    "    edges { node { id title taskNumber totalAnnotationsNumber } }",
    "  }",
    "}",
    "",
  ].join("\n");
  var DEFAULT_HEADERS = '{\n  "Authorization": "Token <your API token>"\n}';

  // ?q=...&variables=... in the address bar: a query can be shared as a link.
  var parameters = {};
  new URLSearchParams(window.location.search).forEach(function (value, key) {
    parameters[key] = value;
  });

  function updateURL(changes) {
    Object.assign(parameters, changes);
    var search = new URLSearchParams();
    Object.keys(parameters).forEach(function (key) {
      if (parameters[key]) search.set(key, parameters[key]);
    });
    var query = search.toString();
    history.replaceState(null, "", query ? "?" + query : window.location.pathname);
  }

  var fetchURL = window.location.origin + window.location.pathname;
  var subscriptionURL = fetchURL.replace(/^http/, "ws");

  function newFetcher() {
    return GraphiQL.createFetcher({ url: fetchURL, subscriptionUrl: subscriptionURL });
  }

  function LabelgraphGraphiQL() {
    // GraphiQL asks for the schema again when its fetcher changes: a new one once the headers
    // have stopped changing, so the Docs appear as soon as a valid token is typed.
    var state = React.useState(newFetcher);
    var fetcher = state[0];
    var setFetcher = state[1];
    var timer = React.useRef(null);

    function onEditHeaders() {
      clearTimeout(timer.current);
      timer.current = setTimeout(function () { setFetcher(newFetcher); }, 800);
    }

    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: EXAMPLE_QUERY,
      query: parameters.q,
      variables: parameters.variables,
      defaultHeaders: DEFAULT_HEADERS,
      // The token typed once stays in this browser's localStorage.
      shouldPersistHeaders: true,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: "headers",
      inputValueDeprecation: true,
      onEditQuery: function (query) { updateURL({ q: query }); },
      onEditVariables: function (variables) { updateURL({ variables: variables }); },
      onEditHeaders: onEditHeaders,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(LabelgraphGraphiQL));
})();
