package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/internal/safetext"
	"github.com/tlsmail/tlsmail/maillog"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
)

// logFlags are the command line's log settings; nil is "not given".
type logFlags struct {
	file, timeFormat, syslog *string
}

// checkSyslog refuses syslog where there is none (Windows), before
// anything is queued: accepting it would lose the log silently.
func checkSyslog(goos, v, where string) error {
	if goos != "windows" || v == "" || v == "off" {
		return nil
	}
	return configErrorf("%s: syslog is not available on Windows", where).
		withFix("write the log to a file with logfile FILE (or --logfile FILE), and remove syslog")
}

// logConfig is the log of this run: the account's logfile,
// logfile_time_format and syslog, with sendmail's -X, --logfile,
// --logfile-time-format and --syslog (o.log) over them.
func (o *sendOptions) logConfig() maillog.Config {
	c := maillog.Config{File: o.cfg.logFile, TimeFormat: o.cfg.logTimeFormat, Syslog: o.cfg.syslog}
	if o.log.file != nil {
		c.File = *o.log.file
	}
	if o.log.timeFormat != nil {
		c.TimeFormat = *o.log.timeFormat
	}
	if o.log.syslog != nil {
		c.Syslog = *o.log.syslog
	}
	return c
}

// sendmailLog writes msmtp's log line for one sendmail run (or one
// `send`), when the account or the command line asks for a log (logfile,
// syslog, -X: logConfig). err is queuedSend's error: a run that
// failed before the configuration was read has no log to write to. A log
// that cannot be written is a warning: the message has been dealt with
// either way. "logfile -" writes to stdout.
func sendmailLog(e *env, stdout io.Writer, o *sendOptions, qr *queued, err error) {
	c := o.logConfig()
	c.Stdout = stdout
	if !c.Enabled() || (o.cfg.account == "" && o.server == "" && o.file == nil) {
		return
	}
	entry := maillogEntry(o, qr, err)
	if werr := c.Write(entry, time.Now()); werr != nil {
		fmt.Fprintf(e.stderr, "tlsmail: warning: %v\n", werr)
	}
}

// maillogEntry fills msmtp's log fields from what the run knows. No field
// can hold the password: it is not among them, and error messages and
// server replies never carry it.
func maillogEntry(o *sendOptions, qr *queued, err error) maillog.Entry {
	host, mode, user := o.server, o.tlsMode, o.user
	if h, _, serr := net.SplitHostPort(o.server); serr == nil {
		host = h
	}
	if f := o.file; f != nil {
		// The configuration account's, unless the command line's.
		if host == "" {
			host = f.Host
		}
		if mode == "" {
			mode = string(f.Mode)
		}
		if user == "" {
			user = f.Auth.User
		}
	}
	en := maillog.Entry{
		Host: host,
		TLS:  mode != "none",
		Auth: user != "",
		User: user,
		From: o.from,
	}
	if o.nullSender {
		en.From = "" // MAIL FROM:<>
	}
	if qr == nil {
		// Refused before anything was queued (a usage or configuration
		// error found after the account was chosen).
		en.Recipients = o.to
		if err != nil {
			c := classify(err)
			en.ErrorMsg, en.ExitCode = c.message, c.code
		}
		return en
	}
	en.From, en.Recipients = qr.env.From, qr.env.To
	var reply *smtp.Reply
	if qr.out != nil && qr.out.Result != nil {
		reply = qr.out.Result.Response
		if qr.res.Outcome == outbox.Delivered {
			en.MailSize = qr.out.Result.Bytes
		}
	}
	switch qr.res.Outcome {
	case outbox.Delivered:
		if qr.out != nil && qr.out.Result != nil && len(qr.out.Result.Rejected) > 0 {
			var b []string
			if qr.id == "" {
				// Sent without an outbox (a direct send): the refused
				// recipients were not queued again; nothing retries them.
				for _, r := range qr.out.Result.Rejected {
					b = append(b, r.Addr+" refused ("+deferredReply(r.Reply)+")")
				}
				en.ErrorMsg = strings.Join(b, "; ") + "; not delivered to them"
				break
			}
			// Delivered to the others; these were queued again.
			for _, r := range qr.out.Result.Rejected {
				b = append(b, r.Addr+" deferred ("+deferredReply(r.Reply)+")")
			}
			en.ErrorMsg = strings.Join(b, "; ") + "; queued again, tlsmail queue run retries"
		}
	case outbox.Permanent, outbox.Temporary, outbox.Corrupt:
		c := classify(qr.res.Err)
		en.ErrorMsg, en.ExitCode = c.message, c.code
		if qr.res.Outcome == outbox.Temporary {
			// tlsmail keeps the message (msmtp would have lost it).
			if what, ok := submit.ConfigFix(qr.res.Err); ok {
				en.ErrorMsg += " (kept in the outbox as " + qr.id + "; this will not heal by itself: " + what + ", then run tlsmail queue flush)"
			} else {
				en.ErrorMsg += " (kept in the outbox as " + qr.id + "; tlsmail queue run retries it)"
			}
		}
		var se *smtp.Error
		reply = nil
		if errors.As(qr.res.Err, &se) {
			reply = se.Reply
		}
	default:
		if qr.deferred {
			en.ErrorMsg = "queued as " + qr.id + " (-odq); tlsmail queue run delivers it"
		} else {
			en.ErrorMsg = "queued as " + qr.id + " and not delivered by this command; tlsmail queue run delivers it"
		}
		en.ExitCode = exitTempFail
	}
	if qr.direct {
		// Sent at once for want of an outbox: the log says so, as
		// stderr does (a daemon's stderr is often lost).
		if qr.res.Outcome == outbox.Delivered {
			en.ErrorMsg = strings.TrimPrefix(en.ErrorMsg+"; ", "; ") + "sent directly, no outbox (" + qr.directWhy + ")"
		} else {
			en.ErrorMsg += " (not kept: no outbox, " + qr.directWhy + ")"
		}
	}
	if reply != nil {
		en.SMTPStatus = reply.Code
		en.SMTPMsg = replyLines(reply)
	}
	return en
}

// replyLines renders a reply as the server sent it: "250-first",
// "250 2.0.0 last".
func replyLines(r *smtp.Reply) []string {
	lines := r.Lines
	if len(lines) == 0 {
		lines = []string{""}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		s := strconv.Itoa(r.Code) + sep
		if r.Enhanced != "" {
			s += r.Enhanced + " "
		}
		out[i] = s + l
	}
	return out
}

// sendLog is sendmailLog for `tlsmail send` (an account's logfile and
// syslog, as msmtp writes them for every message): out and err are a
// direct send's (qr nil) or qr a queued one's. With --json, "logfile -"
// goes to standard error, so that standard output stays one JSON object.
func sendLog(e *env, o *sendOptions, qr *queued, out *submit.Sent, sent smtp.Envelope, err error) {
	if qr == nil && out != nil && out.Addr != "" {
		// A direct send that reached the connection: what it sent, and
		// how it ended (a failure is not kept: no outbox).
		qr = &queued{res: outbox.Result{Outcome: outbox.Delivered}, out: out,
			env: outbox.Envelope{From: sent.From, To: sent.To}}
		if err != nil {
			qr.res = outbox.Result{Outcome: outbox.Permanent, Err: err}
		}
	}
	stdout := e.stdout
	if o.json {
		stdout = e.stderr
	}
	sendmailLog(e, stdout, o, qr, err)
}

// queuedLog writes msmtp's log line for an item that left the outbox
// after the run that queued it: delivered, or failed for good (refused,
// or expired: moved to failed/) by queue run and flush, sendmail -q, the
// worker (queue run --watch) or the backlog a later send delivers. The
// line goes to the log of the account the item was queued from (its
// settings' Log, which accountFor keeps), in the format of the direct
// send's line (maillogEntry), its exitcode the one the command line exits
// with for that outcome (classify). A deferred item gets no line: the run
// that queued it wrote one, and a line per retry would say nothing new.
// An item queued before its log was kept, or from an account without a
// log, gets none. A log that cannot be written is a warning. c (nil: the
// item is trusted) decides whether an item of a shared queue may choose
// its log (submit.Connector.ItemLog): one that may not gets no line and a
// warning.
func queuedLog(e *env, c *submit.Connector, it *outbox.Item, res outbox.Result, s *submit.Sent) {
	expired := res.Outcome == outbox.Temporary && !it.FailedAt.IsZero()
	if res.Outcome != outbox.Delivered && res.Outcome != outbox.Permanent && res.Outcome != outbox.Corrupt && !expired {
		return
	}
	var a submit.Account
	if json.Unmarshal(it.Data(), &a) != nil || a.Log.IsZero() {
		return
	}
	if c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		l, err := c.ItemLog(ctx, &a)
		cancel()
		if err != nil {
			// The id and the log settings named are the row's: quoted,
			// as queue run and queue list print its errors.
			fmt.Fprintf(e.stderr, "tlsmail: warning: %s: %s\n", safetext.Quote(it.ID), safetext.Quote(err.Error()))
			return
		}
		a.Log = l
	}
	// "-" was the standard output of the run that queued it, which is
	// gone (accountFor keeps none).
	lc := maillog.Config{File: a.Log.File, TimeFormat: a.Log.TimeFormat, Syslog: a.Log.Syslog}
	qr := &queued{id: it.ID, res: res, env: outbox.Envelope{From: it.Envelope.From, To: it.Envelope.To}, out: s}
	if expired {
		qr.res.Outcome = outbox.Permanent
	}
	en := maillogEntry(&sendOptions{file: &a}, qr, nil)
	if expired {
		// Failed for good although the last attempt's failure was
		// temporary: the reason says so, and the code is queue run's for
		// a message failed for good.
		en.ErrorMsg, en.ExitCode = it.Reason, exitUnavailable
	}
	if werr := lc.Write(en, time.Now()); werr != nil {
		fmt.Fprintf(e.stderr, "tlsmail: warning: %v\n", werr)
	}
}
