package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/trust"
)

// problemKinds returns the kinds in the JSON "problems" array of m, with
// their severities.
func problemKinds(t *testing.T, m map[string]any) map[string]string {
	t.Helper()
	ps, ok := m["problems"].([]any)
	if !ok {
		t.Fatalf("no problems array in %v", m)
	}
	out := map[string]string{}
	for _, p := range ps {
		pm := p.(map[string]any)
		kind, _ := pm["kind"].(string)
		sev, _ := pm["severity"].(string)
		if fix, _ := pm["fix"].(string); fix == "" {
			t.Errorf("problem %s has no fix: %v", kind, pm)
		}
		if out[kind] != "error" {
			out[kind] = sev
		}
	}
	return out
}

// scenarioCase is a scenario with what the commands must say about it.
type scenarioCase struct {
	s        *testpki.Scenario
	extra    []string // flags beyond --ca, --name and --pin
	wantCode int
	wantSev  string
}

// certScenarios returns every broken scenario of testpki, the revocation
// ones that need no staple, and the expected exit code: 1 when the kind is
// an error, 0 for the warnings (expiring-soon, and an unknown revocation
// status with --revocation soft).
func certScenarios(t *testing.T, withStaple bool) []scenarioCase {
	t.Helper()
	ss, err := testpki.BrokenScenarios()
	if err != nil {
		t.Fatal(err)
	}
	variants := []string{"revoked", "revoked-ocsp", "revocation-unknown"}
	if withStaple {
		variants = append(variants, "revoked-staple")
	}
	for _, v := range variants {
		s, err := testpki.NewRevocationScenario(v)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		ss = append(ss, s)
	}
	var out []scenarioCase
	for _, s := range ss {
		c := scenarioCase{s: s, wantCode: 1, wantSev: "error"}
		if s.Kind == string(trust.KindExpiringSoon) || s.Kind == string(trust.KindRevocationUnknown) {
			c.wantCode, c.wantSev = 0, "warning"
		}
		out = append(out, c)
		if s.Variant == "revocation-unknown" {
			out = append(out, scenarioCase{s: s, extra: []string{"--revocation", "strict"}, wantCode: 1, wantSev: "error"})
		}
	}
	return out
}

// trustArgs are the flags that make a client see s as the scenario means.
func trustArgs(s *testpki.Scenario, caFile string) []string {
	args := []string{"--ca", caFile, "--name", s.Name}
	for _, p := range s.Pins {
		args = append(args, "--pin", p)
	}
	return args
}

func checkScenarioJSON(t *testing.T, c scenarioCase, r result) map[string]any {
	t.Helper()
	if r.code != c.wantCode {
		t.Errorf("exit %d, want %d\n%s", r.code, c.wantCode, r)
	}
	m := decodeJSON(t, r)
	kinds := problemKinds(t, m)
	if sev, ok := kinds[c.s.Kind]; !ok || sev != c.wantSev {
		t.Errorf("want a %s of kind %s, got %v\n%s", c.wantSev, c.s.Kind, kinds, r.stdout)
	}
	if ok, _ := m["ok"].(bool); ok != (c.wantCode == 0) {
		t.Errorf("ok = %v with exit %d", ok, r.code)
	}
	certs, _ := m["certificates"].([]any)
	if len(certs) < len(c.s.Chain) {
		t.Errorf("%d certificates described, the chain has %d", len(certs), len(c.s.Chain))
	}
	for _, ci := range certs {
		cm := ci.(map[string]any)
		for _, f := range []string{"subject", "issuer", "not_before", "not_after", "key", "signature", "sha256", "spki_sha256"} {
			if v, _ := cm[f].(string); v == "" {
				t.Errorf("certificate %v lacks %s", cm["index"], f)
			}
		}
	}
	return m
}

// TestCertVerifyScenarios: every broken kind, written to files, is named
// by 'cert verify --json' with the right severity and exit code.
func TestCertVerifyScenarios(t *testing.T) {
	t.Parallel()
	for _, c := range certScenarios(t, false) {
		name := c.s.Variant
		if len(c.extra) > 0 {
			name += "-" + strings.ReplaceAll(strings.Join(c.extra, "-"), "--", "")
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ca, chain, _, err := c.s.WriteFiles(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			args := append([]string{"cert", "verify", "--json"}, trustArgs(c.s, ca)...)
			args = append(append(args, c.extra...), chain)
			checkScenarioJSON(t, c, runTLSMail(t, args...))
		})
	}
}

// TestCertCheckScenarios: 'cert check' on the certificate and key files of
// every scenario names the same kinds, and the key matches.
func TestCertCheckScenarios(t *testing.T) {
	t.Parallel()
	for _, c := range certScenarios(t, false) {
		if len(c.extra) > 0 {
			continue
		}
		t.Run(c.s.Variant, func(t *testing.T) {
			t.Parallel()
			ca, chain, key, err := c.s.WriteFiles(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			args := append([]string{"cert", "check", "--json", "--cert", chain, "--key", key}, trustArgs(c.s, ca)...)
			m := checkScenarioJSON(t, c, runTLSMail(t, args...))
			pk, _ := m["private_key"].(map[string]any)
			if match, _ := pk["matches_certificate"].(bool); !match {
				t.Errorf("the scenario's own key does not match: %v", pk)
			}
		})
	}
}

// TestCertVerifyText: the human output starts with the verdict, draws the
// chain and gives each problem with its fix.
func TestCertVerifyText(t *testing.T) {
	t.Parallel()
	good, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	bad, err := testpki.NewBroken("missing-intermediate")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		s        *testpki.Scenario
		code     int
		first    string
		contains []string
	}{
		{good, 0, "OK: the certificate chain for localhost is trusted",
			[]string{"Chain:", "✓ [0] CN=localhost", "Certificates:", "spki pin", "sha256/"}},
		{bad, 1, "FAIL: the certificate chain for localhost is not trusted",
			[]string{"Problems:", "✗ missing-intermediate", "fix: "}},
	}
	for _, tc := range tests {
		ca, chain, _, err := tc.s.WriteFiles(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		r := runTLSMail(t, "cert", "verify", "--ca", ca, "--name", "localhost", chain)
		if r.code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.s.Variant, r.code, tc.code, r)
		}
		if first, _, _ := strings.Cut(r.stdout, "\n"); !strings.HasPrefix(first, tc.first) {
			t.Errorf("%s: first line %q, want %q", tc.s.Variant, first, tc.first)
		}
		for _, want := range tc.contains {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%s: output lacks %q:\n%s", tc.s.Variant, want, r)
			}
		}
		if r.stderr != "" {
			t.Errorf("%s: unexpected standard error:\n%s", tc.s.Variant, r)
		}
	}
}

// TestCertCheckKeyProblems: a key that belongs to another certificate, a
// world-readable key, an encrypted one, and a chain in the wrong order.
func TestCertCheckKeyProblems(t *testing.T) {
	t.Parallel()
	s, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	other, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca, chain, key, err := s.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, _, otherKey, err := other.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	openKey := writeFile(t, "open.key", data, 0o644)
	encKey := writeFile(t, "enc.key", []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBAA==\n-----END ENCRYPTED PRIVATE KEY-----\n"), 0o600)
	reversed := writeFile(t, "reversed.pem", testpki.CertsPEM(s.Chain[1], s.Chain[0]), 0o644)

	tests := []struct {
		name      string
		cert, key string
		code      int
		kind      string
		severity  string
	}{
		{"good", chain, key, 0, "", ""},
		{"another key", chain, otherKey, 1, "key-mismatch", "error"},
		{"world-readable key", chain, openKey, 0, "key-permissions", "warning"},
		{"encrypted key", chain, encKey, 1, "key-encrypted", "error"},
		{"intermediate first", reversed, key, 1, "key-mismatch", "error"},
	}
	for _, tc := range tests {
		r := runTLSMail(t, "cert", "check", "--json", "--cert", tc.cert, "--key", tc.key, "--ca", ca, "--name", "localhost")
		if r.code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, r.code, tc.code, r)
			continue
		}
		kinds := problemKinds(t, decodeJSON(t, r))
		if tc.kind == "" {
			if len(kinds) != 0 {
				t.Errorf("%s: unexpected problems %v", tc.name, kinds)
			}
			continue
		}
		if kinds[tc.kind] != tc.severity {
			t.Errorf("%s: want %s %s, got %v\n%s", tc.name, tc.severity, tc.kind, kinds, r.stdout)
		}
	}
}

// TestCertUsageAndInput: bad flags exit 64, missing or unusable files 66,
// with a JSON error object under --json and a message on stderr otherwise.
func TestCertUsageAndInput(t *testing.T) {
	t.Parallel()
	s, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca, chain, key, err := s.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name string
		args []string
		code int
		kind string // JSON error.kind when the report could not be made
		text string // on stderr
	}{
		{"no chain", []string{"cert", "verify"}, 64, "", "accepts 1 arg"},
		{"two chains", []string{"cert", "verify", chain, chain}, 64, "", "accepts 1 arg"},
		{"bad --at", []string{"cert", "verify", "--at", "yesterday", chain}, 64, "usage", "RFC 3339"},
		{"bad --name", []string{"cert", "verify", "--name", "a b", chain}, 64, "usage", "--name"},
		{"bad --revocation", []string{"cert", "verify", "--revocation", "maybe", chain}, 64, "usage", "off, soft or strict"},
		{"bad --pin", []string{"cert", "verify", "--pin", "md5/xyz", chain}, 64, "usage", "pin"},
		{"unknown flag", []string{"cert", "verify", "--nope", chain}, 64, "", "unknown flag"},
		{"missing chain", []string{"cert", "verify", missing}, 66, "input", "does not exist"},
		{"missing --ca", []string{"cert", "verify", "--ca", missing, chain}, 66, "input", "does not exist"},
		{"key as chain", []string{"cert", "verify", key}, 66, "input", "private key"},
		{"directory as chain", []string{"cert", "verify", dir}, 66, "input", "directory"},
		{"check without --key", []string{"cert", "check", "--cert", chain}, 64, "", "key"},
		{"check without --cert", []string{"cert", "check", "--key", key}, 64, "", "cert"},
		{"check missing key", []string{"cert", "check", "--cert", chain, "--key", missing}, 66, "input", "does not exist"},
		{"check missing cert", []string{"cert", "check", "--cert", missing, "--key", key}, 66, "input", "does not exist"},
		{"check cert as key", []string{"cert", "check", "--cert", chain, "--key", chain}, 66, "input", "no private key"},
		{"check missing --ca", []string{"cert", "check", "--cert", chain, "--key", key, "--ca", missing}, 66, "input", "does not exist"},
		{"check bad --name", []string{"cert", "check", "--cert", chain, "--key", key, "--name", "x/y", "--ca", ca}, 64, "usage", "--name"},
	}
	for _, tc := range tests {
		r := runTLSMail(t, tc.args...)
		if r.code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, r.code, tc.code, r)
		}
		if !strings.Contains(r.stderr, tc.text) || r.stdout != "" {
			t.Errorf("%s: want %q on stderr and nothing on stdout:\n%s", tc.name, tc.text, r)
		}
		if tc.kind == "" {
			continue
		}
		r = runTLSMail(t, append(slices.Clone(tc.args), "--json")...)
		m := decodeJSON(t, r)
		e, _ := m["error"].(map[string]any)
		if r.code != tc.code || e["kind"] != tc.kind || e["exit_code"] != float64(tc.code) || e["fix"] == "" {
			t.Errorf("%s --json: want error kind %s, exit %d:\n%s", tc.name, tc.kind, tc.code, r)
		}
		if ok, present := m["ok"]; !present || ok != false {
			t.Errorf("%s --json: ok = %v", tc.name, ok)
		}
	}
}
