package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpeer"
	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/server"
)

// outcome is what one program must do on a TestMsmtpDifferences row.
type outcome struct {
	code int
	// When code is 0: the envelope recipients in the order the server
	// got them ("" skips), the EHLO name ("" skips), and byte strings the
	// stored message must hold or must not hold.
	rcpt, from, helo string
	prefix           string // the stored message begins with it
	has, hasNo       []string
	says             string // in standard error ("" skips)
	queued           int    // items left in tlsmail's outbox (tlsmail only)
}

// TestMsmtpDifferences locks in, side by side, the differences from msmtp
// 1.8.23 that the README's msmtp section states and no other side-by-side
// test covers (the others: TestMsmtpMatrix, TestMsmtpHeaderKeys,
// TestMsmtpNullSender, TestMsmtpEmptyDomain, TestMsmtpCRLFile,
// TestMsmtpEnvironmentServerWithPort, TestMsmtpNetrc, TestMsmtpDSN,
// TestMsmtpLogDifferences, TestMsmtpLocalRecipients,
// TestMsmtpUTF8SubjectNoSMTPUTF8, TestSendmailRefusedRecipient). Each row
// runs msmtp and tlsmail sendmail with the same configuration, command
// line and input against one server, and states what msmtp does as well
// as what tlsmail does: a row cannot pass with both failing alike, and a
// row whose msmtp outcome changes means the README's claim about msmtp
// is wrong.
func TestMsmtpDifferences(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, func(c *server.Config) {
		c.RejectRecipient = func(to string) *server.Reply {
			if to == "reject@example.org" {
				return &server.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user here"}
			}
			return nil
		}
	}, nil)
	base, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	// file writes a configuration: m's, with its written password
	// replaced by password (a line, "" for none) and extra lines after it
	// (for the default account).
	file := func(mode os.FileMode, password, extra string) string {
		text := strings.Replace(string(base), "password "+testPassword+"\n", password, 1)
		if !strings.Contains(string(base), "password "+testPassword+"\n") {
			t.Fatal("the base configuration has no password line")
		}
		path := writeFile(t, "msmtprc", []byte(text+extra), 0o600)
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	withAliases := func(aliases string) string {
		return m.configWith(t, "aliases "+writeFile(t, "aliases", []byte(aliases), 0o644)+"\n")
	}
	passFile := writeFile(t, "pass", []byte(testPassword+"\n"), 0o600)
	evalPassword := "passwordeval cat " + passFile + "\n"
	noFrom := strings.Replace(string(base), "from ann@example.com\n", "", 1)
	if noFrom == string(base) {
		t.Fatal("the base configuration has no from line")
	}
	noFromLocked := writeFile(t, "msmtprc", []byte(noFrom+"allow_from_override off\n"), 0o600)
	otherCA := writeFile(t, "other-ca.pem", []byte(otherCAPEM(t)), 0o644)
	untrusted := m.configWith(t, "tls_trust_file "+otherCA+"\n")

	// rawCfg reaches rawRecorder: plain text, no login (the rows that
	// need it are refused by tlsmail before it connects; the first row
	// shows both deliver there).
	rec := startRawRecorder(t)
	rawHost, rawPort, err := net.SplitHostPort(rec.addr)
	if err != nil {
		t.Fatal(err)
	}
	rawCfgs := map[string]bool{}
	raw := func(extra string) string {
		path := writeFile(t, "msmtprc", []byte("account default\nhost "+rawHost+"\nport "+rawPort+"\ntls off\nfrom ann@example.com\n"+extra), 0o600)
		rawCfgs[path] = true
		return path
	}
	rawCfg := raw("")

	netrcCfg := netrcAccount(t, m)
	netrcHome := func(mode os.FileMode, entry bool) string {
		home := t.TempDir()
		text := "machine 127.0.0.1 login someone password x\n"
		if entry {
			text += "machine 127.0.0.1 login " + testUser + " password " + testPassword + "\n"
		}
		writeFileAt(t, filepath.Join(home, ".netrc"), text, mode)
		return home
	}
	// The server's certificate's SHA-256 fingerprint, as msmtp writes it.
	conn, err := tls.Dial("tcp", m.srv.SMTPSAddr(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
	conn.Close()
	var hexes []string
	for _, b := range sum {
		hexes = append(hexes, fmt.Sprintf("%02X", b))
	}
	fingerprint := strings.Join(hexes, ":")

	const msg = "Subject: s\n\nbody\n"
	bigHeader := strings.Repeat("X-Filler: "+strings.Repeat("f", 90)+"\n", (2<<20)/101) + msg

	tests := []struct {
		name           string // the README's words
		cfg            string
		args, env      []string
		stdin          string
		msmtp, tlsmail outcome
	}{
		// The raw recorder takes a message from both (what the rows
		// using it show is then the programs', not the peer's).
		{"plain message through the raw recorder", rawCfg, []string{"bob@example.org"}, []string{"HOSTNAME=box.example"}, msg,
			outcome{rcpt: "bob@example.org", has: []string{"Subject: s\r\n"}}, outcome{rcpt: "bob@example.org", has: []string{"Subject: s\r\n"}}},
		// "--passwordeval replaces the account's password too (msmtp
		// 1.8.23 keeps using a password written in the file and ignores
		// the option)": the file's password is wrong, the command's right.
		{"--passwordeval over a written password", file(0o600, "password wrong-password\n", ""),
			[]string{"--passwordeval=cat " + passFile, "bob@example.org"}, nil, msg,
			outcome{code: exitNoPerm}, outcome{rcpt: "bob@example.org"}},
		// "a message header with a NUL byte or a bare CR, a header line
		// over 64 KiB or a header section over 1 MiB is refused with exit
		// 64 before anything is sent or queued" (msmtp sends them as they
		// are).
		{"header with a NUL byte", rawCfg, []string{"bob@example.org"}, nil, "Subject: a\x00b\n\nbody\n",
			outcome{rcpt: "bob@example.org", has: []string{"Subject: a\x00b\r\n"}}, outcome{code: exitUsage, says: "NUL"}},
		// msmtp drops a bare CR of the header (the README said it sent
		// it as is): the field's text changes silently.
		{"header with a bare CR", rawCfg, []string{"bob@example.org"}, nil, "Subject: a\rb\n\nbody\n",
			outcome{rcpt: "bob@example.org", has: []string{"\r\nSubject: ab\r\n"}}, outcome{code: exitUsage, says: "CR"}},
		{"header line over 64 KiB", rawCfg, []string{"bob@example.org"}, nil, "X-Long: " + strings.Repeat("l", 65<<10) + "\n" + msg,
			outcome{rcpt: "bob@example.org", has: []string{strings.Repeat("l", 65<<10) + "\r\n"}}, outcome{code: exitUsage, says: "longer than 65536 bytes"}},
		{"header section over 1 MiB (2 MiB)", rawCfg, []string{"bob@example.org"}, nil, bigHeader,
			outcome{rcpt: "bob@example.org", has: []string{"\r\nSubject: s\r\n"}}, outcome{code: exitUsage, says: "larger than 1048576 bytes"}},
		// Aliases: "every local recipient is expanded (msmtp skips the
		// second of two adjacent local names)": msmtp sends the bare
		// name, which the server refuses.
		{"two adjacent local names", withAliases("root: admin@example.com\npostmaster: pm@example.com\n"), []string{"root", "postmaster"}, nil, msg,
			outcome{code: exitRejected}, outcome{rcpt: "admin@example.com,pm@example.com"}},
		// "an alias line with no address or an unparsable one is exit 78
		// (msmtp sends RCPT TO:<> or the raw text)".
		{"alias line with no address", withAliases("root:\n"), []string{"root"}, nil, msg,
			outcome{code: exitRejected}, outcome{code: exitConfig}},
		{"alias line that does not parse", withAliases("root: <admin@example.com\n"), []string{"root"}, nil, msg,
			outcome{code: exitRejected}, outcome{code: exitConfig}},
		// "an alias to a program or file (|cmd, /path) is exit 78 when used".
		{"alias to a program", withAliases("root: |/bin/true\n"), []string{"root"}, nil, msg,
			outcome{code: exitRejected}, outcome{code: exitConfig}},
		// "an alias's addresses keep the file's order (msmtp reverses them)".
		{"alias order", withAliases("root: b@example.org, a@example.org\n"), []string{"root"}, nil, msg,
			outcome{rcpt: "a@example.org,b@example.org"}, outcome{rcpt: "b@example.org,a@example.org"}},
		// "A configuration ... file that another user could have written
		// (group- or world-writable ...) is refused (exit 78): msmtp would
		// run its eval/passwordeval".
		{"group-writable configuration with passwordeval", file(0o660, evalPassword, ""), []string{"bob@example.org"}, nil, msg,
			outcome{rcpt: "bob@example.org"}, outcome{code: exitConfig, says: "writ"}},
		// "a domain that is no host name once expanded ($HOSTNAME with a
		// blank) is exit 78 (msmtp sends EHLO my laptop)".
		{"domain %H with a blank", raw("domain %H\n"), []string{"bob@example.org"}, []string{"HOSTNAME=my laptop"}, msg,
			outcome{rcpt: "bob@example.org", helo: "my laptop"}, outcome{code: exitConfig, says: "domain"}},
		// "Resent-Bcc goes with Bcc (msmtp keeps it)".
		{"Resent-Bcc", m.cfg, []string{"bob@example.org"}, nil, "Resent-To: bob@example.org\nResent-Bcc: hidden@example.org\nBcc: hidden2@example.org\n" + msg,
			outcome{rcpt: "bob@example.org", has: []string{"Resent-Bcc: hidden@example.org\r\n"}, hasNo: []string{"hidden2@"}},
			outcome{rcpt: "bob@example.org", hasNo: []string{"hidden@", "hidden2@"}}},
		// "allow_from_override off with no from ... is exit 78 naming the
		// account"; msmtp has no sender either.
		{"allow_from_override off without from", noFromLocked, []string{"-f", "x@example.net", "bob@example.org"}, nil, msg,
			outcome{code: exitConfig}, outcome{code: exitConfig, says: "allow_from_override is off but the account has no from"}},
		// The settings tlsmail cannot honour are refused, "deliberately
		// unlike msmtp" (which uses them and delivers).
		{"tls_priorities", m.configWith(t, "tls_priorities NORMAL\n"), []string{"bob@example.org"}, nil, msg,
			outcome{rcpt: "bob@example.org"}, outcome{code: exitConfig, says: "tls_priorities"}},
		{"tls_min_dh_prime_bits", m.configWith(t, "tls_min_dh_prime_bits 2048\n"), []string{"bob@example.org"}, nil, msg,
			outcome{rcpt: "bob@example.org"}, outcome{code: exitConfig, says: "tls_min_dh_prime_bits"}},
		{"source_ip", m.configWith(t, "source_ip 127.0.0.1\n"), []string{"bob@example.org"}, nil, msg,
			outcome{rcpt: "bob@example.org"}, outcome{code: exitConfig, says: "source_ip"}},
		{"alias to a file", withAliases("root: /var/mail/root\n"), []string{"root"}, nil, msg,
			outcome{code: exitRejected}, outcome{code: exitConfig}},
		{"allow_from_override off with a wildcard from", m.configWith(t, "from *@example.com\nallow_from_override off\n"), []string{"-f", "x@example.net", "bob@example.org"}, nil, msg,
			outcome{rcpt: "bob@example.org", from: "*@example.com"}, outcome{code: exitConfig, says: "allow_from_override"}},
		{"tls_fingerprint", m.configWith(t, "tls_fingerprint "+fingerprint+"\n"), []string{"bob@example.org"}, nil, msg,
			outcome{rcpt: "bob@example.org"}, outcome{code: exitConfig, says: "tls_pin"}},
		{"auth scram-sha-1", m.configWith(t, "auth scram-sha-1\n"), []string{"bob@example.org"}, nil, msg,
			outcome{code: exitUnavailable, says: "does not support authentication method SCRAM-SHA-1"}, outcome{code: exitConfig, says: "scram-sha-1"}},
		{"tls_force_sslv3 on", m.configWith(t, "tls_force_sslv3 on\n"), []string{"bob@example.org"}, nil, msg,
			outcome{rcpt: "bob@example.org"}, outcome{code: exitConfig, says: "tls_force_sslv3"}},
		{"auto_from on", m.configWith(t, "auto_from on\n"), []string{"bob@example.org"}, []string{"USER=joe"}, msg,
			outcome{code: exitRejected, says: "envelope from address joe not accepted"}, outcome{code: exitConfig, says: "maildomain"}},
		// "the netrc file whose entry is used must be mode 0600 ..., and
		// with no entry the message waits in the outbox with a "will not
		// heal" line (msmtp exits 69)".
		{"~/.netrc readable by others", netrcCfg, []string{"bob@example.org"}, []string{"HOME=" + netrcHome(0o644, true)}, msg,
			outcome{rcpt: "bob@example.org"}, outcome{says: "chmod 600", queued: 1}},
		{"~/.netrc without an entry", netrcCfg, []string{"bob@example.org"}, []string{"HOME=" + netrcHome(0o600, false)}, msg,
			outcome{code: exitUnavailable}, outcome{says: "will not heal", queued: 1}},
		{"-f '': the From field", m.cfg, []string{"-f", "", "bob@example.org"}, nil, msg,
			outcome{rcpt: "bob@example.org", has: []string{"From: \r\n"}}, outcome{rcpt: "bob@example.org", has: []string{"From: ann@example.com\r\n"}}},
		// "the fields tlsmail adds go after the message's own (msmtp puts
		// them first)".
		{"fields added to the header", rawCfg, []string{"bob@example.org"}, nil, msg,
			outcome{rcpt: "bob@example.org", prefix: "From: ann@example.com\r\n", has: []string{"\r\nSubject: s\r\n\r\nbody"}},
			outcome{rcpt: "bob@example.org", prefix: "Subject: s\r\n", has: []string{"\r\nFrom: ann@example.com\r\n"}}},
		// "some recipients refused, others accepted: the accepted ones get
		// the message; exit 65 as msmtp ... (unlike msmtp, which sends to
		// nobody)"; the refused address is kept in failed/.
		{"one recipient refused", m.cfg, []string{"ok@example.org", "reject@example.org"}, nil, msg,
			outcome{code: exitRejected, says: "reject@example.org"}, outcome{code: exitRejected, rcpt: "ok@example.org", says: "reject@example.org", queued: 1}},
		// "a file that is missing ... stops the send with exit 78, as a
		// missing tls_trust_file does (msmtp exits 66 for both)".
		{"missing tls_trust_file", m.configWith(t, "tls_trust_file "+filepath.Join(t.TempDir(), "nope.pem")+"\n"), []string{"bob@example.org"}, nil, msg,
			outcome{code: 66}, outcome{code: exitConfig, says: "nope.pem"}},
		// "When the failure will not heal by itself (the server refused
		// the login, its certificate is not trusted ...) ... The exit
		// status stays 0 all the same, deliberately unlike msmtp (77/69)":
		// the message waits in the outbox.
		{"refused login", file(0o600, "password wrong-password\n", ""), []string{"bob@example.org"}, nil, msg,
			outcome{code: exitNoPerm}, outcome{says: "will not heal", queued: 1}},
		{"untrusted certificate", untrusted, []string{"bob@example.org"}, nil, msg,
			outcome{code: exitUnavailable}, outcome{says: "will not heal", queued: 1}},
	}
	check := func(t *testing.T, who string, want outcome, got delivered) {
		t.Helper()
		if got.code != want.code {
			t.Errorf("%s: exit %d, the row expects %d: %s", who, got.code, want.code, got.stderr)
			return
		}
		if want.says != "" && !strings.Contains(got.stderr, want.says) {
			t.Errorf("%s: standard error does not say %q: %s", who, want.says, got.stderr)
		}
		if got.data == nil {
			if want.rcpt != "" {
				t.Errorf("%s: nothing delivered, the row expects delivery to %s: %s", who, want.rcpt, got.stderr)
			}
			return
		}
		if want.rcpt == "" {
			t.Errorf("%s: delivered to %s, the row expects nothing delivered", who, strings.Join(got.msg.To, ","))
			return
		}
		if !bytes.HasPrefix(got.data, []byte(want.prefix)) {
			t.Errorf("%s: the message does not begin with %q: %.200q", who, want.prefix, got.data)
		}
		if to := strings.Join(got.msg.To, ","); want.rcpt != "" && to != want.rcpt {
			t.Errorf("%s: delivered to %s, the row expects %s", who, to, want.rcpt)
		}
		if want.from != "" && got.msg.From != want.from {
			t.Errorf("%s: sent from %q, the row expects %q", who, got.msg.From, want.from)
		}
		if want.helo != "" && got.msg.Helo != want.helo {
			t.Errorf("%s: EHLO %q, the row expects %q", who, got.msg.Helo, want.helo)
		}
		for _, s := range want.has {
			if !bytes.Contains(got.data, []byte(s)) {
				t.Errorf("%s: the message lacks %.60q: %.300q", who, s, got.data)
			}
		}
		for _, s := range want.hasNo {
			if bytes.Contains(got.data, []byte(s)) {
				t.Errorf("%s: the message holds %q", who, s)
			}
		}
	}
	for _, tc := range tests {
		queue := filepath.Join(t.TempDir(), "queue")
		var sink mailSink = serverSink{m.srv}
		if rawCfgs[tc.cfg] {
			sink = rec
		}
		args := append([]string{"-C", tc.cfg}, tc.args...)
		env := append([]string{"TLSMAIL_QUEUE_DIR=" + queue}, tc.env...)
		ms := runOne(t, sink, proc{bin: msmtp, args: args, env: env, stdin: strings.NewReader(tc.stdin)}, tc.msmtp.rcpt != "")
		tm := runOne(t, sink, proc{args: append([]string{"sendmail"}, args...), env: m.env(env...), stdin: strings.NewReader(tc.stdin)}, tc.tlsmail.rcpt != "")
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			check(t, "msmtp", tc.msmtp, ms)
			check(t, "tlsmail", tc.tlsmail, tm)
			if n := queuedIn(t, queue); n != tc.tlsmail.queued {
				t.Errorf("tlsmail left %d items in its outbox, the row expects %d", n, tc.tlsmail.queued)
			}
		})
	}
}

// mailSink is where a row's programs deliver: the embedded server, or
// rawRecorder for what that server refuses to read.
type mailSink interface {
	count(t *testing.T) int
	// wait returns the n-th message (from 0), waiting for it to arrive.
	wait(t *testing.T, n int) server.Message
	data(t *testing.T, msg server.Message) []byte
}

type serverSink struct{ srv *server.Server }

func (s serverSink) count(t *testing.T) int { return storedCount(t, s.srv) }
func (s serverSink) wait(t *testing.T, n int) server.Message {
	return waitMessages(t, s.srv, n+1)[n]
}
func (s serverSink) data(t *testing.T, msg server.Message) []byte {
	d, err := msg.Data()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// runOne runs p and returns its exit code and, when it delivered, what
// the sink got. deliver says whether the row expects a message: only
// then does it wait for one (a queued message would never come).
func runOne(t *testing.T, sink mailSink, p proc, deliver bool) delivered {
	t.Helper()
	before := sink.count(t)
	r := p.run(t)
	d := delivered{code: r.code, stderr: r.stderr}
	if r.code == 0 && deliver {
		d.msg = sink.wait(t, before)
		d.data = sink.data(t, d.msg)
	} else if n := sink.count(t); n != before {
		d.msg = sink.wait(t, before)
		d.data = sink.data(t, d.msg)
	}
	return d
}

// rawRecorder is a plain-text SMTP peer on loopback that accepts any
// EHLO argument and DATA line of any length (the embedded server, like
// most, refuses a DATA line over 12288 octets and keeps the first word
// of EHLO), so that a row can show what msmtp puts on the wire. It
// reads at most 16 MiB of DATA per message.
type rawRecorder struct {
	addr string
	mu   sync.Mutex
	msgs []server.Message
	raw  [][]byte
	done chan struct{}
}

func startRawRecorder(t *testing.T) *rawRecorder {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &rawRecorder{addr: l.Addr().String(), done: make(chan struct{})}
	t.Cleanup(func() { l.Close(); <-r.done })
	go func() {
		defer close(r.done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			r.serve(c) // one client at a time: the rows run in turn
		}
	}()
	return r
}

func (r *rawRecorder) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	br := bufio.NewReaderSize(c, 64<<10)
	fmt.Fprint(c, "220 raw.test ESMTP\r\n")
	var msg server.Message
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			msg = server.Message{}
			msg.Helo = arg
			fmt.Fprint(c, "250 raw.test\r\n")
		case "MAIL":
			path, _, _ := strings.Cut(strings.TrimPrefix(arg, "FROM:"), " ")
			msg.From = strings.Trim(path, "<>")
			fmt.Fprint(c, "250 ok\r\n")
		case "RCPT":
			path, _, _ := strings.Cut(strings.TrimPrefix(arg, "TO:"), " ")
			msg.To = append(msg.To, strings.Trim(path, "<>"))
			fmt.Fprint(c, "250 ok\r\n")
		case "DATA":
			fmt.Fprint(c, "354 go on\r\n")
			var data []byte
			for {
				l, err := br.ReadSlice('\n')
				if err == bufio.ErrBufferFull {
					data = append(data, l...)
					continue
				}
				if err != nil || len(data) > 16<<20 {
					return
				}
				if string(l) == ".\r\n" && (len(data) == 0 || bytes.HasSuffix(data, []byte("\r\n"))) {
					break
				}
				data = append(data, bytes.TrimPrefix(l, []byte("."))...)
			}
			r.mu.Lock()
			r.msgs, r.raw = append(r.msgs, msg), append(r.raw, data)
			r.mu.Unlock()
			fmt.Fprint(c, "250 stored\r\n")
		case "QUIT":
			fmt.Fprint(c, "221 bye\r\n")
			return
		default:
			fmt.Fprint(c, "250 ok\r\n")
		}
	}
}

func (r *rawRecorder) count(t *testing.T) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// wait: the recorder stores a message before it answers 250, so a
// message a program reported sent is there.
func (r *rawRecorder) wait(t *testing.T, n int) server.Message {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if n >= len(r.msgs) {
		t.Fatalf("the raw recorder has %d messages, want %d", len(r.msgs), n+1)
	}
	m := r.msgs[n]
	m.Path = strconv.Itoa(n)
	return m
}

func (r *rawRecorder) data(t *testing.T, msg server.Message) []byte {
	n, _ := strconv.Atoi(msg.Path)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.raw[n]
}

// queuedIn counts the items, queued or failed, in the outbox dir.
func queuedIn(t *testing.T, dir string) int {
	t.Helper()
	r := proc{args: []string{"queue", "list", "--json"}, env: []string{"TLSMAIL_QUEUE_DIR=" + dir}}.run(t)
	if r.code != 0 {
		t.Fatalf("queue list: %s", r)
	}
	var q queueJSON
	if err := json.Unmarshal([]byte(r.stdout), &q); err != nil {
		t.Fatalf("queue list: %v: %s", err, r.stdout)
	}
	return len(q.Queued) + len(q.Failed)
}

// otherCAPEM is a CA certificate that did not sign the test server's.
func otherCAPEM(t *testing.T) string {
	t.Helper()
	p, err := testpki.NewPKI([]string{"localhost"}, testpki.LoopbackIPs())
	if err != nil {
		t.Fatal(err)
	}
	return string(testpki.CertsPEM(p.Root.Cert))
}
