#!/bin/sh
# An exec connector for trying accessbot out: it "grants" and "revokes" by
# appending a line to a local file (ACCESSBOT_GRANTS_FILE, default
# ./accessbot-grants.log). accessbot sends the request as JSON on stdin:
#   {"action":"grant","idempotency_key":"…","task":"T-12","app":"wiki",
#    "resource":"…","subject":{"email":"…","account":"…"},"approvers":[…],
#    "expires_at":"…","attempt":1}
# Exit 0: done. Exit 75: try again later. Anything else: failed, and the
# step goes to the app's provisioners. Whatever {"message": "..."} this
# prints is shown on the task's cards.
set -eu
file="${ACCESSBOT_GRANTS_FILE:-./accessbot-grants.log}"
request="$(cat)"
key="$(printf '%s' "$request" | sed -n 's/.*"idempotency_key":"\([^"]*\)".*/\1/p')"
action="$(printf '%s' "$request" | sed -n 's/.*"action":"\([^"]*\)".*/\1/p')"
# The same key again (a retry after a crash) is done already.
if [ -n "$key" ] && [ -f "$file" ] && grep -q " $key " "$file"; then
  echo '{"message": "already recorded"}'
  exit 0
fi
printf '%s %s %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$key" "$action" "$request" >> "$file"
printf '{"message": "recorded (%s) in %s"}\n' "$action" "$file"
