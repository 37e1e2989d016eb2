package main

import (
	"bufio"
	"crypto/x509"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testbuf"
	"github.com/tlsmail/tlsmail/internal/testpki"
)

// TestServeClientCA runs `tlsmail serve --client-ca FILE` and sends into it
// with and without a client certificate: with one issued by the client CA
// the message is stored and its JSON names the certificate's subject;
// without one, or with one from another CA, the handshake fails (exit 75)
// and nothing is stored.
func TestServeClientCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clientRoot, err := testpki.NewRoot(testpki.Options{CommonName: "tlsmail test client CA"})
	if err != nil {
		t.Fatal(err)
	}
	otherRoot, err := testpki.NewRoot(testpki.Options{CommonName: "some other client CA"})
	if err != nil {
		t.Fatal(err)
	}
	issue := func(a *testpki.Authority, cn string) (certFile, keyFile string) {
		leaf, err := a.Issue(testpki.Options{CommonName: cn, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		if err != nil {
			t.Fatal(err)
		}
		key, err := testpki.KeyPEM(leaf.Key)
		if err != nil {
			t.Fatal(err)
		}
		certFile = writeFile(t, cn+".pem", testpki.CertsPEM(leaf.Cert), 0o644)
		keyFile = writeFile(t, cn+".key", key, 0o600)
		return certFile, keyFile
	}
	goodCert, goodKey := issue(clientRoot, "alice client")
	otherCert, otherKey := issue(otherRoot, "mallory client")
	caFile := writeFile(t, "client-ca.pem", testpki.CertsPEM(clientRoot.Cert), 0o644)

	srvDir := filepath.Join(dir, "srv")
	smtpAddr, smtpsAddr, stop := startServeWith(t, "--dir", srvDir, "--client-ca", caFile)
	defer stop()
	serverCA := filepath.Join(srvDir, "ca.pem")

	cases := []struct {
		name     string
		addr     string
		extra    []string
		wantCode int
	}{
		{"starttls with certificate", smtpAddr, []string{"--cert", goodCert, "--key", goodKey}, 0},
		{"implicit with certificate", smtpsAddr, []string{"--tls", "implicit", "--cert", goodCert, "--key", goodKey}, 0},
		{"no certificate", smtpAddr, nil, exitTempFail},
		{"certificate of another CA", smtpsAddr, []string{"--tls", "implicit", "--cert", otherCert, "--key", otherKey}, exitTempFail},
	}
	stored := 0
	for _, c := range cases {
		args := []string{"send", "--server", c.addr, "--ca", serverCA, "--from", "ann@example.com",
			"--to", "bob@example.org", "--subject", c.name, "--body", "Hello.\n", "--timeout", "30s"}
		r := runTLSMail(t, append(args, c.extra...)...)
		if r.code != c.wantCode {
			t.Errorf("%s: exit %d, want %d\n%s", c.name, r.code, c.wantCode, r)
			continue
		}
		if c.wantCode != 0 {
			continue
		}
		stored++
		var meta struct {
			TLS struct {
				ClientCertSubject string `json:"client_cert_subject"`
			} `json:"tls"`
		}
		for _, env := range waitFiles(t, filepath.Join(srvDir, "messages", "*.json"), stored) {
			data, err := os.ReadFile(env)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &meta); err != nil {
				t.Fatal(err)
			}
			if meta.TLS.ClientCertSubject != "CN=alice client" {
				t.Errorf("%s: client_cert_subject %q, want %q", c.name, meta.TLS.ClientCertSubject, "CN=alice client")
			}
		}
	}
	envs, _ := filepath.Glob(filepath.Join(srvDir, "messages", "*.json"))
	if len(envs) != stored {
		t.Errorf("%d messages stored, want %d (a refused client was let in)", len(envs), stored)
	}
}

// TestServeClientCABadFile: an unreadable or empty --client-ca is a
// configuration error (78) before anything listens.
func TestServeClientCABadFile(t *testing.T) {
	t.Parallel()
	empty := writeFile(t, "empty.pem", []byte("not PEM\n"), 0o644)
	for _, f := range []string{filepath.Join(t.TempDir(), "missing.pem"), empty} {
		r := runTLSMail(t, "serve", "--smtp", "127.0.0.1:0", "--smtps", "", "--dir", t.TempDir(), "--client-ca", f)
		if r.code != exitConfig || !strings.Contains(r.stderr, "--client-ca") {
			t.Errorf("--client-ca %s: want exit %d naming --client-ca\n%s", f, exitConfig, r)
		}
	}
}

// startServeWith starts `tlsmail serve` on free loopback ports with extra
// arguments and returns its two addresses and a function that stops it.
func startServeWith(t *testing.T, extra ...string) (smtpAddr, smtpsAddr string, stop func()) {
	t.Helper()
	cmd := exec.Command(tlsmailBin, append([]string{"serve", "--smtp", "127.0.0.1:0", "--smtps", "127.0.0.1:0"}, extra...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	stderr := &testbuf.Buffer{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	field := regexp.MustCompile(`^\s+(SMTP with STARTTLS|implicit TLS \(SMTPS\)):\s+(\S+)`)
	found := make(chan [2]string, 1)
	go func() {
		var a [2]string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := field.FindStringSubmatch(sc.Text()); m != nil {
				if strings.HasPrefix(m[1], "SMTP") {
					a[0] = m[2]
				} else {
					a[1] = m[2]
				}
			}
			if a[0] != "" && a[1] != "" {
				found <- a
				a = [2]string{}
			}
		}
		close(found)
	}()
	select {
	case a, ok := <-found:
		if !ok {
			stop()
			t.Fatalf("serve exited before printing its addresses:\n%s", stderr)
		}
		return a[0], a[1], stop
	case <-time.After(time.Minute):
		stop()
		t.Fatalf("serve printed no addresses:\n%s", stderr)
	}
	return "", "", stop
}

// waitFiles waits (bounded) until pattern matches at least n files.
func waitFiles(t *testing.T, pattern string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		m, _ := filepath.Glob(pattern)
		if len(m) >= n {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d files match %s, want %d", len(m), pattern, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
