# shellcheck shell=sh
if [ -n "$W" ]; then d=$W; else d=$(pwd -P); [ "$d" != / ] || d=${HOME:-/root}; fi
mkdir -p "$d" && cd -P "$d" || exit 3
u=$(id -u 2>/dev/null || echo 0)
g=$(id -g 2>/dev/null || echo 0)
printf '%s\0%s\0%s\0%s\0%s\0%s\0%s\0' "$(pwd -P)" "$HOME" "$PATH" "$LANG" "$u" "$(command -v bash 2>/dev/null)" "$g"
