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
cp htmx/package/dist/htmx.min.js "$here/htmx.min.js"
cp htmx/package/LICENSE "$here/htmx.LICENSE"
cp alpine/package/dist/cdn.min.js "$here/alpine-csp.min.js"
printf 'Alpine.js (@alpinejs/csp) %s\nMIT License, Copyright (c) 2019-2025 Caleb Porzio and contributors\nhttps://github.com/alpinejs/alpine/blob/main/LICENSE.md\n' 3.17.4 > "$here/alpine-csp.LICENSE"
cp pico/package/css/pico.min.css "$here/pico.min.css"
cp pico/package/LICENSE.md "$here/pico.LICENSE.md"
cd "$here"
{
  echo "# Vendored browser libraries: name version file sha256"
  for f in htmx.min.js alpine-csp.min.js pico.min.css; do
    case $f in htmx*) v="htmx.org 2.0.11";; alpine*) v="@alpinejs/csp 3.17.4";; pico*) v="@picocss/pico 2.1.1";; esac
    echo "$v $f $(sha256sum "$f" | cut -d' ' -f1)"
  done
} > VERSIONS.txt
echo "vendored into $here"
