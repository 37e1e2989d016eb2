#!/usr/bin/env bash
# bench/pgcpu.sh — CPU time per message of `tlsmail queue run` on PostgreSQL
# (and on a spool directory), split into the workers, the SMTP server and
# PostgreSQL, for one or more tlsmail binaries run interleaved. This is how
# docs/queue-postgres.md "Where the CPU goes" was measured; section 8 of
# docs/benchmarks.md (bench/run.sh) gives the rates.
#
#   bench/pgcpu.sh                                  # this tree's tlsmail, and the spool
#   BINS="old=/tmp/tlsmail-old new=/tmp/tlsmail-new" bench/pgcpu.sh
#
# Parameters (environment):
#   BINS        label=path pairs of tlsmail binaries (default: "tree=" this tree, built)
#   SPOOL=0     leave out the spool directory row (default: measured with the first binary,
#               one `queue run` process, as section 8's spool row)
#   WORKERS     `queue run` processes at once on PostgreSQL    (default 4)
#   MESSAGES    messages per run                               (default 5000)
#   ROUNDS      interleaved rounds                             (default 5)
#   SPLIT=1     PostgreSQL on CPU 1 and everything else (SMTP server, workers, spool runner) on
#               CPU 0 (taskset): the rates of the two stores when the database has a core of its
#               own and the rest shares the other, as where PostgreSQL runs on a host of its own
#   PRE_label   SQL run on label's template database after `queue init` and
#               before it is filled (e.g. PRE_new='ALTER TABLE tlsmail.outbox SET (fillfactor = 60)')
#
# One private cluster (initdb in a temporary directory, loopback TCP,
# PostgreSQL's defaults plus pg_stat_statements, run as nobody when this is
# root) and one bench/cmd/sink server serve every run. Each binary gets its
# own template database (`queue init` by that binary, one `send --defer`,
# the row copied MESSAGES-1 times in SQL, VACUUM ANALYZE); each run copies it
# (CREATE DATABASE ... TEMPLATE, untimed). CPU: the workers' user+system time
# (GNU time), the server's /proc/PID/stat times, and PostgreSQL's: the
# postmaster's own and reaped children's times plus its live children's
# (backends, WAL writer, checkpointer, autovacuum), read before and after.
# The clock tick is 10 ms, 2 µs a message at 5,000 messages. sessions is
# pg_stat_database.sessions of the run's database (backends the workers
# opened), deletes the calls of the deletion statement (pg_stat_statements).
set -euo pipefail

WORKERS=${WORKERS:-4}
MESSAGES=${MESSAGES:-5000}
ROUNDS=${ROUNDS:-5}
app=() db=()
if [ "${SPLIT:-0}" = 1 ]; then app=(taskset -c 0) db=(taskset -c 1); fi
for need in psql /usr/bin/time setpriv taskset; do
	command -v "$need" >/dev/null || { echo "bench/pgcpu.sh: $need is missing (Debian: postgresql-client, time, util-linux)" >&2; exit 1; }
done
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tlsmail-pgcpu.XXXXXX")
sink_pid= pgdir=
pg_as() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; else "$@"; fi; }
cleanup() {
	if [ -n "$pgdir" ]; then pg_as "$pgbin/pg_ctl" stop -w -m fast -D "$pgdir/data" >/dev/null 2>&1 || true; fi
	if [ -n "$sink_pid" ]; then kill "$sink_pid" 2>/dev/null || true; wait "$sink_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/pg_ctl" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
mkdir -p "$work/bin"
(cd "$root/bench" && CGO_ENABLED=0 go build -trimpath -o "$work/bin/" ./cmd/sink)
if [ -z "${BINS:-}" ]; then
	(cd "$root" && CGO_ENABLED=0 go build -trimpath -o "$work/bin/tlsmail" ./cmd/tlsmail)
	BINS="tree=$work/bin/tlsmail"
fi
labels=()
declare -A bin
for b in $BINS; do labels+=("${b%%=*}"); bin[${b%%=*}]=${b#*=}; done

# The server.
printf 'secret-%s\n' "$RANDOM$RANDOM" >"$work/password"
chmod 600 "$work/password"
sinkdir=$work/srv
if [ -d /dev/shm ] && [ -w /dev/shm ]; then sinkdir=$(mktemp -d /dev/shm/tlsmail-pgcpu.XXXXXX); fi
"${app[@]}" "$work/bin/sink" -dir "$sinkdir" -password-file "$work/password" >"$work/sink.out" 2>"$work/sink.err" &
sink_pid=$!
for _ in $(seq 100); do grep -q '^ready$' "$work/sink.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^ready$' "$work/sink.out" || { cat "$work/sink.err" >&2; exit 1; }
smtp=$(sed -n 's/^smtp=//p' "$work/sink.out")
ca=$(sed -n 's/^ca=//p' "$work/sink.out")
{
	printf 'From: <bench@example.com>\r\nTo: <sink@example.com>\r\nSubject: bench\r\n'
	printf 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n'
	for _ in $(seq 13); do printf '%s\r\n' "the quick brown fox jumps over the lazy dog 0123456789 abcdefghijkl"; done
} >"$work/msg.eml"
send() { # TLSMAIL QUEUE-OPTION QUEUE
	"$1" send --defer "$2" "$3" --server "$smtp" --ca "$ca" --user bench --password-file "$work/password" \
		--auth PLAIN --from bench@example.com --to sink@example.com --message "$work/msg.eml" >/dev/null
}

# The cluster.
pgdir=$work/pg
mkdir -p "$pgdir"
chmod 755 "$work"
if [ "$(id -u)" = 0 ]; then chown 65534:65534 "$pgdir"; fi
pg_as "$pgbin/initdb" -D "$pgdir/data" -U tlsmail -A trust -E UTF8 --no-instructions >"$pgdir/initdb.log" 2>&1 ||
	{ cat "$pgdir/initdb.log" >&2; exit 1; }
while :; do port=$((20000 + RANDOM % 40000)); (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break; done
pg_as "${db[@]}" "$pgbin/pg_ctl" start -w -t 60 -D "$pgdir/data" -l "$pgdir/log" \
	-o "-c listen_addresses=127.0.0.1 -p $port -k $pgdir -c shared_preload_libraries=pg_stat_statements" >/dev/null ||
	{ cat "$pgdir/log" >&2; exit 1; }
url() { printf 'postgres://tlsmail@127.0.0.1:%s/%s?sslmode=disable' "$port" "$1"; }
admin=$(url postgres)
psql "$admin" -qAt -c 'CREATE EXTENSION pg_stat_statements' >/dev/null
pm=$(head -1 "$pgdir/data/postmaster.pid")
pgticks() {
	local t p s
	read -r -a s <"/proc/$pm/stat"
	t=$((s[13] + s[14] + s[15] + s[16]))
	for p in $(cat "/proc/$pm/task/$pm/children"); do
		read -r -a s <"/proc/$p/stat" 2>/dev/null || continue
		t=$((t + s[13] + s[14]))
	done
	echo "$t"
}
sinkticks() { local s; read -r -a s <"/proc/$sink_pid/stat"; echo $((s[13] + s[14])); }

for i in "${!labels[@]}"; do
	l=${labels[$i]}
	psql "$admin" -qAt -c "CREATE DATABASE tpl$i" >/dev/null
	"${bin[$l]}" queue init --queue-url "$(url "tpl$i")" >/dev/null
	pre=PRE_$l
	if [ -n "${!pre:-}" ]; then psql "$(url "tpl$i")" -qAt -c "${!pre}" >/dev/null; fi
	send "${bin[$l]}" --queue-url "$(url "tpl$i")"
	psql "$(url "tpl$i")" -qAt -c "INSERT INTO tlsmail.message (id, envelope, settings, content)
		SELECT id || lpad(g::text, 7, '0'), envelope, settings, content
		FROM tlsmail.message, generate_series(1, $MESSAGES - 1) g" -c "INSERT INTO tlsmail.outbox (id, group_key, size)
		SELECT id || lpad(g::text, 7, '0'), group_key, size
		FROM tlsmail.outbox, generate_series(1, $MESSAGES - 1) g" -c 'VACUUM ANALYZE tlsmail.outbox, tlsmail.message' >/dev/null
done
rows=("${labels[@]}")
if [ "${SPOOL:-1}" != 0 ]; then
	echo "filling a spool directory with $MESSAGES items (send --defer, two at a time)" >&2
	export -f send
	export smtp ca work
	seq "$MESSAGES" | xargs -P 2 -I{} bash -c 'send "$1" --queue-dir "$2"' _ "${bin[${labels[0]}]}" "$work/spool.tpl"
	rows=(spool "${labels[@]}")
fi

# run LABEL: one measured run; prints "label rate workers_us sink_us pg_us total_us sessions deletes".
run() {
	local l=$1 b i p0 s0 st en p1 s1 w sess dels left pids=
	: >"$work/time"
	if [ "$l" = spool ]; then
		rm -rf "$work/spool.run" && cp -a "$work/spool.tpl" "$work/spool.run"
	else
		for i in "${!labels[@]}"; do [ "${labels[$i]}" = "$l" ] && break; done
		psql "$admin" -qAt -c 'DROP DATABASE IF EXISTS run' -c "CREATE DATABASE run TEMPLATE tpl$i" \
			-c 'SELECT pg_stat_statements_reset()' >/dev/null 2>&1
	fi
	sleep 0.3
	p0=$(pgticks) s0=$(sinkticks) st=$(date +%s.%N)
	if [ "$l" = spool ]; then
		"${app[@]}" /usr/bin/time -a -o "$work/time" -f '%U %S' "${bin[${labels[0]}]}" queue run --queue-dir "$work/spool.run" >/dev/null
	else
		for _ in $(seq "$WORKERS"); do
			"${app[@]}" /usr/bin/time -a -o "$work/time" -f '%U %S' "${bin[$l]}" queue run --queue-secrets file --queue-url "$(url run)" >/dev/null &
			pids="$pids $!"
		done
		for p in $pids; do wait "$p"; done
	fi
	en=$(date +%s.%N)
	sleep 0.5
	p1=$(pgticks) s1=$(sinkticks)
	w=$(awk '{t += $1 + $2} END {print t}' "$work/time")
	sess=0 dels=0
	if [ "$l" != spool ]; then
		sess=$(psql "$admin" -qAt -c "SELECT sessions FROM pg_stat_database WHERE datname = 'run'")
		dels=$(psql "$admin" -qAt -c "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
			WHERE d.datname = 'run' AND query LIKE 'WITH m AS (DELETE%'")
		left=$(psql "$(url run)" -qAt -c 'SELECT count(*) FROM tlsmail.outbox')
		[ "$left" = 0 ] || { echo "$l: $left items left after the run" >&2; exit 1; }
	fi
	awk -v l="$l" -v m="$MESSAGES" -v st="$st" -v en="$en" -v w="$w" -v s=$((s1 - s0)) -v p=$((p1 - p0)) -v sess="$sess" -v dels="$dels" \
		'BEGIN {printf "%s %.0f %.0f %.0f %.0f %.0f %d %d\n", l, m / (en - st), w * 1e6 / m, s * 1e4 / m, p * 1e4 / m, (w + s / 100 + p / 100) * 1e6 / m, sess, dels}'
}

echo "load average $(cut -d' ' -f1-3 /proc/loadavg); ${SPLIT:+SPLIT=$SPLIT; }$WORKERS workers, $MESSAGES messages, $ROUNDS rounds" >&2
printf '%-12s %7s %8s %6s %6s %6s %8s %7s\n' row msg/s workers sink pg total sessions deletes >&2
for _ in $(seq "$ROUNDS"); do
	for l in "${rows[@]}"; do
		run "$l" | tee -a "$work/runs" | awk '{printf "%-12s %7s %8s %6s %6s %6s %8s %7s\n", $1, $2, $3, $4, $5, $6, $7, $8}' >&2
	done
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end" >&2
echo
echo "| row | msg/s | workers µs/msg | SMTP server µs/msg | PostgreSQL µs/msg (range) | total µs/msg | DELETE statements |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for l in "${rows[@]}"; do
	awk -v l="$l" '$1 == l {n++; r[n] = $2; w[n] = $3; s[n] = $4; p[n] = $5; t[n] = $6; d[n] = $8}
		function med(a, n,   i, j, x) {for (i = 2; i <= n; i++) {x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x} return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2}
		END {lo = hi = p[1]; for (i = 1; i <= n; i++) {if (p[i] < lo) lo = p[i]; if (p[i] > hi) hi = p[i]}
			printf "| %s | %.0f | %.0f | %.0f | %.0f (%.0f–%.0f) | %.0f | %s |\n", l, med(r, n), med(w, n), med(s, n), med(p, n), lo, hi, med(t, n), (l == "spool" ? "–" : sprintf("%.0f", med(d, n)))}' "$work/runs"
done
