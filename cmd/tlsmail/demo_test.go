package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDemo runs `tlsmail demo` as the README's first command does and
// checks that it shows both sessions, the TLS details and delivered files.
func TestDemo(t *testing.T) {
	t.Parallel()
	r := runTLSMail(t, "demo")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	for _, want := range []string{
		"C: 10 bytes: STARTTLS",          // the STARTTLS session's transcript
		"AUTH PLAIN [redacted]",          // AUTH happened, redacted
		"certificate verified for \"127", // full verification, IP SAN
		"(STARTTLS)",
		"(implicit TLS)",
		"chain:    0: CN=localhost",
		"=== delivered ===",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if n := strings.Count(r.stdout, "*  TLS handshake done: TLS 1."); n != 2 {
		t.Errorf("%d TLS handshakes shown, want 2", n)
	}
	if n := strings.Count(r.stdout, "sent:     250"); n != 2 {
		t.Errorf("%d sends reported, want 2", n)
	}
	paths := regexp.MustCompile(`(?m)^(/\S+\.eml)  \(`).FindAllStringSubmatch(r.stdout, -1)
	if len(paths) != 2 {
		t.Fatalf("%d message paths printed, want 2:\n%s", len(paths), r.stdout)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p[1])
		if err != nil {
			t.Errorf("printed path: %v", err)
			continue
		}
		if !strings.Contains(string(data), "Subject: tlsmail demo ") {
			t.Errorf("%s is not a demo message:\n%s", p[1], data)
		}
	}
	if r.stderr != "" {
		t.Errorf("demo wrote to stderr:\n%s", r.stderr)
	}
}

// TestHelpAndVersion: the help is the manual; check it documents what
// users need, and that version works.
func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"send", "serve", "demo", "version", "75  temporary failure"}},
		{[]string{"send", "--help"}, []string{"--password-env", "--password-file", "--password-cmd", "--tls-name",
			"--pin", "--insecure", "--message", "--json", "\"exit_code\"", "starttls-injection", "Examples:"}},
		{[]string{"serve", "--help"}, []string{"--smtp", "--smtps", "--dir", "ca.pem", "SIGTERM"}},
		{[]string{"demo", "--help"}, []string{"offline", "go run ./cmd/tlsmail demo"}},
		{[]string{"version"}, []string{"tlsmail ", "go1."}},
		{[]string{"help", "send"}, []string{"--server HOST[:PORT]"}},
	}
	for _, tc := range tests {
		r := runTLSMail(t, tc.args...)
		if r.code != 0 {
			t.Errorf("%q: %s", tc.args, r)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%q: output lacks %q:\n%s", tc.args, w, r.stdout)
			}
		}
	}
	r := runTLSMail(t, "send", "--help")
	if regexp.MustCompile(`(?m)^\s+--password\s`).MatchString(r.stdout) {
		t.Errorf("send has a --password flag:\n%s", r.stdout)
	}
}
