package main

import (
	"strings"
	"testing"
)

// TestConfigPasswordevalNoFlagHint: the password command of send --config
// is the file's passwordeval, not --password-cmd. When it fails (or runs
// too long), the fix names the file's command and no flag the user did not
// give: the flag-hint table's "--password-cmd CMD" would send them to a
// flag that replaces their configuration. A --password-cmd that fails
// still gets it.
func TestConfigPasswordevalNoFlagHint(t *testing.T) {
	t.Parallel()
	rc := writeFile(t, "msmtprc", []byte("account a\nhost 127.0.0.1\nport 1\ntls on\ntls_starttls on\n"+
		"from ann@example.com\nauth plain\nuser joe\npasswordeval exit 3\naccount default : a\n"), 0o600)
	msg := []string{"--to", "bob@example.org", "--subject", "s", "--body", "b"}
	for _, tc := range []struct {
		name     string
		args     []string
		want     string
		wantHint bool
	}{
		{"config passwordeval", append([]string{"send", "--config", rc}, msg...), "passwordeval (" + rc + ") command failed", false},
		{"--password-cmd", append([]string{"send", "--server", "127.0.0.1:1", "--from", "ann@example.com", "--user", "joe",
			"--password-cmd", "exit 3"}, msg...), "--password-cmd command failed", true},
	} {
		for _, json := range []bool{false, true} {
			args := append([]string{}, tc.args...)
			if json {
				args = append(args, "--json")
			}
			r := cli{args: args}.run(t)
			out := r.stdout + r.stderr
			if r.code != exitConfig || !strings.Contains(out, tc.want) {
				t.Errorf("%s (json %v): exit %d, want %d and %q:\n%s", tc.name, json, r.code, exitConfig, tc.want, r)
			}
			if got := strings.Contains(out, "(--password-cmd CMD)"); got != tc.wantHint {
				t.Errorf("%s (json %v): hint --password-cmd given: %v, want %v:\n%s", tc.name, json, got, tc.wantHint, r)
			}
		}
	}
}
