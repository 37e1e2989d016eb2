// Package testpeer finds the third-party programs (swaks, msmtp, postfix,
// openssl, python3, ...) that tlsmail's tests talk to.
//
// A developer without a peer installed gets a skip that names the Debian
// package. The README's test command (scripts/test.sh) installs every peer
// and sets TLSMAIL_REQUIRE_PEERS=1: there a missing peer fails the test, so
// that coverage the suite claims can never pass green without running.
package testpeer

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RequireEnv is the variable that turns a missing peer into a failure.
const RequireEnv = "TLSMAIL_REQUIRE_PEERS"

// Find looks program up in PATH, then in /usr/sbin and /sbin (where Debian
// puts postfix and saslpasswd2, often not in a user's PATH).
func Find(program string) (string, bool) {
	if p, err := exec.LookPath(program); err == nil {
		return p, true
	}
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(d, program)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// Need returns the path of program, or ends the test: a failure when
// TLSMAIL_REQUIRE_PEERS=1 (the README's test command), else a skip naming
// the Debian package that provides it.
func Need(tb testing.TB, program, debPackage string) string {
	tb.Helper()
	if p, ok := Find(program); ok {
		return p
	}
	Missing(tb, program+" not found in PATH (Debian package "+debPackage+": apt-get install -y "+debPackage+")")
	return ""
}

// Missing ends the test for a peer that cannot be used, for the reason
// given: a failure when TLSMAIL_REQUIRE_PEERS=1, else a skip.
func Missing(tb testing.TB, reason string) {
	tb.Helper()
	if os.Getenv(RequireEnv) == "1" {
		tb.Fatalf("%s; the test command installs it (%s=1), so its absence is a failure", reason, RequireEnv)
	}
	tb.Skip(reason)
}
