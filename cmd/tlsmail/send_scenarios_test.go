package main

import "testing"

// TestSendScenarios: send, against a server presenting each broken chain,
// refuses with exit 75 and error kind certificate, names the problem kind
// with a fix in its JSON, and delivers nothing; a chain with only warnings
// (expiring soon, revocation unknown) is sent, the warning reported.
// STARTTLS and implicit TLS in turn.
func TestSendScenarios(t *testing.T) {
	t.Parallel()
	forEachServedScenario(t, func(t *testing.T, c servedScenario) {
		args := []string{"send", "--json", "--tls", c.mode, "--server", c.addr, "--ca", c.ca, "--tls-name", c.s.Name,
			"--from", "ann@example.org", "--to", "bob@example.org", "--subject", "scenario " + c.s.Variant, "--body", "hello",
			"--user", testUser, "--password-env", passwordVar}
		for _, p := range c.s.Pins {
			args = append(args, "--pin", p)
		}
		r := cli{args: append(args, c.extra...), env: authEnv()}.run(t)
		m := decodeJSON(t, r)
		ms, err := c.srv.Messages()
		if err != nil {
			t.Fatal(err)
		}
		if c.wantCode == 0 {
			if r.code != 0 || len(ms) != 1 {
				t.Fatalf("a chain with only a %s warning: exit %d, %d message(s) stored\n%s", c.s.Kind, r.code, len(ms), r)
			}
			tl, _ := m["tls"].(map[string]any)
			if kinds := problemKinds(t, tl); kinds[c.s.Kind] != "warning" {
				t.Errorf("tls.problems %v lack the %s warning", kinds, c.s.Kind)
			}
			return
		}
		if r.code != 75 || len(ms) != 0 {
			t.Fatalf("exit %d with %d message(s) stored, want 75 and none\n%s", r.code, len(ms), r)
		}
		e, _ := m["error"].(map[string]any)
		if e["kind"] != "certificate" {
			t.Errorf("error.kind = %v, want certificate", e["kind"])
		}
		if kinds := problemKinds(t, e); kinds[c.s.Kind] != "error" {
			t.Errorf("error.problems %v lack a %s error", kinds, c.s.Kind)
		}
	})
}
