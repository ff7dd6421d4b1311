#!/usr/bin/env bash
# Re-vendor the browser libraries from the npm registry (run by `make vendor`).
# Versions are pinned here; VERSIONS.txt records what was copied and its SHA-256.
# htmx stays on 2.0.x on purpose: the registry's `latest` is 4.x, which breaks 2.x pages.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fetch() { npm pack --silent "$1" >/dev/null; mkdir -p "$2"; tar xzf ./*.tgz -C "$2"; rm -f ./*.tgz; }
fetch htmx.org@2.0.11 htmx
fetch @alpinejs/csp@3.17.4 alpine
fetch @picocss/pico@2.1.1 pico
fetch vega@6.2.0 vega
fetch vega-lite@6.4.0 vega-lite
fetch vega-embed@7.3.0 vega-embed
fetch vega-interpreter@2.3.2 vega-interpreter
fetch sortablejs@1.15.6 sortable
fetch axe-core@4.14.1 axe
cp htmx/package/dist/htmx.min.js "$here/htmx.min.js"
cp htmx/package/LICENSE "$here/htmx.LICENSE"
cp alpine/package/dist/cdn.min.js "$here/alpine-csp.min.js"
printf 'Alpine.js (@alpinejs/csp) %s\nMIT License, Copyright (c) 2019-2025 Caleb Porzio and contributors\nhttps://github.com/alpinejs/alpine/blob/main/LICENSE.md\n' 3.17.4 > "$here/alpine-csp.LICENSE"
cp pico/package/css/pico.min.css "$here/pico.min.css"
cp pico/package/LICENSE.md "$here/pico.LICENSE.md"
cp vega/package/build/vega.min.js "$here/vega.min.js"
cp vega/package/LICENSE "$here/vega.LICENSE"
cp vega-lite/package/build/vega-lite.min.js "$here/vega-lite.min.js"
cp vega-lite/package/LICENSE "$here/vega-lite.LICENSE"
cp vega-embed/package/build/vega-embed.min.js "$here/vega-embed.min.js"
cp vega-embed/package/LICENSE "$here/vega-embed.LICENSE"
cp vega-interpreter/package/LICENSE "$here/vega-interpreter.LICENSE"
cp sortable/package/Sortable.min.js "$here/sortable.min.js"
cp sortable/package/LICENSE "$here/sortable.LICENSE"
# axe-core checks pages for accessibility in the browser tests only; no page loads it.
cp axe/package/axe.min.js "$here/axe.min.js"
cp axe/package/LICENSE "$here/axe.LICENSE"
# vega-interpreter ships only as an ES module importing vega-util; vega.min.js already
# exposes those functions on the `vega` global, so wrap it as a classic script that sets
# `window.vegaInterpreter` (no bundler, no import map: an import map would be inline script).
{
  echo "/* vega-interpreter 2.3.2, BSD-3-Clause (see vega-interpreter.LICENSE); wrapped by vendor.sh */"
  echo "(function (vega) {"
  sed -e "s/^import { \(.*\) } from 'vega-util';$/const { \1 } = vega;/" \
      -e "s/^export { expression as expressionInterpreter };$/window.vegaInterpreter = { expressionInterpreter: expression };/" \
      vega-interpreter/package/build/vega-interpreter.js
  echo "})(window.vega);"
} > "$here/vega-interpreter.js"
grep -q "^import\|^export" "$here/vega-interpreter.js" && { echo "vega-interpreter wrap failed" >&2; exit 1; }
cd "$here"
{
  echo "# Vendored browser libraries: name version file sha256"
  for f in htmx.min.js alpine-csp.min.js pico.min.css vega.min.js vega-lite.min.js vega-embed.min.js vega-interpreter.js sortable.min.js axe.min.js; do
    case $f in
      htmx*) v="htmx.org 2.0.11";; alpine*) v="@alpinejs/csp 3.17.4";; pico*) v="@picocss/pico 2.1.1";;
      vega.min.js) v="vega 6.2.0";; vega-lite*) v="vega-lite 6.4.0";; vega-embed*) v="vega-embed 7.3.0";;
      vega-interpreter*) v="vega-interpreter 2.3.2";; sortable*) v="sortablejs 1.15.6";;
      axe*) v="axe-core 4.14.1";;
    esac
    echo "$v $f $(sha256sum "$f" | cut -d' ' -f1)"
  done
} > VERSIONS.txt
echo "vendored into $here"
