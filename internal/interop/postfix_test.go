//go:build linux

package interop

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testbuf"
	"github.com/tlsmail/tlsmail/internal/testpeer"
)

// A private Postfix instance: its own config_directory, queue_directory,
// data_directory and log file under one temporary directory, listening on
// free loopback ports. Nothing of the system's Postfix (there need not be
// one: the tests install it with "No configuration") is used or touched
// except the programs and /etc/postfix/postfix-files, which "postfix start"
// reads to create the queue directories.
//
// Mail for maildir.test is delivered by virtual(8) into DIR/mail/inbox/
// (a Maildir, as the nobody user); mail for any other domain is relayed by
// smtp(8) to relay.addr, verifying that server's certificate against
// relay.caFile (smtp_tls_security_level=verify) and authenticating with
// Cyrus SASL when relay.user is set.

// Domains the instance delivers to.
const (
	maildirDomain = "maildir.test" // virtual(8) into the Maildir
	relayDomain   = "relay.test"   // smtp(8) to the relay server
	postfixHost   = "mx.tlsmail.test"
	saslRealm     = "tlsmail.test"
)

type postfixConfig struct {
	// relayAddr is where smtp(8) relays, as host:port (the host must be a
	// name in the relay's certificate: "localhost").
	relayAddr, relayCA string
	// relayUser and relayPassword are sent with AUTH PLAIN to the relay.
	relayUser, relayPassword string
	// saslUsers, when set, enables AUTH (Cyrus SASL, sasldb) in smtpd; the
	// implicit-TLS listener then relays only for authenticated clients.
	saslUsers map[string]string
}

type postfix struct {
	master  *exec.Cmd
	exited  chan struct{} // closed when master has exited
	waitErr error         // master's exit status, once exited is closed

	dir, conf, maildir, maillog string
	smtpAddr, smtpsAddr         string // STARTTLS (may) and implicit TLS (wrapper mode)
	files                       *pkiFiles
}

// saslAvailable reports whether Postfix's smtpd can offer AUTH here: the
// Cyrus SASL plugins and saslpasswd2 (Debian package sasl2-bin) for the
// user database. When it cannot, the tests log why and skip only AUTH.
func saslAvailable() (bool, string) {
	if !saslPluginsInstalled() {
		return false, "Cyrus SASL PLAIN/LOGIN plugins not found: install the Debian package libsasl2-modules"
	}
	if _, ok := testpeer.Find("saslpasswd2"); !ok {
		return false, "saslpasswd2 not found: install the Debian package sasl2-bin"
	}
	return true, ""
}

// saslPluginsInstalled reports whether Cyrus SASL's PLAIN and LOGIN
// plugins (Debian package libsasl2-modules) are present.
func saslPluginsInstalled() bool {
	for _, p := range []string{"libplain.so*", "liblogin.so*"} {
		m, _ := filepath.Glob(filepath.Join("/usr/lib/*/sasl2", p))
		m2, _ := filepath.Glob(filepath.Join("/usr/lib/sasl2", p))
		if len(m)+len(m2) == 0 {
			return false
		}
	}
	return true
}

// startPostfix starts a private Postfix instance and stops it at cleanup.
func startPostfix(t *testing.T, ctx context.Context, pc postfixConfig) *postfix {
	t.Helper()
	postfixBin := needBinary(t, "postfix", "postfix")
	if os.Geteuid() != 0 {
		t.Skip("the Postfix tests need root: master(8) starts as root and runs the daemons as the postfix user")
	}
	if _, err := user.Lookup("postfix"); err != nil {
		t.Skipf("no postfix user (%v): install the Debian package postfix, which creates it", err)
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no nobody user for Maildir delivery: %v", err)
	}
	// Where this system's Postfix keeps its programs and files (Debian:
	// /usr/lib/postfix/sbin, ...; other systems differ).
	dirs := map[string]string{}
	for _, name := range []string{"daemon_directory", "command_directory", "shlib_directory", "meta_directory"} {
		out, err := run(ctx, nil, filepath.Join(filepath.Dir(postfixBin), "postconf"), "-d", "-h", name)
		if err != nil {
			t.Fatalf("postconf -d -h %s: %v\n%s", name, err, out)
		}
		dirs[name] = strings.TrimSpace(out)
	}
	dir := sharedDir(t, "tlsmail-postfix-")
	p := &postfix{
		dir:       dir,
		conf:      filepath.Join(dir, "conf"),
		maildir:   filepath.Join(dir, "mail"),
		maillog:   filepath.Join(dir, "maillog"),
		smtpAddr:  freePort(t),
		smtpsAddr: freePort(t),
	}
	// queue_directory must exist (root-owned); "postfix check" makes its
	// subdirectories and data_directory.
	for _, d := range []string{p.conf, p.maildir, filepath.Join(dir, "queue")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	if err := os.Chown(p.maildir, uid, gid); err != nil {
		t.Fatal(err)
	}
	p.files = newPKIFiles(t, p.conf)

	main := []string{
		"compatibility_level = 3.6",
		"config_directory = " + p.conf,
		"queue_directory = " + filepath.Join(dir, "queue"),
		"data_directory = " + filepath.Join(dir, "data"), // made by postfix, owned by postfix
		"meta_directory = " + dirs["meta_directory"],
		"daemon_directory = " + dirs["daemon_directory"],
		"command_directory = " + dirs["command_directory"],
		"shlib_directory = " + dirs["shlib_directory"],
		"mail_owner = postfix",
		"setgid_group = postdrop",
		"maillog_file = " + p.maillog,
		"maillog_file_prefixes = " + dir,
		"myhostname = " + postfixHost,
		"mydestination =",
		"inet_interfaces = 127.0.0.1",
		"inet_protocols = ipv4",
		"mynetworks = 127.0.0.0/8",
		"smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
		// Treat our client as remote: no header rewriting, no added fields.
		"local_header_rewrite_clients =",
		"biff = no",
		// STARTTLS with OpenSSL, our test chain; the TLS details go into
		// the Received field, which the tests check.
		"smtpd_tls_security_level = may",
		"smtpd_tls_cert_file = " + p.files.CertFile,
		"smtpd_tls_key_file = " + p.files.Key,
		"smtpd_tls_received_header = yes",
		"smtpd_tls_loglevel = 1",
		// Maildir delivery for maildirDomain.
		"virtual_mailbox_domains = " + maildirDomain,
		"virtual_mailbox_base = " + p.maildir,
		"virtual_mailbox_maps = static:inbox/",
		"virtual_uid_maps = static:" + nobody.Uid,
		"virtual_gid_maps = static:" + nobody.Gid,
		"virtual_minimum_uid = 1",
	}
	if pc.relayAddr != "" {
		main = append(main,
			"relayhost = ["+strings.Replace(pc.relayAddr, ":", "]:", 1),
			"smtp_host_lookup = native",
			"smtp_dns_support_level = disabled",
			"smtp_tls_security_level = verify",
			"smtp_tls_verify_cert_match = hostname",
			"smtp_tls_CAfile = "+pc.relayCA,
			"smtp_tls_loglevel = 1",
		)
		if pc.relayUser != "" {
			main = append(main,
				"smtp_sasl_auth_enable = yes",
				"smtp_sasl_password_maps = static:"+pc.relayUser+":"+pc.relayPassword,
				"smtp_sasl_security_options = noanonymous",
				"smtp_sasl_tls_security_options = noanonymous",
				"smtp_sasl_mechanism_filter = plain",
			)
		}
	}
	submission := "  -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt"
	if len(pc.saslUsers) > 0 {
		saslpasswd2, ok := testpeer.Find("saslpasswd2")
		if !ok || !saslPluginsInstalled() {
			t.Fatal("saslUsers needs saslpasswd2 and the Cyrus SASL plugins: check saslAvailable first")
		}
		sasldb := filepath.Join(p.conf, "sasldb2")
		for u, pw := range pc.saslUsers {
			out, err := run(ctx, []byte(pw+"\n"), saslpasswd2, "-f", sasldb, "-c", "-p", "-u", saslRealm, u)
			if err != nil {
				t.Fatalf("saslpasswd2: %v\n%s", err, out)
			}
		}
		if err := os.Chmod(sasldb, 0o644); err != nil { // smtpd reads it as the postfix user
			t.Fatal(err)
		}
		smtpdConf := "pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: " + sasldb + "\n"
		// Debian's Postfix looks for $config_directory/sasl/smtpd.conf
		// (whatever cyrus_sasl_config_path says); set both.
		saslDir := filepath.Join(p.conf, "sasl")
		if err := os.Mkdir(saslDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(saslDir, "smtpd.conf"), []byte(smtpdConf), 0o644); err != nil {
			t.Fatal(err)
		}
		main = append(main,
			"smtpd_sasl_type = cyrus",
			"cyrus_sasl_config_path = "+saslDir,
			"smtpd_sasl_path = smtpd",
			"smtpd_sasl_auth_enable = yes",
			"smtpd_sasl_local_domain = "+saslRealm,
			"smtpd_sasl_security_options = noanonymous",
			"smtpd_tls_auth_only = yes",
		)
		// The implicit-TLS listener is a submission port: relaying needs AUTH.
		submission += "\n  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject_unauth_destination"
	}
	master := strings.Join([]string{
		p.smtpAddr + " inet n - n - - smtpd",
		p.smtpsAddr + " inet n - n - - smtpd",
		submission,
		"pickup    unix  n - n 60    1 pickup",
		"cleanup   unix  n - n -     0 cleanup",
		"qmgr      unix  n - n 300   1 qmgr",
		"tlsmgr    unix  - - n 1000? 1 tlsmgr",
		"rewrite   unix  - - n -     - trivial-rewrite",
		"bounce    unix  - - n -     0 bounce",
		"defer     unix  - - n -     0 bounce",
		"trace     unix  - - n -     0 bounce",
		"verify    unix  - - n -     1 verify",
		"flush     unix  n - n 1000? 0 flush",
		"proxymap  unix  - - n -     - proxymap",
		"smtp      unix  - - n -     - smtp",
		"relay     unix  - - n -     - smtp",
		"showq     unix  n - n -     - showq",
		"error     unix  - - n -     - error",
		"retry     unix  - - n -     - error",
		"discard   unix  - - n -     - discard",
		"virtual   unix  - n n -     - virtual",
		"anvil     unix  - - n -     1 anvil",
		"scache    unix  - - n -     1 scache",
		"postlog   unix-dgram n - n - 1 postlogd",
		"",
	}, "\n")
	if err := os.WriteFile(filepath.Join(p.conf, "main.cf"), []byte(strings.Join(main, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.conf, "master.cf"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}

	// "postfix check" makes the queue directories (owned by postfix, as
	// /etc/postfix/postfix-files says) and data_directory. Then master(8)
	// runs in the foreground as our child (what "postfix start-fg" does),
	// so that it dies with the test even when no cleanup runs.
	if out, err := run(ctx, nil, postfixBin, "-c", p.conf, "check"); err != nil {
		t.Fatalf("postfix -c %s check: %v\n%s\nlog:\n%s", p.conf, err, out, p.log())
	}
	// -s keeps master in the foreground with its output open; it is what
	// postfix-script runs for "postfix start-fg" outside PID 1.
	p.master = exec.Command(filepath.Join(dirs["daemon_directory"], "master"), "-c", p.conf, "-s")
	out := &testbuf.Buffer{}
	p.master.Stdout, p.master.Stderr = out, out
	p.master.WaitDelay = 5 * time.Second
	dieWithTest(p.master)
	if err := p.master.Start(); err != nil {
		t.Fatalf("starting Postfix's master: %v", err)
	}
	p.exited = make(chan struct{})
	go func() { p.waitErr = p.master.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("Postfix master output:\n%s\nPostfix log (%s):\n%s", out.String(), p.maillog, p.log())
		}
	})
	alive := func() error {
		select {
		case <-p.exited:
			return fmt.Errorf("Postfix's master exited: %v\n%s", p.waitErr, out.String())
		default:
			return nil
		}
	}
	for _, a := range []string{p.smtpAddr, p.smtpsAddr} {
		if err := waitListening(ctx, a, alive); err != nil {
			t.Fatalf("Postfix: %v\nlog:\n%s", err, p.log())
		}
	}
	return p
}

// log returns Postfix's log so far.
func (p *postfix) log() string {
	b, err := os.ReadFile(p.maillog)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// stop sends SIGTERM to master (this test's child), which stops the
// daemons, and waits (bounded) for it; if it does not exit, it is killed.
func (p *postfix) stop(t *testing.T) {
	p.master.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(deliveryTimeout):
		t.Logf("Postfix's master (pid %d) ignored SIGTERM; killing it", p.master.Process.Pid)
		p.master.Process.Kill()
		<-p.exited
	}
	// The daemons notice master's exit and leave on their own; wait
	// (bounded) until none is working in the queue directory, so that
	// removing it does not race with them.
	if err := pollUntil(context.Background(), "Postfix daemons to exit", p.noDaemons); err != nil {
		t.Logf("%v", err)
	}
}

// noDaemons reports whether no process has its working directory inside
// this instance (Postfix daemons chdir to queue_directory). Linux only:
// elsewhere it reports true.
func (p *postfix) noDaemons() (bool, error) {
	cwds, err := filepath.Glob("/proc/[0-9]*/cwd")
	if err != nil || len(cwds) == 0 {
		return true, nil
	}
	for _, c := range cwds {
		if d, err := os.Readlink(c); err == nil && strings.HasPrefix(d, p.dir+"/") {
			return false, nil
		}
	}
	return true, nil
}

// waitMaildir waits (bounded) for the Maildir message holding marker and
// returns its bytes.
func (p *postfix) waitMaildir(t *testing.T, ctx context.Context, marker string) []byte {
	t.Helper()
	var found []byte
	newDir := filepath.Join(p.maildir, "inbox", "new")
	err := pollUntil(ctx, "delivery into "+newDir, func() (bool, error) {
		ents, err := os.ReadDir(newDir)
		if os.IsNotExist(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(newDir, e.Name()))
			if err != nil {
				return false, err
			}
			if bytes.Contains(b, []byte(marker)) {
				found = b
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("Postfix: %v\nlog:\n%s", err, p.log())
	}
	return found
}

// waitLog waits (bounded) until Postfix's log holds s: postlogd writes
// what the daemons send it a little after they send it.
func (p *postfix) waitLog(t *testing.T, ctx context.Context, s string) {
	t.Helper()
	err := pollUntil(ctx, fmt.Sprintf("%q in the Postfix log", s), func() (bool, error) {
		return strings.Contains(p.log(), s), nil
	})
	if err != nil {
		t.Errorf("%v", err)
	}
}
