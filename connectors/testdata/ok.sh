#!/bin/sh
# Copies the request to $OUT, the environment to $OUT.env, and says so.
cat > "$OUT"
env > "$OUT.env"
echo '{"message": "recorded by ok.sh"}'
