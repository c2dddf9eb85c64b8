# shellcheck shell=sh
d=$1
mkdir -p "$d" && : > "$d/stdout" && : > "$d/stderr" || exit 1
# shellcheck disable=SC2016 # expanded by the wrapper shell, not here
setsid "$2" -c '"$0" -c "$1" </dev/null >>"$2/stdout" 2>>"$2/stderr"; echo $? > "$2/exit.tmp"; mv "$2/exit.tmp" "$2/exit"' "$2" "$3" "$d" </dev/null >/dev/null 2>&1 &
echo $!
