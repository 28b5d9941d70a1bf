#!/bin/sh
# Starts a child that holds stdout open, records its pid, and hangs.
sleep 300 &
echo $! > "$OUT"
sleep 300
