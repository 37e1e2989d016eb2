package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnknownCommandHidesValue: a command written with "=" or ":" instead
// of a blank ("password=SECRET") is one word to msmtp's syntax, an unknown
// command; the error names the command but not what follows the "=" (it
// is a password as often as not, and the error is shown, logged and, for
// a queued message whose file is read again at delivery, recorded in the
// outbox's state file). The fix says to use a blank.
func TestUnknownCommandHidesValue(t *testing.T) {
	const secret = "s3cret-PW"
	for _, tc := range []struct{ line, want string }{
		{"password=" + secret, "password"},
		{"password:" + secret, "password"},
		{"passwordeval=pass show " + secret, "passwordeval"},
		{"password:=" + secret, "password"},
	} {
		p := filepath.Join(t.TempDir(), "rc")
		if err := os.WriteFile(p, []byte("account a\nhost h\nauth on\nuser u\n"+tc.line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(context.Background(), p, Options{})
		var ce *Error
		if !errors.As(err, &ce) {
			t.Fatalf("%q: error %v, want a *config.Error", tc.line, err)
		}
		if all := ce.Error() + ce.Key + ce.Msg + ce.Fix; strings.Contains(all, secret) || strings.Contains(all, "PW") {
			t.Errorf("%q: the value is in the error: %q (key %q, fix %q)", tc.line, ce.Error(), ce.Key, ce.Fix)
		}
		if ce.Line != 5 || !strings.Contains(ce.Msg, tc.want) || !strings.Contains(ce.Fix, tc.want+" VALUE") {
			t.Errorf("%q: error %q (line %d, fix %q); want line 5 naming %s with the fix %q", tc.line, ce.Msg, ce.Line, ce.Fix, tc.want, tc.want+" VALUE")
		}
	}
}
