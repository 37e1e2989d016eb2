package main

import (
	"os"
	"regexp"
	"runtime"
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
	// Both sessions through crypto/tls where the OS has no provider of its
	// own (Windows: see TestDemoProviders and scripts/wine-e2e.sh).
	if runtime.GOOS != "windows" {
		if n := strings.Count(r.stdout, ", go provider, certificate verified"); n != 2 {
			t.Errorf("%d sessions through the go provider, want 2", n)
		}
		if !regexp.MustCompile(`\(remove it with: rm -r /\S+tlsmail-demo-\d+\)`).MatchString(r.stdout) {
			t.Errorf("no POSIX cleanup hint:\n%s", r.stdout)
		}
	}
	paths := regexp.MustCompile(`(?m)^(.+\.eml)  \(`).FindAllStringSubmatch(r.stdout, -1)
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

// TestDemoProvider: --tls-provider sends both sessions through the one
// named; an unknown one is a usage error (64) before anything starts.
func TestDemoProvider(t *testing.T) {
	t.Parallel()
	r := runTLSMail(t, "demo", "--tls-provider", "go")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	if n := strings.Count(r.stdout, ", TLS provider go (Go's crypto/tls) ==="); n != 2 {
		t.Errorf("%d sessions headed with the go provider, want 2:\n%s", n, r.stdout)
	}
	r = runTLSMail(t, "demo", "--tls-provider", "nonesuch")
	if r.code != 64 || !strings.Contains(r.stderr, `unknown --tls-provider "nonesuch"`) || !strings.Contains(r.stderr, "go") ||
		strings.Contains(r.stdout, "listening") {
		t.Errorf("unknown provider: %s", r)
	}
}

// TestDemoProviders: without --tls-provider the demo shows the operating
// system's own provider (Schannel in Windows builds) in the first session
// and crypto/tls in the second; elsewhere crypto/tls twice.
func TestDemoProviders(t *testing.T) {
	tests := []struct {
		names []string
		flag  string
		want  [2]string
	}{
		{[]string{"go"}, "", [2]string{"go", "go"}},
		{[]string{"go", "schannel"}, "", [2]string{"schannel", "go"}},
		{[]string{"go", "schannel"}, "schannel", [2]string{"schannel", "schannel"}},
		{[]string{"go", "schannel"}, "go", [2]string{"go", "go"}},
	}
	for _, tc := range tests {
		got, err := demoProviders(tc.names, tc.flag)
		if err != nil || got != tc.want {
			t.Errorf("demoProviders(%q, %q) = %q, %v; want %q", tc.names, tc.flag, got, err, tc.want)
		}
	}
	if _, err := demoProviders([]string{"go"}, "schannel"); err == nil {
		t.Error("schannel where the build has none: no error")
	}
	// This build: Windows builds offer schannel, and the demo shows it.
	got, _ := demoProviders(newProviders().Names(), "")
	if want := runtime.GOOS == "windows"; (got[0] == "schannel") != want {
		t.Errorf("on %s the demo's providers are %q", runtime.GOOS, got)
	}
}

// TestDemoShellHints: the commands the demo prints work in the shell of
// the system: rm -r and POSIX quoting with a continued line elsewhere; on
// Windows rmdir /s /q (cmd.exe) and Remove-Item (PowerShell), double quotes,
// one line.
func TestDemoShellHints(t *testing.T) {
	tests := []struct {
		goos, dir, remove, quoted, cont string
	}{
		{"linux", "/tmp/tlsmail-demo-1", "rm -r /tmp/tlsmail-demo-1", "'tlsmail demo 1/2'", " \\\n          "},
		{"linux", "/tmp/it's here", `rm -r '/tmp/it'\''s here'`, "'tlsmail demo 1/2'", " \\\n          "},
		{"windows", `C:\Users\ann\AppData\Local\Temp\tlsmail-demo-1`,
			`rmdir /s /q C:\Users\ann\AppData\Local\Temp\tlsmail-demo-1 (cmd.exe) or Remove-Item -Recurse -Force C:\Users\ann\AppData\Local\Temp\tlsmail-demo-1 (PowerShell)`,
			`"tlsmail demo 1/2"`, ""},
		{"windows", `C:\Users\Ann Lee\AppData\Local\Temp\tlsmail-demo-1`,
			`rmdir /s /q "C:\Users\Ann Lee\AppData\Local\Temp\tlsmail-demo-1" (cmd.exe) or Remove-Item -Recurse -Force "C:\Users\Ann Lee\AppData\Local\Temp\tlsmail-demo-1" (PowerShell)`,
			`"tlsmail demo 1/2"`, ""},
	}
	for _, tc := range tests {
		h := newShellHints(tc.goos)
		if got := h.removeDir(tc.dir); got != tc.remove {
			t.Errorf("%s: removeDir(%q) = %s, want %s", tc.goos, tc.dir, got, tc.remove)
		}
		if got := h.quote("tlsmail demo 1/2"); got != tc.quoted {
			t.Errorf("%s: quote = %s, want %s", tc.goos, got, tc.quoted)
		}
		if got := h.continuation(); got != tc.cont {
			t.Errorf("%s: continuation = %q, want %q", tc.goos, got, tc.cont)
		}
		if tc.goos == "windows" && strings.Contains(h.removeDir(tc.dir), "rm -r") {
			t.Errorf("windows: %s", h.removeDir(tc.dir))
		}
	}
}
