package submit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tlsmail/tlsmail/internal/sysexits"
	"github.com/tlsmail/tlsmail/maillog"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/smtp"
)

// RefusedReply is how a log line or a message names the reply a recipient
// was refused or deferred with: the server's reply ("450 4.2.0 busy"), or,
// code 0, the failure of a further transaction that got no reply ("no
// reply: ...").
func RefusedReply(r smtp.Reply) string {
	if r.Code == 0 {
		return "no reply: " + r.Text()
	}
	return r.String()
}

// Logged reports whether an item's outcome gets msmtp's log line when it
// leaves the outbox: delivered, refused for good, corrupt, or expired (a
// temporary failure after which the outbox moved it to the failed items).
// An item deferred again gets none: the run that queued it wrote one, and
// a line per retry would say nothing new.
func Logged(it *outbox.Item, res outbox.Result) bool {
	switch res.Outcome {
	case outbox.Delivered, outbox.Permanent, outbox.Corrupt:
		return true
	case outbox.Temporary:
		return !it.FailedAt.IsZero()
	}
	return false
}

// LogEntry is msmtp's log line for item it of account a after res (s: what
// its delivery learnt, nil when no session reached the point of sending
// it): the account's host, TLS and user, the item's envelope, the size
// sent, the server's last reply as sent, and the outcome's error and
// sysexits(3) code (ExitCode). A delivery some recipients refused names
// them: queued again (it.ID set: the Deliverer's Requeue retries them) or,
// for a message sent without an outbox (it.ID ""), not delivered to them.
// An expired item (Temporary, it.FailedAt set) is logged as failed for
// good: its reason, EX_UNAVAILABLE. A Temporary res otherwise gives the
// failure as it stands (the caller says what becomes of the message). No
// field can hold the password: it is not among them, and error messages
// and server replies never carry it.
func LogEntry(a *Account, it *outbox.Item, res outbox.Result, s *Sent) maillog.Entry {
	en := maillog.Entry{
		Host:       a.Host,
		TLS:        a.Mode != smtp.None,
		Auth:       a.Auth.User != "",
		User:       a.Auth.User,
		From:       it.Envelope.From,
		Recipients: it.Envelope.To,
	}
	var reply *smtp.Reply
	if s != nil && s.Result != nil {
		reply = s.Result.Response
		if res.Outcome == outbox.Delivered {
			en.MailSize = s.Result.Bytes
		}
	}
	switch res.Outcome {
	case outbox.Delivered:
		if s == nil || s.Result == nil || len(s.Result.Rejected) == 0 {
			break
		}
		var b []string
		if it.ID == "" {
			// Sent without an outbox: the refused recipients were not
			// queued again; nothing retries them.
			for _, r := range s.Result.Rejected {
				b = append(b, r.Addr+" refused ("+RefusedReply(r.Reply)+")")
			}
			en.ErrorMsg = strings.Join(b, "; ") + "; not delivered to them"
			break
		}
		for _, r := range s.Result.Rejected {
			b = append(b, r.Addr+" deferred ("+RefusedReply(r.Reply)+")")
		}
		en.ErrorMsg = strings.Join(b, "; ") + "; queued again for the outbox's next run"
	case outbox.Permanent, outbox.Temporary, outbox.Corrupt:
		reply = nil
		var se *smtp.Error
		if res.Err != nil {
			en.ErrorMsg, en.ExitCode = errorText(res.Err), ExitCode(res.Err)
			if errors.As(res.Err, &se) {
				reply = se.Reply
			}
		}
		if res.Outcome == outbox.Temporary && !it.FailedAt.IsZero() {
			// Failed for good although the last attempt's failure was
			// temporary: the reason says so.
			en.ErrorMsg, en.ExitCode = it.Reason, sysexits.Unavailable
		}
	}
	if reply != nil {
		en.SMTPStatus = reply.Code
		en.SMTPMsg = reply.WireLines()
	}
	return en
}

// LogItem writes msmtp's log line (LogEntry) for an item that left the
// outbox (Logged) to the log its Account names (Account.Log), as
// PassConfig.Log does: an item queued before its log was kept, or from an
// account without a log, gets none. A shared queue's item may choose its
// log only as ItemLog allows; one that may not gets no line and an error
// naming it. "-" (the standard output of the run that queued it, which is
// gone) writes nothing. A cancelled ctx (a run being stopped) does not
// stop the line: the outcome has happened. A nil c is a zero Connector.
func (c *Connector) LogItem(ctx context.Context, it *outbox.Item, res outbox.Result, s *Sent) error {
	if !Logged(it, res) {
		return nil
	}
	return c.logItem(ctx, logAccount(it.Data()), it, res, s)
}

// logAccount is the account of an item's settings when it names a log,
// else nil (settings that do not decode name none).
func logAccount(data []byte) *Account {
	var a Account
	if json.Unmarshal(data, &a) != nil || a.Log.IsZero() {
		return nil
	}
	return &a
}

// logAccounts remembers the account of the settings last logged
// (logAccount), for the items of a pass: the items of a batch carry the
// same settings, and decoding them for each item's line cost a run of
// 5,000 messages about 5% of its CPU. Safe for concurrent use; the
// Account it returns is shared and only read.
type logAccounts struct {
	mu   sync.Mutex
	data []byte
	a    *Account
}

func (l *logAccounts) account(data []byte) *Account {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.data == nil || !bytes.Equal(l.data, data) {
		l.data, l.a = bytes.Clone(data), logAccount(data)
	}
	return l.a
}

// logItem is LogItem for an item whose account (logAccount) is a; nil
// writes nothing.
func (c *Connector) logItem(ctx context.Context, a *Account, it *outbox.Item, res outbox.Result, s *Sent) error {
	if a == nil {
		return nil
	}
	if c == nil {
		c = &Connector{}
	}
	// The outcome has happened: a run being stopped (ctx cancelled) still
	// writes its line; the minute bounds reading the account's file.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	l, err := c.ItemLog(ctx, a)
	cancel()
	if err != nil {
		return fmt.Errorf("%s: %w", it.ID, err)
	}
	lc := maillog.Config{File: l.File, TimeFormat: l.TimeFormat, Syslog: l.Syslog}
	return lc.Write(LogEntry(a, it, res, s), time.Now())
}
