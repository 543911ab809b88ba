#!/usr/bin/env bash
# `domain check --all` over N domains (issue 18): against a private NSD on
# loopback serving every domain's `domain dns --zone` snippet, then against
# a nameserver that never answers (the timeout behaviour).
# Usage: scripts/dns_bench.sh [BINARY] [DOMAINS] [CONCURRENCY] [TIMEOUT_MS]
# (SQLite in a temp dir; needs nsd and python3; nothing leaves 127.0.0.1)
set -euo pipefail
BIN=$(realpath "${1:-target/debug/postfix-manager}")
N=${2:-1000}
CONC=${3:-32}
TMO=${4:-500}
d=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$d"' EXIT
url="sqlite://$d/pm.db"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
printf 'admin-password-123\n' > "$d/admin.pw"; chmod 600 "$d/admin.pw"
cat > "$d/config.toml" <<CFG
[security]
bcrypt_cost = 4
[dns]
mail_host = "mx.bench.test"
sending_ips = ["192.0.2.25"]
dmarc_policy = "reject"
dmarc_rua = "dmarc@bench.test"
mta_sts_mode = "enforce"
nameservers = ["127.0.0.1:9"]
timeout_ms = $TMO
concurrency = $CONC
CFG
pm() { POSTFIX_MANAGER_CONFIG="$d/config.toml" "$BIN" --database-url "$url" "$@" </dev/null; }
as_admin() { pm --user admin --password-file "$d/admin.pw" "$@"; }
pm init --admin-password-file "$d/admin.pw" >/dev/null
{ echo name,description,quota,max_mailboxes,max_aliases,max_mailbox_quota,transport,status
  for i in $(seq "$N"); do echo "bench$i.test,,0,0,0,0,,active"; done; } > "$d/domains.csv"
as_admin domain import "$d/domains.csv" >/dev/null
# One snippet, renamed for every domain (domains without DKIM keys publish the same set).
as_admin domain dns bench1.test --zone > "$d/one.zone"
python3 - "$d" "$N" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
one = open(f"{d}/one.zone").read()
with open(f"{d}/root.zone", "w") as z:
    z.write("$TTL 300\n. IN SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 300\n. IN NS ns.bench.test.\n")
    z.write("ns.bench.test. IN A 127.0.0.1\nmx.bench.test. IN A 192.0.2.25\n25.2.0.192.in-addr.arpa. IN PTR mx.bench.test.\n")
    for i in range(1, n + 1):
        z.write(one.replace("bench1.test", f"bench{i}.test"))
PY
p=$(port)
cat > "$d/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1
  port: $p
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "$d"
  database: ""
  pidfile: "$d/nsd.pid"
  xfrdfile: "$d/xfrd.state"
  xfrdir: "$d"
  zonelistfile: "$d/zone.list"
  logfile: "$d/nsd.log"
  server-count: 1
remote-control:
  control-enable: no
zone:
  name: "."
  zonefile: "$d/root.zone"
CONF
/usr/sbin/nsd -d -c "$d/nsd.conf" & pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
sed -i "s/^nameservers = .*/nameservers = [\"127.0.0.1:$p\"]/" "$d/config.toml"
s=$(date +%s%N); rc=0; as_admin domain check --all > "$d/out.txt" || rc=$?; e=$(date +%s%N)
echo "NSD: domain check --all over $N domains, concurrency $CONC: $(( (e - s) / 1000000 )) ms, exit $rc; $(tail -n1 "$d/out.txt")"
# A nameserver that never answers: UDP bound but never read, TCP listening but never accepting.
q=$(port)
python3 -c "import socket,time
u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.bind(('127.0.0.1',$q))
t=socket.socket(); t.bind(('127.0.0.1',$q)); t.listen(4096); time.sleep(3600)" & pids+=($!)
sleep 0.3
sed -i "s/^nameservers = .*/nameservers = [\"127.0.0.1:$q\"]/" "$d/config.toml"
s=$(date +%s%N); rc=0; as_admin domain check --all > "$d/out.txt" || rc=$?; e=$(date +%s%N)
echo "dead nameserver: domain check --all over $N domains, timeout ${TMO} ms, concurrency $CONC: $(( (e - s) / 1000000 )) ms, exit $rc; $(tail -n1 "$d/out.txt"); e.g. $(grep -m1 'resolver timeout' "$d/out.txt" | sed 's/^ *//')"
