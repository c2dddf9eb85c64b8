# shellcheck shell=sh
# Fetches the session's `source` into $D (the working directory, which must be empty). Everything comes
# in the environment, never in the script: S_TYPE git|tarball, S_URL, S_REV, S_DEPTH, S_USER, S_PASSWORD.
set -e
mkdir -p "$D"
if [ -n "$(ls -A "$D")" ]; then
  echo "the working directory $D is not empty" >&2
  exit 3
fi
cd "$D"
if [ "$S_TYPE" = tarball ]; then
  t=$(mktemp)
  if command -v curl >/dev/null; then
    curl -fsSL -o "$t" "$S_URL"
  elif command -v wget >/dev/null; then
    wget -q -O "$t" "$S_URL"
  elif command -v node >/dev/null; then
    # shellcheck disable=SC2016 # JavaScript, not shell
    node -e 'fetch(process.env.S_URL).then(async (r) => { if (!r.ok) throw new Error(`HTTP ${r.status}`); require("fs").writeFileSync(process.argv[1], Buffer.from(await r.arrayBuffer())); }).catch((e) => { console.error(e.message); process.exit(1); })' "$t"
  else
    echo "the image has no curl, wget or node to download the tarball with" >&2
    exit 4
  fi
  tar -xzf "$t"
  rm -f "$t"
  exit 0
fi
command -v git >/dev/null || { echo "the image has no git" >&2; exit 4; }
git init -q .
git remote add origin "$S_URL"
# Credentials reach git through a helper reading this process's environment: never a URL, a file or history.
if [ -n "$S_USER$S_PASSWORD" ]; then
  # shellcheck disable=SC2016 # expanded by git's helper shell, from the environment
  set -- -c credential.helper= -c 'credential.helper=!f() { echo "username=$S_USER"; echo "password=$S_PASSWORD"; }; f'
else
  set -- -c credential.helper=
fi
if git "$@" fetch -q ${S_DEPTH:+--depth "$S_DEPTH"} origin "${S_REV:-HEAD}"; then
  git checkout -q --detach FETCH_HEAD
else
  # A commit id the server does not hand out by itself: fetch everything, then check it out.
  [ -n "$S_REV" ] || exit 5
  git "$@" fetch -q origin '+refs/heads/*:refs/remotes/origin/*' '+refs/tags/*:refs/tags/*'
  git checkout -q --detach "$S_REV"
fi
