//go:build unix

package certinfo

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/trust"
)

// TestKeyPermissionDenied reads a key the process may not read. As root,
// which reads everything, the check runs in a child process as nobody.
func TestKeyPermissionDenied(t *testing.T) {
	if os.Getenv("CERTINFO_CHILD") == "1" {
		_, err := CheckKeyPair(context.Background(), os.Getenv("CERTINFO_CERT"), os.Getenv("CERTINFO_KEY"), trust.Options{})
		fmt.Printf("input=%v err=%v\n", isInputError(err), err)
		return
	}
	good, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "certinfo-perm")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	_, chain, key, err := good.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		os.Chmod(key, 0o000)
		_, err := CheckKeyPair(context.Background(), chain, key, trust.Options{})
		checkPermissionError(t, fmt.Sprintf("input=%v err=%v", isInputError(err), err), key, "0000")
		return
	}
	// Root: copy the test binary where nobody can run it, run it as nobody.
	bin := filepath.Join(dir, "certinfo.test")
	if err := copyFile(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestKeyPermissionDenied$")
	cmd.Env = append(os.Environ(), "CERTINFO_CHILD=1", "CERTINFO_CERT="+chain, "CERTINFO_KEY="+key)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	checkPermissionError(t, string(out), key, "0600")
}

func checkPermissionError(t *testing.T, out, key, mode string) {
	t.Helper()
	for _, w := range []string{"input=true", key, "permission denied reading the private key file", "(mode " + mode, "owner uid"} {
		if !strings.Contains(out, w) {
			t.Errorf("output %q lacks %q", out, w)
		}
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
