# shellcheck shell=sh
d=$1; pid=$2
if tail --version >/dev/null 2>&1; then
  tail -s 0.1 -c "+$3" -f --pid="$pid" "$d/stdout" & o=$!
  tail -s 0.1 -c "+$4" -f --pid="$pid" "$d/stderr" >&2 & e=$!
  wait $o $e
else
  tail -c "+$3" -f "$d/stdout" & o=$!
  tail -c "+$4" -f "$d/stderr" >&2 & e=$!
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  sleep 1.5
  kill $o $e 2>/dev/null
  wait $o $e 2>/dev/null
fi
exit 0
