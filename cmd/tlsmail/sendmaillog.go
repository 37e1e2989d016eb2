package main

import (
	"context"
	"fmt"
	"io"
	"net"
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
	// The outcome's fields are the library's (submit.LogEntry), as for an
	// item a later run delivers; what this run did with the message
	// (kept, queued only, sent without an outbox) is added here.
	a := submit.Account{Host: host, Mode: smtp.TLSMode(mode), Auth: submit.Auth{User: user}}
	it := &outbox.Item{ID: qr.id, Envelope: qr.env}
	out := submit.LogEntry(&a, it, qr.res, qr.out)
	en.From, en.Recipients = out.From, out.Recipients
	en.MailSize, en.SMTPStatus, en.SMTPMsg = out.MailSize, out.SMTPStatus, out.SMTPMsg
	en.ErrorMsg, en.ExitCode = out.ErrorMsg, out.ExitCode
	switch qr.res.Outcome {
	case outbox.Delivered, outbox.Permanent, outbox.Corrupt:
	case outbox.Temporary:
		// tlsmail keeps the message (msmtp would have lost it).
		if what, ok := submit.ConfigFix(qr.res.Err); ok {
			en.ErrorMsg += " (kept in the outbox as " + qr.id + "; this will not heal by itself: " + what + ", then run tlsmail queue flush)"
		} else {
			en.ErrorMsg += " (kept in the outbox as " + qr.id + "; tlsmail queue run retries it)"
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
	return en
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
// after the run that queued it (submit.Connector.LogItem): delivered, or
// failed for good, by the backlog a later send delivers (queue run and
// flush, sendmail -q and the worker have RunPass write it: PassConfig.Log).
// c (nil: the item is trusted) decides whether an item of a shared queue
// may choose its log. A line that cannot be written is a warning.
func queuedLog(e *env, c *submit.Connector, it *outbox.Item, res outbox.Result, s *submit.Sent) {
	if err := c.LogItem(context.Background(), it, res, s); err != nil {
		logWarning(e, err)
	}
}

// logWarning reports a log line that could not be written: the message
// has been dealt with either way.
func logWarning(e *env, err error) {
	// Quoted: a shared queue's item chose its id and log settings, which
	// the error may name (as queue run and queue list print its errors).
	fmt.Fprintf(e.stderr, "tlsmail: warning: %s\n", safetext.Quote(err.Error()))
}
