package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testbuf"
	"github.com/tlsmail/tlsmail/internal/testpeer"
	"github.com/tlsmail/tlsmail/internal/testpki"
)

// opensslServer is a small SMTP server in Python whose TLS is Python's ssl
// module, that is OpenSSL: a different TLS stack from Go's. It serves
// STARTTLS on one port and implicit TLS on another, requires AUTH PLAIN
// after TLS, undoes dot-stuffing and writes each message's bytes to
// OUTDIR/N.eml. Every socket operation has a timeout.
const opensslServer = `
import base64, os, socket, ssl, sys, threading

cert, key, outdir, user, password = sys.argv[1:6]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
count = [0]
lock = threading.Lock()

def serve(conn, implicit):
    conn.settimeout(30)
    if implicit:
        conn = ctx.wrap_socket(conn, server_side=True)
    f = conn.makefile("rb")
    tls = implicit
    authed = False
    def say(s):
        conn.sendall(s.encode() + b"\r\n")
    say("220 openssl.test ESMTP Python " + sys.version.split()[0] + " " + ssl.OPENSSL_VERSION)
    while True:
        line = f.readline(1000)
        if not line:
            return
        cmd = line.decode("utf-8", "replace").strip()
        up = cmd.upper()
        if up.startswith("EHLO"):
            caps = ["250-openssl.test", "250-8BITMIME"]
            caps.append("250 AUTH PLAIN" if tls else "250 STARTTLS")
            say("\r\n".join(caps))
        elif up == "STARTTLS" and not tls:
            say("220 2.0.0 go ahead")
            conn = ctx.wrap_socket(conn, server_side=True)
            f = conn.makefile("rb")
            tls = True
        elif up.startswith("AUTH PLAIN ") and tls:
            parts = base64.b64decode(cmd[11:]).split(b"\0")
            if parts[1:] == [user.encode(), password.encode()]:
                authed = True
                say("235 2.7.0 ok")
            else:
                say("535 5.7.8 bad credentials")
        elif up.startswith("MAIL") or up.startswith("RCPT"):
            say("250 2.1.0 ok" if authed else "530 5.7.0 authentication required")
        elif up == "DATA" and authed:
            say("354 go on")
            data = b""
            while True:
                l = f.readline(100000)
                if not l:
                    return
                if l == b".\r\n":
                    break
                if l.startswith(b"."):
                    l = l[1:]
                data += l
            with lock:
                count[0] += 1
                n = count[0]
            with open(os.path.join(outdir, "%d.eml.tmp" % n), "wb") as out:
                out.write(data)
            os.rename(os.path.join(outdir, "%d.eml.tmp" % n), os.path.join(outdir, "%d.eml" % n))
            say("250 2.0.0 queued as OPENSSL%d" % n)
        elif up == "QUIT":
            say("221 2.0.0 bye")
            conn.close()
            return
        else:
            say("502 5.5.1 not here")

def listen(implicit):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    return s, implicit

def loop(s, implicit):
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, implicit), daemon=True).start()

plain, tlsl = listen(False), listen(True)
print(plain[0].getsockname()[1], tlsl[0].getsockname()[1], flush=True)
threading.Thread(target=loop, args=plain, daemon=True).start()
threading.Thread(target=loop, args=tlsl, daemon=True).start()
sys.stdin.read()  # run until the test closes our stdin
`

// TestSendToOpenSSLServer sends prepared messages with tlsmail to an SMTP
// server whose TLS is OpenSSL, over STARTTLS and implicit TLS with full
// verification and AUTH, and checks the delivered bytes.
func TestSendToOpenSSLServer(t *testing.T) {
	t.Parallel()
	python := testpeer.Need(t, "python3", "python3")
	dir := t.TempDir()
	pki, err := testpki.NewPKI(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	caFile, certFile, keyFile, err := pki.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(dir, "out")
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := writeFile(t, "server.py", []byte(opensslServer), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, certFile, keyFile, outDir, testUser, testPassword)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr testbuf.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	ports, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the Python server did not start: %v\n%s", err, stderr.String())
	}
	f := strings.Fields(ports)
	if len(f) != 2 {
		t.Fatalf("unexpected port line %q", ports)
	}

	msg := []byte("From: Ann <ann@example.com>\r\n" +
		"To: bob@example.org\r\n" +
		"Subject: to OpenSSL\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n" +
		"Message-ID: <openssl-1@example.com>\r\n" +
		"\r\n" +
		".dot at the start\r\n" +
		"\xe2\x82\xac 8-bit\r\n")
	msgFile := writeFile(t, "m.eml", msg, 0o644)
	for i, tc := range []struct {
		name string
		args []string
	}{
		{"starttls", []string{"--server", "127.0.0.1:" + f[0]}},
		{"implicit", []string{"--server", "127.0.0.1:" + f[1], "--tls", "implicit"}},
	} {
		args := append([]string{"send", "--ca", caFile, "--user", testUser, "--password-env", passwordVar,
			"--message", msgFile, "--json"}, tc.args...)
		r := cli{args: args, env: authEnv()}.run(t)
		if r.code != 0 {
			t.Fatalf("%s: %s\nserver stderr:\n%s", tc.name, r, stderr.String())
		}
		j := decodeJSON(t, r)
		if tl, _ := j["tls"].(map[string]any); tl == nil || tl["verified"] != true {
			t.Errorf("%s: tls = %v", tc.name, j["tls"])
		}
		if resp, _ := j["response"].(string); !strings.Contains(resp, "OPENSSL") {
			t.Errorf("%s: response = %q", tc.name, resp)
		}
		got, err := os.ReadFile(filepath.Join(outDir, strconv.Itoa(i+1)+".eml"))
		if err != nil {
			t.Fatalf("%s: %v\nserver stderr:\n%s", tc.name, err, stderr.String())
		}
		if !bytes.Equal(got, msg) {
			t.Errorf("%s: delivered bytes differ\n got: %q\nwant: %q", tc.name, got, msg)
		}
	}
}
