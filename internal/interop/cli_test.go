package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tlsmail/tlsmail/smtp"
)

// buildCLI builds cmd/tlsmail into dir with the go command that runs these
// tests, and returns the binary's path.
func buildCLI(ctx context.Context, dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "tlsmail")
	if out, err := run(ctx, nil, goBin, "build", "-o", bin, "github.com/tlsmail/tlsmail/cmd/tlsmail"); err != nil {
		return "", fmt.Errorf("go build cmd/tlsmail: %v\n%s", err, out)
	}
	return bin, nil
}

// cliResult is the part of `tlsmail send --json` the tests read.
type cliResult struct {
	OK  bool `json:"ok"`
	TLS *struct {
		Version  string `json:"version"`
		Verified bool   `json:"verified"`
	} `json:"tls"`
	Auth     string   `json:"auth"`
	Accepted []string `json:"accepted"`
	Response string   `json:"response"`
	Error    *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
}

// sendCLI sends msg, a prepared message, with `tlsmail send --message`,
// trusting only caFile, authenticating with mech (as submitUser, password
// from the environment) unless mech is "". It returns the server's reply
// to DATA.
func sendCLI(t *testing.T, ctx context.Context, cli, addr string, mode smtp.TLSMode, caFile, mech, rcpt string, msg []byte) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "message.eml")
	if err := os.WriteFile(file, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"send", "--server", addr, "--tls", string(mode), "--ca", caFile,
		"--from", fromAddr, "--to", rcpt, "--message", file, "--json", "--timeout", "30s"}
	var env []string
	if mech != "" {
		args = append(args, "--user", submitUser, "--auth", mech, "--password-env", "INTEROP_SUBMIT_PASSWORD")
		env = []string{"INTEROP_SUBMIT_PASSWORD=" + submitPassword}
	}
	out, err := runEnv(ctx, nil, env, cli, args...)
	var res cliResult
	if jerr := json.Unmarshal([]byte(out), &res); jerr != nil {
		t.Fatalf("tlsmail send (%v) printed no JSON result (%v):\n%s", err, jerr, out)
	}
	if err != nil || !res.OK {
		t.Fatalf("tlsmail send: %v, error %+v\n%s", err, res.Error, out)
	}
	if res.TLS == nil || !res.TLS.Verified {
		t.Errorf("tlsmail send reports TLS %+v; want a verified session", res.TLS)
	}
	if mech != "" && res.Auth != mech {
		t.Errorf("tlsmail send authenticated with %q, want %q", res.Auth, mech)
	}
	if len(res.Accepted) != 1 || res.Accepted[0] != rcpt {
		t.Errorf("accepted %q, want [%q]", res.Accepted, rcpt)
	}
	return res.Response
}
