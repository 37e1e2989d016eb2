package main

import (
	"strings"
	"testing"
)

// TestServeUserOnOneLine: serve refuses a --user name on two lines by
// submit.Auth.Check's rule, as send does: a usage error (64) that says to
// give the name on one line, before anything starts. (A NUL, the rule's
// third character, cannot be in a process's arguments.)
func TestServeUserOnOneLine(t *testing.T) {
	t.Parallel()
	for _, user := range []string{"a\nb", "a\rb"} {
		r := cli{args: []string{"serve", "--user", user, "--password-env", "NO_SUCH_VAR_TLSMAIL"}}.run(t)
		if r.code != exitUsage || !strings.Contains(r.stderr, "line break or NUL") || !strings.Contains(r.stderr, "one line") {
			t.Errorf("serve --user %q: %s", user, r)
		}
	}
}
