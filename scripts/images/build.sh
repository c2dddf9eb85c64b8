#!/usr/bin/env bash
# Build a test image from scratch and print the absolute path of its docker-save tarball.
#   usage: scripts/images/build.sh busybox|harness     (logs go to stderr)
# The recipe for NAME is scripts/images/NAME.sh: it defines build_rootfs, IMAGE_CONFIG
# and PACK_FLAGS. Results are cached by a hash of everything that decides the content.
set -euo pipefail
shopt -s inherit_errexit # so a failing helper inside $(...) stops the build
umask 022

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
name="${1:?usage: build.sh busybox|harness}"
recipe="$here/$name.sh"
[ -f "$recipe" ] || { echo "build.sh: unknown image '$name'" >&2; exit 2; }

cache="${AI_SDK_MICROSANDBOX_IMAGES_DIR:-$HOME/.cache/ai-sdk-microsandbox-dev/images}"
log() { echo "[images/$name] $*" >&2; }
die() { log "error: $*"; exit 1; }

PACK_FLAGS=""
HASH_FILES=()
# shellcheck source=/dev/null
source "$recipe"
# The recipe holds the pinned versions and names any other file its content comes from.
for f in "${HASH_FILES[@]}"; do [ -f "$f" ] || die "missing $f (run scripts/setup.sh first)"; done
hash12="$( { echo "$name"; cat "$here/build.sh" "$here/pack_docker_archive.py" "$recipe" "${HASH_FILES[@]}"; } \
  | sha256sum | cut -c1-12)"
out="$cache/$name-$hash12.tar"
tag="localhost/ai-sdk-microsandbox-test/$name:$hash12"
[ -f "$out" ] && { echo "$out"; exit 0; }

downloads="$cache/downloads"
mkdir -p "$downloads"
# One builder per image at a time; whoever waited finds the finished tarball.
exec 9>"$cache/.$name.lock"
flock 9
[ -f "$out" ] && { echo "$out"; exit 0; }

unmount_under() { # lazily unmount anything a recipe mounted below $1, deepest first
  awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do umount -l "$m" || true; done
}
# Holding the lock, any older build dir of this image is debris from a killed build.
for stale in "$cache/.build-$name-"*; do
  [ -d "$stale" ] && { unmount_under "$stale"; rm -rf --one-file-system "$stale"; }
done
# The build dir sits in the cache dir so the final rename is atomic (same filesystem).
work="$(mktemp -d "$cache/.build-$name-XXXXXX")"
cleanup() { unmount_under "$work"; rm -rf --one-file-system "$work"; }
trap cleanup EXIT

# deb_fetch PKG: print the path of a cached .deb of PKG (Debian's current candidate).
deb_fetch() {
  local pkg="$1" deb
  deb="$(find "$downloads" -maxdepth 1 -name "${pkg}_*.deb" | sort -V | tail -n1)"
  if [ -z "$deb" ]; then
    mkdir -p "$work/dl"
    # apt-get needs package lists; on a fresh machine fetch them once and retry.
    (cd "$work/dl" && { apt-get -qq -o APT::Sandbox::User=root download "$pkg" >&2 ||
      { apt-get -qq update >&2 && apt-get -qq -o APT::Sandbox::User=root download "$pkg" >&2; }; })
    deb="$downloads/$(basename "$work/dl/${pkg}"_*.deb)"
    mv "$work/dl/${pkg}"_*.deb "$deb"
  fi
  echo "$deb"
}

# npm_fetch NAME@VERSION: print the path of the cached registry tarball (NAME-VERSION.tgz).
npm_fetch() {
  local spec="$1" file
  file="$downloads/$(echo "${spec/@/-}" | tr / -).tgz"
  if [ ! -f "$file" ]; then
    mkdir -p "$work/dl"
    (cd "$work/dl" && npm pack --silent "$spec" >/dev/null)
    mv "$work/dl/$(basename "$file")" "$file"
  fi
  echo "$file"
}

log "building $tag in $work"
rootfs="$work/rootfs"
mkdir "$rootfs"
build_rootfs "$rootfs"
unmount_under "$work"
printf '%s\n' "$IMAGE_CONFIG" >"$work/config.json"
# shellcheck disable=SC2086
python3 "$here/pack_docker_archive.py" "$rootfs" "$work/config.json" "$work/image.tar" "$tag" $PACK_FLAGS
mv -f "$work/image.tar" "$out"
log "done in ${SECONDS}s: $(du -h "$out" | cut -f1) $out"
echo "$out"
