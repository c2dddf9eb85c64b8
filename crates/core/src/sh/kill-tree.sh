# shellcheck shell=sh
root=$1
kill -STOP -- "-$root" 2>/dev/null || kill -STOP "$root" 2>/dev/null
tree=$root
frontier=$root
while [ -n "$frontier" ]; do
  next=""
  for stat in /proc/[0-9]*/stat; do
    read -r line < "$stat" 2>/dev/null || continue
    rest=${line##*) }
    # shellcheck disable=SC2086 # split the stat fields into $1, $2, ...
    set -- $rest
    for parent in $frontier; do
      if [ "$2" = "$parent" ]; then pid=${stat#/proc/}; next="$next ${pid%/stat}"; fi
    done
  done
  for pid in $next; do kill -STOP "$pid" 2>/dev/null; done
  tree="$tree $next"
  frontier=$next
done
kill -KILL -- "-$root" 2>/dev/null
# shellcheck disable=SC2086 # one argument per pid
kill -KILL $tree 2>/dev/null
exit 0
