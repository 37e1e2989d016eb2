package submit

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/internal/sysexits"
	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/message"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
)

// TestRunPassLog: a library user's RunPass with Log writes msmtp's log
// line for each item that leaves the outbox to the log its Account names,
// as `tlsmail queue run` does: a delivered item (250, its size, EX_OK)
// and one the server refuses for good (550, EX_DATAERR), over a real
// session with the embedded server. Without Log nothing is written.
func TestRunPassLog(t *testing.T) {
	t.Parallel()
	const reject = "reject@example.net"
	_, base := startServerWith(t, server.Config{
		RejectRecipient: func(to string) *server.Reply {
			if to == reject {
				return &server.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user here"}
			}
			return nil
		}})
	for _, log := range []bool{true, false} {
		t.Run("Log="+strconv.FormatBool(log), func(t *testing.T) {
			t.Parallel()
			dir := testdir.New(t)
			logfile := filepath.Join(dir, "msmtp.log")
			a := &Account{Host: base.Host, Port: base.Port, Mode: base.Mode, Trust: base.Trust, Timeout: base.Timeout,
				Log: Log{File: logfile}}
			q, err := outbox.Open(filepath.Join(dir, "q"), outbox.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, to := range []string{"bob@example.net", reject} {
				if _, err := Enqueue(context.Background(), q, a, outbox.Envelope{From: "ann@example.org", To: []string{to}},
					strings.NewReader("Subject: x\r\n\r\nx\r\n")); err != nil {
					t.Fatal(err)
				}
			}
			var logErrs []error
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // an upper bound against a hang
			defer cancel()
			if _, err := RunPass(ctx, q, PassConfig{Log: log, OnLogError: func(err error) { logErrs = append(logErrs, err) }}); err != nil {
				t.Fatal(err)
			}
			if len(logErrs) > 0 {
				t.Fatalf("log errors: %v", logErrs)
			}
			b, err := os.ReadFile(logfile)
			if !log {
				if err == nil {
					t.Errorf("without Log, the log was written:\n%s", b)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var delivered, failed string
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				switch {
				case strings.Contains(l, "recipients=bob@example.net "):
					delivered = l
				case strings.Contains(l, "recipients="+reject+" "):
					failed = l
				}
			}
			if !strings.Contains(delivered, "host=127.0.0.1 tls=on auth=off from=ann@example.org") ||
				!strings.Contains(delivered, "mailsize=") || !strings.Contains(delivered, "smtpstatus=250") ||
				!strings.Contains(delivered, "exitcode=EX_OK") {
				t.Errorf("no delivered line for bob (host, 250, size, EX_OK):\n%s", b)
			}
			if !strings.Contains(failed, "smtpstatus=550") || !strings.Contains(failed, "smtpmsg='550 5.1.1 no such user here'") ||
				!strings.Contains(failed, "exitcode=EX_DATAERR") {
				t.Errorf("no failed line for %s (550, EX_DATAERR):\n%s", reject, b)
			}
		})
	}
}

// TestLogEntry: the outcome's fields of msmtp's log line, for each way an
// item can leave the outbox (and a message sent without one).
func TestLogEntry(t *testing.T) {
	t.Parallel()
	a := &Account{Host: "mail.example.org", Mode: smtp.Implicit, Auth: Auth{User: "ann"}}
	env := outbox.Envelope{From: "ann@example.org", To: []string{"bob@example.net", "eve@example.net"}}
	ok := &smtp.Reply{Code: 250, Enhanced: "2.0.0", Lines: []string{"queued as 1"}}
	refused := []smtp.RecipientError{{Addr: "eve@example.net", Reply: smtp.Reply{Code: 450, Enhanced: "4.2.1", Lines: []string{"busy"}}}}
	rejected := &smtp.Error{Kind: smtp.KindRejected, Reply: &smtp.Reply{Code: 550, Enhanced: "5.1.1", Lines: []string{"no such", "user"}}}
	for _, tc := range []struct {
		name       string
		id         string
		failedAt   time.Time
		res        outbox.Result
		s          *Sent
		logged     bool
		status     int
		msg        string
		errMsg     string
		code       int
		size       int64
		wireStatus []string
	}{
		{name: "delivered", id: "i1", res: outbox.Result{Outcome: outbox.Delivered},
			s: &Sent{Result: &smtp.Result{Response: ok, Bytes: 42}}, logged: true, status: 250, size: 42,
			wireStatus: []string{"250 2.0.0 queued as 1"}},
		{name: "delivered, one deferred", id: "i1", res: outbox.Result{Outcome: outbox.Delivered},
			s: &Sent{Result: &smtp.Result{Response: ok, Bytes: 42, Rejected: refused}}, logged: true, status: 250, size: 42,
			errMsg: "eve@example.net deferred (450 4.2.1 busy); queued again for the outbox's next run"},
		{name: "sent without an outbox, one refused", res: outbox.Result{Outcome: outbox.Delivered},
			s: &Sent{Result: &smtp.Result{Response: ok, Bytes: 42, Rejected: refused}}, logged: true, status: 250, size: 42,
			errMsg: "eve@example.net refused (450 4.2.1 busy); not delivered to them"},
		{name: "refused", id: "i1", res: outbox.Result{Outcome: outbox.Permanent, Err: rejected}, logged: true,
			status: 550, errMsg: rejected.Error(), code: sysexits.DataErr, wireStatus: []string{"550-5.1.1 no such", "550 5.1.1 user"}},
		{name: "deferred again", id: "i1", res: outbox.Result{Outcome: outbox.Temporary, Err: errors.New("timeout")},
			errMsg: "timeout", code: sysexits.Software},
		{name: "expired", id: "i1", failedAt: time.Now(), res: outbox.Result{Outcome: outbox.Temporary, Err: errors.New("timeout")},
			logged: true, errMsg: "gave up", code: sysexits.Unavailable},
		{name: "corrupt", id: "i1", res: outbox.Result{Outcome: outbox.Corrupt, Err: &outbox.CorruptError{Msg: "bad"}},
			logged: true, errMsg: (&outbox.CorruptError{Msg: "bad"}).Error(), code: sysexits.Software},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it := &outbox.Item{ID: tc.id, Envelope: env, FailedAt: tc.failedAt, Reason: "gave up"}
			if got := Logged(it, tc.res); got != tc.logged {
				t.Errorf("Logged = %v, want %v", got, tc.logged)
			}
			en := LogEntry(a, it, tc.res, tc.s)
			if en.Host != a.Host || !en.TLS || !en.Auth || en.User != "ann" || en.From != env.From || len(en.Recipients) != 2 {
				t.Errorf("header: %+v", en)
			}
			if en.SMTPStatus != tc.status || en.ErrorMsg != tc.errMsg || en.ExitCode != tc.code || en.MailSize != tc.size {
				t.Errorf("status %d, error %q, code %d, size %d; want %d, %q, %d, %d",
					en.SMTPStatus, en.ErrorMsg, en.ExitCode, en.MailSize, tc.status, tc.errMsg, tc.code, tc.size)
			}
			if tc.wireStatus != nil && strings.Join(en.SMTPMsg, "|") != strings.Join(tc.wireStatus, "|") {
				t.Errorf("smtpmsg %q, want %q", en.SMTPMsg, tc.wireStatus)
			}
		})
	}
}

// TestExitCode: the sysexits(3) code of each kind of delivery failure, the
// one mapping the command line's exit status and the log line share.
func TestExitCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, sysexits.OK},
		{&smtp.Error{Kind: smtp.KindRejected, Reply: &smtp.Reply{Code: 550}}, sysexits.DataErr},
		{&smtp.Error{Kind: smtp.KindRejected, Reply: &smtp.Reply{Code: 451}}, sysexits.TempFail},
		{&smtp.Error{Kind: smtp.KindAuth, Reply: &smtp.Reply{Code: 535}}, sysexits.NoPerm},
		{&smtp.Error{Kind: smtp.KindAuth, Reply: &smtp.Reply{Code: 454}}, sysexits.TempFail},
		{&smtp.Error{Kind: smtp.KindProtocol}, sysexits.Protocol},
		{&smtp.Error{Kind: smtp.KindStartTLSInjection}, sysexits.Protocol},
		{&smtp.Error{Kind: smtp.KindTimeout}, sysexits.TempFail},
		{&smtp.Error{Kind: smtp.KindUnavailable, Reply: &smtp.Reply{Code: 554}}, sysexits.Unavailable},
		{&smtp.Error{Kind: smtp.KindConfig}, sysexits.Config},
		{&smtp.Error{Kind: smtp.KindUsage}, sysexits.Usage},
		{&trust.Error{}, sysexits.TempFail},
		{&config.Error{Msg: "bad"}, sysexits.Config},
		{&Error{Field: "host", Msg: "no host"}, sysexits.Config},
		{&message.InputError{Field: "from", Problem: "not an address"}, sysexits.Usage}, // the CLI's code too
		{errors.New("unclassified"), sysexits.Software},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%#v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// TestLogAccounts: the pass's memo of the last item's account gives each
// item the account of its own settings, however they alternate, none for
// settings without a log or that do not decode, and does not keep the
// caller's buffer (which a store may reuse).
func TestLogAccounts(t *testing.T) {
	enc := func(a *Account) []byte {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ann := enc(&Account{Host: "a.example.org", Port: 465, Auth: Auth{User: "ann"}, Log: Log{File: "/var/log/ann.log"}})
	bob := enc(&Account{Host: "b.example.org", Port: 465, Auth: Auth{User: "bob"}, Log: Log{File: "/var/log/bob.log"}}) // as long as ann's
	quiet := enc(&Account{Host: "c.example.org", Port: 465})
	var l logAccounts
	buf := make([]byte, 0, 4096)
	for i, c := range []struct {
		data []byte
		user string // "" for none
	}{{ann, "ann"}, {ann, "ann"}, {bob, "bob"}, {ann, "ann"}, {quiet, ""}, {bob, "bob"}, {[]byte("{"), ""}, {nil, ""}, {bob, "bob"}} {
		buf = append(buf[:0], c.data...) // a store may reuse its buffer
		a := l.account(buf)
		switch {
		case c.user == "" && a != nil:
			t.Errorf("item %d: account %+v, want none", i, a)
		case c.user != "" && (a == nil || a.Auth.User != c.user):
			t.Errorf("item %d: account %+v, want %s's", i, a, c.user)
		}
	}
}
