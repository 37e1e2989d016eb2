#!/usr/bin/env bash
# wine-test.sh runs tlsmail's Windows tests (the Schannel provider, the
# provider conformance suite, and the outbox with its Windows file locking
# and FILE_SHARE_DELETE opens) on Linux under Wine:
#
#   scripts/wine-test.sh                 # GOOS=windows go test ./secchan/... ./outbox/... ./submit/..., then scripts/wine-e2e.sh
#   scripts/wine-test.sh -run Schannel ./secchan/schannel/   # these tests only
#   scripts/wine-test.sh --setup-only    # prepare Wine and exit (used by wine-e2e.sh)
#
# It installs Debian's wine64 and gcc-mingw-w64-x86-64 when they are missing
# (as root), prepares a private Wine prefix (TLSMAIL_WINEPREFIX, default
# ~/.cache/tlsmail/wineprefix) without any window, builds the forwarding
# bcryptprimitives.dll that Go >= 1.22 needs (ProcessPrng, which Wine 8.0
# lacks, forwarded to advapi32's RtlGenRandom) into the prefix's system32,
# and runs `GOOS=windows go test -exec scripts/wine-exec`. Without arguments
# it then runs scripts/wine-e2e.sh (tlsmail.exe end to end; set
# TLSMAIL_WINE_E2E=0 to leave it out).
#
# Idempotent and non-interactive. When Wine cannot start at all it prints
# "SKIP: <reason>" and exits 0, except where the Windows part is required:
# under CI (CI=true, as CI services set it) or with TLSMAIL_REQUIRE_WINE=1
# (scripts/test.sh, the README's test command, sets it), it prints
# "FAIL: <reason>" and exits 1, so that CI can never pass green without
# running the Windows tests. Once Wine runs, any test failure fails.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
: "${TLSMAIL_WINEPREFIX:=${XDG_CACHE_HOME:-$HOME/.cache}/tlsmail/wineprefix}"
export TLSMAIL_WINEPREFIX WINEPREFIX="$TLSMAIL_WINEPREFIX"
export WINEDEBUG="${WINEDEBUG:--all}" WINEARCH=win64
export WINEDLLOVERRIDES="mscoree,mshtml="   # no Mono/Gecko install prompts
unset DISPLAY WAYLAND_DISPLAY

setup_only=false
if [ "${1:-}" = --setup-only ]; then
	setup_only=true
	shift
fi

# wine_required: CI=true (or 1), or TLSMAIL_REQUIRE_WINE=1.
wine_required() {
	case "${CI:-}:${TLSMAIL_REQUIRE_WINE:-}" in
	true:* | TRUE:* | True:* | 1:* | *:1) return 0 ;;
	esac
	return 1
}
skip() {
	if wine_required; then
		echo "FAIL: Windows tests under Wine cannot run: $*"
		echo "wine-test: the Windows part is required here (CI=${CI:-} TLSMAIL_REQUIRE_WINE=${TLSMAIL_REQUIRE_WINE:-}); set neither to let it skip" >&2
		exit 1
	fi
	echo "SKIP: Windows tests under Wine: $*"
	exit 0
}
log() { echo "wine-test: $*" >&2; }

# 1. Tools.
need=()
command -v wine64 >/dev/null 2>&1 || [ -x /usr/lib/wine/wine64 ] || need+=(wine64 wine)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need+=(gcc-mingw-w64-x86-64)
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		skip "missing ${need[*]} and cannot install them (need root and apt-get)"
	fi
	log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! { timeout 600 apt-get update -qq && timeout 900 apt-get install -y -qq "${need[@]}"; } >/tmp/tlsmail-wine-apt.log 2>&1; then
		tail -5 /tmp/tlsmail-wine-apt.log >&2
		skip "could not install ${need[*]} (see /tmp/tlsmail-wine-apt.log)"
	fi
fi
WINE=$(command -v wine64 || command -v wine || echo /usr/lib/wine/wine64)
WINESERVER=$(command -v wineserver || echo /usr/lib/wine/wineserver64)

# 2. The prefix: created once, headless.
if [ ! -f "$WINEPREFIX/system.reg" ]; then
	log "creating Wine prefix $WINEPREFIX"
	mkdir -p "$WINEPREFIX"
	if ! timeout -k 10 300 "$WINE" wineboot -i >/tmp/tlsmail-wineboot.log 2>&1; then
		tail -5 /tmp/tlsmail-wineboot.log >&2
		rm -rf "$WINEPREFIX"
		skip "wine cannot start (wineboot -i failed; see /tmp/tlsmail-wineboot.log)"
	fi
	timeout -k 5 120 "$WINESERVER" -w || true
fi
sys32="$WINEPREFIX/drive_c/windows/system32"
[ -d "$sys32" ] || skip "the Wine prefix $WINEPREFIX has no system32"

# 3. bcryptprimitives.dll with ProcessPrng, rebuilt only when its source changes.
dllsrc=$(cat <<'C'
/* ProcessPrng for Wine 8.0, which lacks bcryptprimitives.dll: Go >= 1.22
 * gets its random bytes there. Forwards to advapi32!SystemFunction036
 * (RtlGenRandom), which takes a ULONG length. */
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
C
)
stamp="$sys32/bcryptprimitives.tlsmail-sha256"
want=$(printf '%s' "$dllsrc" | sha256sum | cut -d' ' -f1)
if [ ! -f "$sys32/bcryptprimitives.dll" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	log "building bcryptprimitives.dll (ProcessPrng -> RtlGenRandom)"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	printf '%s\n' "$dllsrc" >"$tmp/prng.c"
	printf 'LIBRARY bcryptprimitives.dll\nEXPORTS\n\tProcessPrng\n' >"$tmp/prng.def"
	x86_64-w64-mingw32-gcc -O2 -shared -s -o "$tmp/bcryptprimitives.dll" "$tmp/prng.c" "$tmp/prng.def" -ladvapi32
	cp "$tmp/bcryptprimitives.dll" "$sys32/bcryptprimitives.dll"
	echo "$want" >"$stamp"
fi

# 4. Smoke test: a Go program must run (this exercises ProcessPrng).
cd "$root"
export GOOS=windows GOARCH=amd64 CGO_ENABLED=0
smoke=$(mktemp -d)
cat >"$smoke/main.go" <<'GO'
package main

import (
	"crypto/rand"
	"fmt"
)

func main() {
	b := make([]byte, 8)
	rand.Read(b)
	fmt.Println("wine ok")
}
GO
(cd "$smoke" && go mod init smoke >/dev/null 2>&1 && go build -o smoke.exe .)
if ! out=$("$root/scripts/wine-exec" "$smoke/smoke.exe" 2>&1) || [[ "$out" != *"wine ok"* ]]; then
	rm -rf "$smoke"
	echo "wine-test: a Go program does not run under Wine: $out" >&2
	exit 1
fi
rm -rf "$smoke"
if $setup_only; then
	echo "wine-test: Wine is ready ($WINEPREFIX)"
	exit 0
fi

# 5. The tests.
# The Windows-only tests of package trust (see also .github/workflows/windows.yml).
trust_windows_tests='^(TestWinDirProblem|TestWinFileProblem|TestWinSecurityOf|TestCacheDirACL|TestCacheFileACL)$'
e2e=false
defaults=false
if [ $# -eq 0 ]; then
	set -- ./secchan/... ./outbox/... ./submit/... ./internal/testdir/
	[ "${TLSMAIL_WINE_E2E:-1}" = 0 ] || e2e=true
	defaults=true
fi
status=0
# One test binary at a time (-p 1): two Wine processes starting together in
# one prefix have been seen to exit 1 with no output at all. -v keeps each
# test's lines in the log, so a failure under Wine can be read afterwards.
# The log is per prefix, so that runs in different prefixes at once keep
# their own (TLSMAIL_WINE_LOG overrides it).
wlog=${TLSMAIL_WINE_LOG:-$WINEPREFIX.test.log}
if $defaults; then
	# The schannel tests that trust a root through the user's system store
	# (TestSystem*) run in a test process of their own, so that the CA
	# certificates other tests put in the user's stores (client
	# certificate chains go to CurrentUser\CA), which Wine's crypt32 keeps
	# per process and searches by name, are not among their issuers. (The
	# "signature that does not verify" (trust status 0x8) they failed with
	# now and then was Wine's crypt32 refusing ECDSA signatures with a short
	# r or s: internal/pki.FullLength.) Only package secchan/schannel has
	# tests of that name.
	go test -count=1 -p 1 -v -exec "$root/scripts/wine-exec" -skip '^TestSystem' "$@" >"$wlog" 2>&1 || status=$?
	slog=$wlog.system
	rm -f "$slog.crash" # an earlier run's, which this run's message would seem to name
	go test -count=1 -v -exec "$root/scripts/wine-exec" -run '^TestSystem' ./secchan/schannel/ >"$slog" 2>&1 || {
		# Wine 8 itself crashed now and then in these tests (in 2 of 14
		# runs: "Unhandled page fault on execute access" to an address in
		# no module, in the revocation-offline test's second chain check;
		# never in 12 runs of that test alone). Only that crash, seen by
		# Wine's own message, is run again once, and said so; a test's
		# failure is not.
		if grep -a -q '^wine: Unhandled page fault on execute access' "$slog" && ! grep -a -q -- '^--- FAIL' "$slog"; then
			echo "wine-test: Wine crashed in the TestSystem* tests (Wine's own fault, see its lines in $slog.crash); running them once more"
			mv "$slog" "$slog.crash"
			# The log keeps the crashed run too, marked, so that its
			# reader sees the crash and the lines before it.
			{
				echo "wine-test: the TestSystem* run below ended as Wine crashed; it is run once more after it"
				cat "$slog.crash"
				echo "wine-test: the TestSystem* tests run once more after Wine's crash:"
			} >>"$wlog"
			go test -count=1 -v -exec "$root/scripts/wine-exec" -run '^TestSystem' ./secchan/schannel/ >"$slog" 2>&1 || status=$?
		else
			status=1
		fi
	}
	cat "$slog" >>"$wlog"
else
	go test -count=1 -p 1 -v -exec "$root/scripts/wine-exec" "$@" >"$wlog" 2>&1 || status=$?
fi
if $defaults; then
	# Package trust's Windows tests only (the revocation cache directory's
	# owner and DACL check); its other tests are about Unix files.
	go test -count=1 -v -exec "$root/scripts/wine-exec" -run "$trust_windows_tests" ./trust/ >>"$wlog" 2>&1 || status=$?
fi
grep -a -E '^(--- FAIL|FAIL|ok|PASS|panic)|^\s+--- (FAIL|SKIP)' "$wlog" || true
if [ $status -ne 0 ]; then
	echo "wine-test: go test failed; the failures and the last lines of $wlog:"
	# Each failed test's own lines: -v labels them with the test's name
	# (=== RUN, and === NAME / === CONT where tests interleave).
	for name in $(grep -a -oE -- '--- FAIL: [^ ]+' "$wlog" | awk '{print $3}' | sort -u); do
		echo "--- the lines of $name:"
		awk -v n="$name" '/^=== (RUN|CONT|NAME|PAUSE) /{on = ($3 == n)} on' "$wlog" | head -60
	done
	grep -a -E -B20 -A5 -- '^panic:' "$wlog" | head -120 || true
	tail -40 "$wlog"
fi
if $e2e; then
	GOOS= GOARCH= TLSMAIL_WINE_READY=1 "$root/scripts/wine-e2e.sh" || status=1
fi
timeout -k 5 30 "$WINESERVER" -k >/dev/null 2>&1 || true
exit $status
