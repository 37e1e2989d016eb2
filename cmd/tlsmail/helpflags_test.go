package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestHelpFlags: the help texts that introduce flags (send's server, TLS
// mode and outbox, probe's target flags, queue's outbox, cert verify's
// verification flags) show each flag's own usage string, and no help text
// keeps an "@flags" line.
func TestHelpFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cmd   string
		flags []string
	}{
		{"send", []string{"server", "tls", "queue-dir", "queue-url", "max-size"}},
		{"probe", []string{"tls", "name", "ca", "versions"}},
		{"queue", []string{"queue-dir", "queue-url"}},
		{"cert verify", []string{"name", "at", "ca", "revocation"}},
	}
	e := &env{getenv: func(string) string { return "" }, providers: newProviders()}
	root := newRootCommand(e, &runState{}, nil)
	for _, tc := range tests {
		cmd, _, err := root.Find(strings.Fields(tc.cmd))
		if err != nil {
			t.Fatal(err)
		}
		long := strings.Join(strings.Fields(cmd.Long), " ")
		for _, name := range tc.flags {
			f := cmd.Flags().Lookup(name)
			if f == nil {
				f = cmd.PersistentFlags().Lookup(name)
			}
			if f == nil {
				t.Errorf("%s has no flag --%s", tc.cmd, name)
				continue
			}
			usage := strings.ReplaceAll(f.Usage, "`", "")
			if !strings.Contains(long, "--"+name) || !strings.Contains(long, strings.Join(strings.Fields(usage), " ")) {
				t.Errorf("%s --help: the text lacks --%s's usage %q:\n%s", tc.cmd, name, usage, cmd.Long)
			}
		}
	}
	var check func(c *cobra.Command)
	check = func(c *cobra.Command) {
		if strings.Contains(c.Long, "@flags") {
			t.Errorf("%s: the help text keeps its @flags placeholder", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			check(sub)
		}
	}
	check(root)
}
