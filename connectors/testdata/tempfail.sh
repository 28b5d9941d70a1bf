#!/bin/sh
# Exits 75 (EX_TEMPFAIL) the first time, 0 after: $OUT counts the runs.
cat > /dev/null
n=$(cat "$OUT" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$OUT"
if [ "$n" -lt 2 ]; then
  echo "backend busy" >&2
  exit 75
fi
echo '{"message": "done on run '"$n"'"}'
