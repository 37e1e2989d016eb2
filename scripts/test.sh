#!/usr/bin/env bash
# scripts/test.sh runs every tlsmail test on a fresh Debian machine.
#
# It installs what the tests need and is idempotent: Debian's swaks, msmtp,
# openssl, socat and postfix (third-party peers the tests talk to; see
# scripts/install-deps.sh), the Go
# modules (through the module proxy), and, for the Windows Schannel
# provider, wine64 and mingw-w64 (scripts/wine-test.sh). Then: go vet for
# Linux and Windows, go test ./... (in the root module and in the nested
# bench module), and the Windows tests under Wine.
#
#   scripts/test.sh            # everything
#   TLSMAIL_SKIP_WINE=1 scripts/test.sh   # without the Wine part (refused under CI=true)
#
# The Windows part is required: when Wine cannot run, the Wine scripts fail
# instead of printing SKIP (TLSMAIL_REQUIRE_WINE=1, below), and under CI
# (CI=true) TLSMAIL_SKIP_WINE=1 is refused, so that CI never passes green
# without running the Windows tests.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*" >&2; }

export TLSMAIL_REQUIRE_WINE=1
case "${CI:-}" in
true | TRUE | True | 1)
	if [ "${TLSMAIL_SKIP_WINE:-}" = 1 ]; then
		log "TLSMAIL_SKIP_WINE=1 under CI=$CI: CI must run the Windows tests under Wine"
		exit 1
	fi
	;;
esac

# 1. Debian packages for the third-party peers.
scripts/install-deps.sh

# 2. Go modules and static checks.
log "go mod download"
go mod download
log "go vet"
go vet ./...
GOOS=windows go vet ./...
# bench/ is a module of its own, which ./... from here does not reach.
(cd bench && go mod download && go vet ./... && GOOS=windows go vet ./...)
test -z "$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" ||
	{ gofmt -l . >&2; log "gofmt: files above need formatting"; exit 1; }
log "actionlint .github/workflows"
go run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 .github/workflows/*.yml

# 3. The tests. Every peer is installed above, so a test that cannot find
# one fails instead of skipping (internal/testpeer).
export TLSMAIL_REQUIRE_PEERS=1
log "go test ./..."
go test -count=1 -timeout 20m ./...
# The bench module's tests (TestResumption over loopback, bench/cmd/compare):
# in-process peers only, a few seconds.
log "go test ./... in bench/"
(cd bench && go test -count=1 -timeout 5m ./...)

# 4. The Windows provider under Wine.
if [ "${TLSMAIL_SKIP_WINE:-}" = 1 ]; then
	log "Wine tests skipped (TLSMAIL_SKIP_WINE=1)"
else
	log "Windows tests under Wine"
	scripts/wine-test.sh
fi
