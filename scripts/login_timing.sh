#!/usr/bin/env bash
# Answer time of a failed CLI login by kind of account (issue 14 item 13):
# an unknown name, a user whose hash was made under a cheaper bcrypt_cost,
# a user at the configured cost, and an LDAP user while no directory answers.
# Usage: scripts/login_timing.sh [BINARY] [RUNS]   (SQLite in a temp dir)
set -euo pipefail
BIN=${1:-target/release/postfix-manager}
RUNS=${2:-5}
COST=${COST:-10}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
url="sqlite://$d/pm.db"
printf 'admin-password-123\n' > "$d/admin.pw"
printf 'some-user-password-1\n' > "$d/user.pw"
printf 'not-the-password-1\n' > "$d/wrong.pw"
pm() { POSTFIX_MANAGER_CONFIG="$d/config.toml" "$BIN" --database-url "$url" "$@" </dev/null; }
as_admin() { pm --user admin --password-file "$d/admin.pw" "$@" >/dev/null; }
printf '[security]\nbcrypt_cost = 4\nlockout_threshold = 0\n' > "$d/config.toml"
pm init --admin-password-file "$d/admin.pw" >/dev/null
as_admin user add low --email low@example.net --role readonly --new-password-file "$d/user.pw"
as_admin user add ldapdown --email ld@example.net --role readonly --new-password-file "$d/user.pw"
sqlite3 "$d/pm.db" "UPDATE users SET auth_source = 'ldap' WHERE username = 'ldapdown'"
printf '[security]\nbcrypt_cost = %s\nlockout_threshold = 0\n' "$COST" > "$d/config.toml"
as_admin user add high --email high@example.net --role readonly --new-password-file "$d/user.pw"
ms() { local s e; s=$(date +%s%N); pm --user "$1" --password-file "$d/wrong.pw" domain list >/dev/null 2>&1 || true; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
for who in nobody low high ldapdown; do
    all=()
    for _ in $(seq "$RUNS"); do all+=("$(ms "$who")"); done
    sorted=$(printf '%s\n' "${all[@]}" | sort -n | tr '\n' ' ')
    echo "$who (configured cost $COST): ms per failed login, sorted: $sorted"
done
