#!/usr/bin/env bash
# Per-call time of a script's CLI call logged in with a token against the
# same call logged in with a password (issue 19): N calls of `domain list`
# each way on SQLite in a temp dir, at the configured bcrypt cost.
# Usage: scripts/token_timing.sh [BINARY] [CALLS]
set -euo pipefail
BIN=${1:-target/release/postfix-manager}
CALLS=${2:-1000}
COST=${COST:-12}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
url="sqlite://$d/pm.db"
printf 'admin-password-123\n' > "$d/admin.pw"
chmod 600 "$d/admin.pw"
pm() { POSTFIX_MANAGER_CONFIG="$d/config.toml" "$BIN" --database-url "$url" "$@" </dev/null; }
printf '[security]\nbcrypt_cost = %s\n' "$COST" > "$d/config.toml"
pm init --admin-password-file "$d/admin.pw" >/dev/null
pm --user admin --password-file "$d/admin.pw" domain add example.com >/dev/null
pm --user admin --password-file "$d/admin.pw" user token create timing --role readonly --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])' > "$d/token"
chmod 600 "$d/token"
run() { # label, calls, args...
    local label=$1 n=$2; shift 2
    local s e
    s=$(date +%s%N)
    for _ in $(seq "$n"); do pm "$@" domain list >/dev/null; done
    e=$(date +%s%N)
    echo "$label: $n calls in $(( (e - s) / 1000000 )) ms, $(( (e - s) / 1000 / n )) us per call"
}
run "token (--token-file)" "$CALLS" --token-file "$d/token"
# Password logins are ~1000x slower; a tenth of the calls says as much.
run "password (bcrypt cost $COST)" "$(( CALLS / 10 ))" --user admin --password-file "$d/admin.pw"
