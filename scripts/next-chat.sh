#!/usr/bin/env bash
# The useChat example app (examples/next-chat).
#   scripts/next-chat.sh build   installs its dependencies and builds it, unless its sources are
#                                unchanged since the last build (a digest in .next/)
# ai-sdk-microsandbox is this repository there (file:../..), never bundled: a change here needs no build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node22.sh
app=examples/next-chat
case "${1:-}" in
  build)
    digest=$(cd "$app" && git ls-files -co --exclude-standard -z . | xargs -0 sha256sum | sha256sum | cut -c1-16)
    [ "$(cat "$app/.next/source-digest" 2>/dev/null)" = "$digest" ] && exit 0
    if ! cmp -s "$app/package-lock.json" "$app/node_modules/.ai-sdk-microsandbox-lock"; then
      npm ci --prefix "$app" --no-audit --no-fund
      cp "$app/package-lock.json" "$app/node_modules/.ai-sdk-microsandbox-lock"
    fi
    (cd "$app" && npx next build --webpack)
    echo "$digest" >"$app/.next/source-digest"
    ;;
  *)
    echo "usage: $0 build" >&2
    exit 2
    ;;
esac
