#!/usr/bin/env bash
# Replaces the vendored GraphiQL, React and ReactDOM builds (and their licenses) with the given
# versions from the npm registry:  ./update.sh [GRAPHIQL_VERSION] [REACT_VERSION]
# Then bump the versions in README.md here and check the page with tests/test_browser.py.
set -euo pipefail
graphiql=${1:-3.8.3}
react=${2:-18.3.1}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "graphiql@$graphiql" "react@$react" "react-dom@$react" >/dev/null
for package in "graphiql-$graphiql" "react-$react" "react-dom-$react"; do
  mkdir "$package" && tar -xzf "$package.tgz" -C "$package"
done
# The source maps are not shipped: drop the trailing comments that would make a browser ask for them.
strip_map_comment() { sed '${/^\/[\/*]# sourceMappingURL=/d}' "$1" > "$2"; }
strip_map_comment "graphiql-$graphiql/package/graphiql.min.js" "$here/graphiql.min.js"
strip_map_comment "graphiql-$graphiql/package/graphiql.min.css" "$here/graphiql.min.css"
cp "react-$react/package/umd/react.production.min.js" "$here/react.production.min.js"
cp "react-dom-$react/package/umd/react-dom.production.min.js" "$here/react-dom.production.min.js"
cp "graphiql-$graphiql/package/LICENSE" "$here/LICENSE.graphiql"
cp "react-$react/package/LICENSE" "$here/LICENSE.react"
cp "react-dom-$react/package/LICENSE" "$here/LICENSE.react-dom"
echo "vendored graphiql $graphiql, react and react-dom $react into $here"
