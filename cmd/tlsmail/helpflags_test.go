package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestHelpFlags: the help texts that introduce flags (send's server and
// TLS mode, probe's target flags) show each flag's own usage string, and
// no help text keeps the "@flags" placeholder.
func TestHelpFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cmd   string
		flags []string
	}{
		{"send", []string{"server", "tls"}},
		{"probe", []string{"tls", "name", "ca", "versions"}},
	}
	e := &env{getenv: func(string) string { return "" }, providers: newProviders()}
	root := newRootCommand(e, &runState{}, nil)
	for _, tc := range tests {
		cmd, _, err := root.Find([]string{tc.cmd})
		if err != nil {
			t.Fatal(err)
		}
		long := strings.Join(strings.Fields(cmd.Long), " ")
		for _, name := range tc.flags {
			f := cmd.Flags().Lookup(name)
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
