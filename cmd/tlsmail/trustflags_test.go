package main

import (
	"io"
	"strings"
	"testing"
)

// TestTrustFlagsSame: --ca, --pin and --revocation are one declaration
// (registerTrustFlags): the same type and help on every command that
// verifies a certificate; --revocation's default is "" only on send (a
// configuration file's tls_revocation then applies) and soft elsewhere.
func TestTrustFlagsSame(t *testing.T) {
	root := newRootCommand(&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
		getenv: func(string) string { return "" }, providers: newProviders()}, &runState{}, nil)
	paths := [][]string{{"send"}, {"probe"}, {"cert", "verify"}, {"cert", "check"}}
	wantDefault := map[string]string{"send": "", "probe": "soft", "verify": "soft", "check": "soft"}
	first := map[string]string{}
	for _, p := range paths {
		c, _, err := root.Find(p)
		if err != nil || c == root {
			t.Fatalf("no command %v: %v", p, err)
		}
		for _, name := range []string{"ca", "pin", "revocation"} {
			f := c.Flags().Lookup(name)
			if f == nil {
				t.Errorf("%s has no --%s", c.CommandPath(), name)
				continue
			}
			sig := f.Value.Type() + " " + f.Usage
			if prev, ok := first[name]; !ok {
				first[name] = sig
			} else if sig != prev {
				t.Errorf("%s --%s: %q, unlike the first command's %q", c.CommandPath(), name, sig, prev)
			}
		}
		if f := c.Flags().Lookup("revocation"); f != nil && f.DefValue != wantDefault[c.Name()] {
			t.Errorf("%s --revocation defaults to %q, want %q", c.CommandPath(), f.DefValue, wantDefault[c.Name()])
		}
	}
}
