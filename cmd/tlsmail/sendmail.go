package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/internal/safetext"
	"github.com/tlsmail/tlsmail/message"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/anystore"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
)

const sendmailLong = `Read a message on standard input and deliver it, as sendmail does: a drop-in
for programs that pipe mail into "sendmail -t -i" (PHP's mail(), cron, git
send-email, mutt, CGI scripts). The same happens when the binary is called
"sendmail" (a symbolic link); called "mailq" it lists the outbox.

The message is first written to the outbox (fsynced) before any connection
is made, then delivered at once:
  - delivered: exit 0, nothing printed;
  - temporary failure (4xx, network, timeout, TLS, certificate, login,
    a garbled reply or STARTTLS injection):
    exit 0 with one line on standard error; the message is safe in the
    outbox and 'tlsmail queue run' retries it (run it from cron or keep
    'tlsmail queue run --watch' running);
  - permanent failure (5xx): the sysexits code (65 rejected, 69 unavailable)
    and the message moves to the outbox's failed/ folder;
  - some recipients refused (the others got it): exit 65, each refused
    address and the reply on standard error, the message kept in failed/
    (recipients refused with 452 "too many" get it in further transactions).
A failure that will not heal by itself (a refused login, an untrusted
certificate) is said so, with what to fix; once it is fixed, 'tlsmail queue
flush' retries at once ('queue run' waits for the next attempt time). After a delivery, the outbox's
other messages of the same account are delivered too (at most 20, 10s).
Usage and configuration errors (64, 78) are found before anything is queued.
When the outbox directory cannot be created (a HOME the user cannot write),
the message is sent directly, with a warning; a failure is then the exit
status, and nothing is kept.

The server and account come from msmtp's configuration files, read as
msmtp reads them: the system file (/etc/msmtprc, or $TLSMAIL_SYSTEM_CONFIG)
and the user file (-C FILE, else $TLSMAIL_CONFIG, ~/.msmtprc,
$XDG_CONFIG_HOME/msmtp/config, then tlsmail's $XDG_CONFIG_HOME/tlsmail/config),
whose accounts replace the system file's of the same name. The account is
the one named with -a, else the one whose "from" matches -f, else
"default", else (no default anywhere) SMTPSERVER and EMAIL from the
environment (port 25, no TLS, as msmtp). -v names the file used.
The outbox is --queue-dir DIR, $TLSMAIL_QUEUE_DIR, the account's queue_dir,
else $XDG_STATE_HOME/tlsmail/queue.

Local recipients (names without '@', such as cron's "root", in the
arguments or with -t in To/Cc/Bcc) are replaced in the envelope through
the account's aliases file ("aliases FILE": "root: admin@example.com",
"default: ..." for every other name), as msmtp does; a name the file does
not match, or any name when there is no aliases file, goes to the server
as it is. The To and Cc fields are not changed.

Options (sendmail syntax: -faddr and -f addr, clustered -ti):
  -t            take recipients from To, Cc and Bcc (or the newest Resent-
                block) and add them to the arguments; Bcc fields are removed
  -i, -oi       accepted: a line with only "." is always data, as in msmtp
                (the message runs to the end of the input)
  -f ADDR, -r ADDR  envelope sender (and From when the message has none)
  -F NAME       display name for a From field the message lacks
  -C FILE       configuration file (msmtp's --file)
  -a ACCOUNT    account of the configuration file (msmtp's --account)
  -odq, -odd    only queue the message; 'tlsmail queue run' delivers it
  -v            show the SMTP session on standard error
  -bm           deliver (the default); -bp list the outbox (mailq); -q run
                the outbox now
  --queue-dir DIR   the outbox directory
  -P, --pretend print the account that would be used and send nothing
  -d, --debug   as -v
  --read-envelope-from  the sender (and the account) from the From field
msmtp's account options change the chosen account as the configuration
command of the same name would: --host (then no file is read; not with -a)
--port --timeout --domain --auth[=M] --user --passwordeval --tls[=on|off]
--tls-starttls[=] --tls-trust-file --tls-cert-file --tls-key-file
--tls-certcheck[=] --tls-host-override --tls-fingerprint --tls-crl-file
--tls-priorities --tls-min-dh-prime-bits --source-ip --proxy-host
--proxy-port --socket --protocol --aliases
--set-from-header[=] --set-date-header[=] --set-msgid-header[=]
--remove-bcc-headers[=] --undisclosed-recipients[=] --auto-from[=]
--keepbcc[=] --add-missing-from-header[=] --add-missing-date-header[=]
--connect-timeout
--maildomain (what tlsmail refuses in a file it refuses here too).
Refused: -S/--serverinfo (use 'tlsmail probe'), --rmqs, --configure.
  -X FILE, --logfile=FILE   msmtp's log (one line per message; - is
                standard output), as the account's logfile command
  --logfile-time-format=FMT  its time stamp (strftime), as logfile_time_format
  --syslog[=on|off|FACILITY] the same line to syslog, as the syslog command
  -N NOTIFY, --dsn-notify=NOTIFY  delivery status notifications (RFC 3461)
                as the account's dsn_notify: off, never, or failure, delay,
                success joined by commas; the server must offer DSN (else
                exit 69, as msmtp)
  -R RET, --dsn-return=RET  what a notification returns, as dsn_return:
                off, full, or hdrs (headers)
Accepted and ignored: -odi -odb -oem -oee -oep -oeq -oew -om -o7 -o8 and any
other -oX, -B TYPE, -V ENVID, -h HOPS, -L LABEL, -p PROTO, -O OPT=VAL,
-Am -Ac, -G -U -n -m, -e X.
Refused: -bs (SMTP on standard input/output: use 'tlsmail serve' for an SMTP
listener, or pipe the message in), -bd -bD -bh -bH -bi -bt -bv -bP -I.
Date, Message-ID and From are added when missing; the account's
allow_from_override, set_from_header, set_date_header, set_msgid_header,
remove_bcc_headers and undisclosed_recipients change that as in msmtp, and
%U %H %C %M are expanded in its from and domain.`

// sendmailArgs are the options of a sendmail command line.
type sendmailArgs struct {
	mode       byte // 'm' deliver (default), 'p' list the outbox, 'q' run it
	extract    bool // -t
	ignoreDots bool // -i, -oi: recorded; the input always runs to its end (msmtp)
	from       string
	// nullSender: -f '' or --from= (an empty sender given, not none):
	// MAIL FROM:<>, as msmtp sends it (bounces and notifications, RFC 5321
	// section 4.5.5), unless the account's allow_from_override is off.
	nullSender bool
	fullName   string
	config     string
	account    string
	queueDir   string
	queueURL   string
	deferOnly  bool  // -odq, -odd
	maxSize    int64 // -O MaxMessageSize=N: the outbox's limit (0: default)
	verbose    bool
	help       bool
	version    bool
	rcpts      []string
	// log overrides the account's logfile, logfile_time_format and
	// syslog (-X, --logfile, --logfile-time-format, --syslog); nil
	// fields were not given.
	log logFlags
	// overrides are msmtp's account options (--port=2525 ...), as
	// configuration commands, in command-line order; host is --host,
	// which also means "read no configuration file" (msmtp).
	overrides        [][2]string
	host             bool
	readEnvelopeFrom bool // --read-envelope-from
	pretend          bool // -P, --pretend
}

// parseSendmailArgs reads a sendmail command line (without the program
// name) as sendmail's getopt does: options may be clustered (-ti), an
// option's argument may be attached (-faddr) or the next word (-f addr),
// and -- ends the options. Options may also follow recipients. The
// long options are msmtp's for the same settings, plus --queue-dir.
func parseSendmailArgs(args []string) (*sendmailArgs, error) {
	sa := &sendmailArgs{mode: 'm'}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			sa.rcpts = append(sa.rcpts, args[i+1:]...)
			break
		}
		if long, ok := strings.CutPrefix(a, "--"); ok {
			name, val, hasVal := strings.Cut(long, "=")
			value := func() (string, error) {
				if hasVal {
					return val, nil
				}
				if i+1 >= len(args) {
					return "", usageErrorf("--%s needs an argument", name).withFix("see 'tlsmail sendmail --help'")
				}
				i++
				return args[i], nil
			}
			var err error
			switch name {
			case "help":
				sa.help = true
			case "version":
				sa.version = true
			case "read-recipients":
				sa.extract = true
			case "queue-dir":
				sa.queueDir, err = value()
			case "queue-url":
				sa.queueURL, err = value()
			case "file":
				sa.config, err = value()
			case "account":
				sa.account, err = value()
			case "from":
				sa.from, err = value()
				sa.nullSender = sa.from == ""
			case "logfile":
				sa.log.file, err = optValue(value)
			case "logfile-time-format":
				sa.log.timeFormat, err = optValue(value)
			case "syslog":
				// --syslog[=(on|off|FACILITY)]: the value only when attached.
				v := "on"
				if hasVal {
					v = val
				}
				sa.log.syslog = &v
			case "read-envelope-from":
				sa.readEnvelopeFrom = true
			case "pretend":
				sa.pretend = true
			case "debug":
				sa.verbose = true
			case "serverinfo":
				return nil, usageErrorf("--serverinfo is not supported in sendmail mode").
					withFix("run 'tlsmail probe HOST:PORT' to see what the server offers")
			case "rmqs":
				return nil, usageErrorf("--rmqs (ETRN, RFC 1985) is not supported: tlsmail asks no server to run its queue").
					withFix("run 'tlsmail queue run' to deliver tlsmail's own outbox")
			case "configure":
				return nil, usageErrorf("--configure is not supported: tlsmail does not look up providers' settings").
					withFix("write the account (host, port, tls, auth, user, passwordeval, from) to ~/.msmtprc by hand")
			default:
				key, optional, ok := msmtpAccountOption(name)
				if !ok {
					return nil, usageErrorf("unknown option --%s", name).withFix("see 'tlsmail sendmail --help'")
				}
				var v string
				if optional {
					v = val // --tls, --auth: on unless a value is attached
					if err = headerOption(name, val, hasVal); err != nil {
						return nil, err
					}
				} else if v, err = value(); err != nil {
					return nil, err
				}
				if key == "host" {
					sa.host = true
				}
				if key == "dsn_notify" || key == "dsn_return" {
					if v, err = dsnOption("--"+name, v); err != nil {
						return nil, err
					}
				}
				// A value the setting does not take (--port=abc) is a
				// usage error, as msmtp says it, before any file is read;
				// settings tlsmail refuses are found with the account.
				var ce *config.Error
				if err := config.NewAccount("cmdline").Override(key, v, ""); errors.Is(err, config.ErrInvalidArgument) && errors.As(err, &ce) {
					return nil, usageErrorf("invalid argument %s for --%s", v, name).withFix(ce.Fix).wrapping(err)
				}
				sa.overrides = append(sa.overrides, [2]string{key, v})
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		if a == "-" || !strings.HasPrefix(a, "-") {
			sa.rcpts = append(sa.rcpts, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			rest := a[j+1:]
			// arg returns the option's argument: the rest of this word, or
			// the next word.
			arg := func() (string, error) {
				j = len(a)
				if rest != "" {
					return rest, nil
				}
				if i+1 >= len(args) {
					return "", usageErrorf("option -%c needs an argument", c).withFix("see 'tlsmail sendmail --help'")
				}
				i++
				return args[i], nil
			}
			var err error
			switch c {
			case 't':
				sa.extract = true
			case 'i':
				sa.ignoreDots = true
			case 'v':
				sa.verbose = true
			case 'd':
				// msmtp's -d (--debug) is -v; sendmail's -dX.Y debug
				// flags are ignored with their letters, as before.
				sa.verbose = true
				j = len(a)
			case 'P':
				sa.pretend = true
			case 'm', 'n', 'G', 'U':
				// me too, no aliases, gateway submission, initial
				// submission: nothing to do for a relay client.
			case 'f', 'r':
				sa.from, err = arg()
				sa.nullSender = sa.from == ""
			case 'F':
				sa.fullName, err = arg()
			case 'C':
				sa.config, err = arg()
			case 'a':
				sa.account, err = arg()
			case 'X':
				// msmtp's -X FILE is --logfile FILE.
				sa.log.file, err = optValue(arg)
			case 'O':
				// -O option=value: Sendmail's MaxMessageSize bounds what
				// is written to the outbox; the others are ignored.
				var opt string
				if opt, err = arg(); err == nil {
					if k, v, ok := strings.Cut(opt, "="); ok && strings.EqualFold(k, "MaxMessageSize") {
						if sa.maxSize, err = strconv.ParseInt(v, 10, 64); err != nil {
							err = usageErrorf("-O MaxMessageSize=%s is not a number of bytes", v).withFix("write it as -O MaxMessageSize=67108864 (0 for the default of 64 MiB, -1 for no limit)")
						}
					}
				}
			case 'N', 'R':
				// msmtp's -N (--dsn-notify) and -R (--dsn-return): the
				// account's dsn_notify and dsn_return (RFC 3461).
				var v string
				if v, err = arg(); err == nil {
					key := map[byte]string{'N': "dsn_notify", 'R': "dsn_return"}[c]
					if v, err = dsnOption("-"+string(c), v); err == nil {
						sa.overrides = append(sa.overrides, [2]string{key, v})
					}
				}
			case 'B', 'V', 'h', 'L', 'p':
				// body type, envelope id, hop count, log label,
				// protocol: ignored.
				_, err = arg()
			case 'A', 'e':
				j = len(a) // -Am/-Ac, -eX: ignored with their letters
			case 'o':
				var opt string
				if opt, err = arg(); err == nil {
					switch {
					case opt == "i" || opt == "itrue" || opt == "i=true":
						sa.ignoreDots = true
					case opt == "dq" || opt == "dd":
						sa.deferOnly = true
					}
					// -odi -odb -oem -oee -om -o7 -o8 ...: ignored.
				}
			case 'b':
				var mode string
				if mode, err = arg(); err == nil {
					switch mode {
					case "m":
						sa.mode = 'm'
					case "p":
						sa.mode = 'p'
					case "s":
						return nil, usageErrorf("-bs (an SMTP session on standard input and output) is not supported").
							withFix("pipe the message in ('sendmail -t -i < message'), or run 'tlsmail serve' for an SMTP listener")
					default:
						return nil, usageErrorf("-b%s is not supported: tlsmail relays mail, it is not a mail server", mode).
							withFix("use -bm (deliver, the default) or -bp (list the outbox)")
					}
				}
			case 'q':
				sa.mode = 'q'
				j = len(a) // -q30m, -qR...: run the outbox once
			case 'S':
				return nil, usageErrorf("-S (--serverinfo) is not supported in sendmail mode").
					withFix("run 'tlsmail probe HOST:PORT' to see what the server offers")
			case 'I':
				return nil, usageErrorf("-I (newaliases) is not supported: tlsmail has no alias database").
					withFix("aliases belong to the mail server tlsmail relays to")
			default:
				return nil, usageErrorf("unknown option -%c", c).withFix("see 'tlsmail sendmail --help'")
			}
			if err != nil {
				return nil, err
			}
		}
	}
	if sa.host && sa.account != "" {
		return nil, usageErrorf("--host and -a/--account cannot be used together (as in msmtp)").
			withFix("either name the server with --host and the other options, or choose an account of the configuration file")
	}
	for _, kv := range sa.overrides {
		if kv[0] == "domain" && kv[1] == "" {
			// msmtp sends "EHLO " and fails on the server's refusal;
			// an empty name is never what was meant.
			return nil, usageErrorf("--domain= gives an empty EHLO name").
				withFix("give a host name with --domain (such as --domain=client.example.com), or leave the option out to use the account's")
		}
	}
	if sa.from == "<>" {
		// The null sender written as msmtp also takes it.
		sa.from, sa.nullSender = "", true
	}
	return sa, nil
}

func newSendmailCommand(e *env, st *runState) *cobra.Command {
	cmd := &cobra.Command{
		Use:                "sendmail [-t] [-i|-oi] [-f ADDR] [-F NAME] [-C FILE] [-a ACCOUNT] [RECIPIENT...]",
		Short:              "Queue and deliver a message read on standard input (a sendmail drop-in)",
		Long:               sendmailLong,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			st.started = true
			return runSendmail(cmd.Context(), e, cmd, args)
		},
		DisableFlagsInUseLine: true,
	}
	// -h is sendmail's hop count, not help.
	cmd.Flags().Bool("help", false, "show this help")
	return cmd
}

// runSendmail is `tlsmail sendmail ARGS` (and `sendmail ARGS`).
func runSendmail(ctx context.Context, e *env, cmd *cobra.Command, args []string) error {
	sa, err := parseSendmailArgs(args)
	if err != nil {
		return err
	}
	switch {
	case sa.help:
		return cmd.Help()
	case sa.version:
		fmt.Fprintln(e.stdout, versionString())
		return nil
	}
	if sa.mode == 'p' || sa.mode == 'q' {
		// -bp only reads: an outbox that does not exist is listed
		// empty, not created; -q delivers, and makes it as queue run does.
		q, err := sendmailOutbox(ctx, e, sa, sa.mode == 'p')
		if err != nil {
			return err
		}
		if sa.mode == 'p' {
			return queueList(e, q, listOptions{failed: true})
		}
		return (&queueRunner{e: e, q: q, parallel: 2}).once(ctx)
	}
	if sa.log.syslog != nil {
		if err := checkSyslog(runtime.GOOS, *sa.log.syslog, "--syslog"); err != nil {
			return err
		}
	}
	if sa.readEnvelopeFrom && sa.from == "" && !sa.nullSender {
		// msmtp's --read-envelope-from: the sender (and so the account)
		// comes from the message's From field.
		from, in, err := peekFrom(e.stdin)
		if err != nil {
			return err
		}
		sa.from = from
		se := *e
		se.stdin = in
		e = &se
		if sa.pretend && from != "" {
			fmt.Fprintf(e.stdout, "envelope from address extracted from mail: %s\n", from)
		}
	}
	if sa.pretend {
		return sendmailPretend(ctx, e, sa)
	}
	if len(sa.rcpts) == 0 && !sa.extract {
		return usageErrorf("no recipients given").
			withFix("give the recipients as arguments, or use -t to read them from the To, Cc and Bcc fields")
	}
	if sa.config == "" && !sa.host {
		_, err := sendmailSearch(e, "", homeDir(e)).Locate()
		if err != nil && (!errors.Is(err, fs.ErrNotExist) || config.EnvAccount(e.getenv) == nil) {
			return configErrorf("no configuration file: sendmail needs an msmtp-format account to know the server (%v)", err).
				withFix("write one to ~/.msmtprc, $XDG_CONFIG_HOME/msmtp/config or " + systemFileText(config.SystemFile(e.getenv)) +
					" (or set TLSMAIL_CONFIG, or SMTPSERVER and EMAIL), or pass -C FILE")
		}
	}
	// The input runs to its end whether or not -i was given: msmtp never
	// ends a message at a line holding only ".", and cutting it there
	// loses the rest silently (mutt, logwatch -t). The SMTP client
	// dot-stuffs such a line.
	se := *e
	o := &sendOptions{
		config:     sa.config,
		account:    sa.account,
		from:       sa.from,
		nullSender: sa.nullSender,
		fromName:   sa.fullName,
		to:         sa.rcpts,
		extract:    sa.extract,
		// root, postmaster: through the account's aliases, else as is.
		localRcpts: true,
		msmtpFiles: true,
		overrides:  sa.overrides,
		message:    "-",
		auth:       "auto",
		provider:   defaultProvider,
		timeout:    smtp.DefaultTimeout,
		queue:      true,
		deferOnly:  sa.deferOnly,
		queueDir:   sa.queueDir,
		maxSize:    sa.maxSize,
		queueURL:   sa.queueURL,
		// A HOME the user cannot write (PHP-FPM's www-data): send at
		// once rather than not at all.
		directIfNoOutbox: true,
		log:              sa.log,
	}
	if sa.verbose {
		o.transcript = "-"
	}
	qr, err := queuedSend(ctx, &se, o)
	sendmailLog(e, e.stdout, o, qr, err)
	if err != nil {
		return err
	}
	if qr.direct {
		// No outbox: the attempt just made was the only one.
		if qr.res.Outcome == outbox.Delivered {
			return nil
		}
		c := classify(qr.res.Err)
		what := "not sent, and not kept (no outbox): "
		if re := (*submit.RecipientsError)(nil); errors.As(qr.res.Err, &re) && len(re.Delivered) > 0 {
			// The others have it: "not sent" would have it sent
			// again to them.
			what = "not sent to the refused recipients, and not kept for them (no outbox): "
		}
		return &exitError{code: c.code, kind: c.kind, err: qr.res.Err, msg: what + c.message, fix: c.fix}
	}
	switch qr.res.Outcome {
	case outbox.Delivered:
		if qr.out != nil && qr.out.Result != nil {
			for _, r := range qr.out.Result.Rejected {
				// Delivered to the others; this one was queued again.
				fmt.Fprintf(e.stderr, "tlsmail: recipient %s deferred (%s): queued again in %s; 'tlsmail queue run' retries it\n",
					r.Addr, safetext.OneLine(submit.RefusedReply(r.Reply)), qr.dir)
			}
		}
		// The account works now: the messages it left in the outbox go
		// too (as msmtpq does), bounded, and whatever happens to them
		// this message's exit status stays 0.
		if qr.backlog != nil {
			qr.backlog(ctx)
		}
		return nil
	case outbox.Permanent, outbox.Corrupt:
		return qr.err()
	case outbox.Temporary:
		c := classify(qr.res.Err)
		if what, ok := submit.ConfigFix(qr.res.Err); ok {
			// Exit 0 all the same: the message is safe, and a non-zero
			// exit makes PHP's mail() or git send-email report it unsent
			// (and resend it); cron mails this line either way.
			fmt.Fprintf(e.stderr, "tlsmail: not delivered: %s; this will not heal by itself: %s, then run 'tlsmail queue flush' (it retries at once). The message is safe in the outbox as %s (%s); until then retries fail the same way.\n",
				safetext.OneLine(c.message), what, qr.id, qr.dir)
			return nil
		}
		fmt.Fprintf(e.stderr, "tlsmail: not delivered yet; the message is safe in the outbox as %s (%s) and 'tlsmail queue run' retries it%s: %s\n",
			qr.id, qr.dir, nextText(qr.next), safetext.OneLine(c.message))
		return nil
	}
	if !sa.deferOnly {
		// Interrupted, another runner took the item first, or the outbox
		// failed after the enqueue (a database that refused the claim or
		// went away): exit 0 all the same, the message is safe, but say why.
		where := qr.dir
		if !strings.Contains(where, "://") {
			where = filepath.Clean(where) // a directory; a database URL as it is
		}
		why := ""
		if qr.runErr != nil && !errors.Is(qr.runErr, context.Canceled) {
			why = ": " + safetext.OneLine(qr.runErr.Error())
		}
		fmt.Fprintf(e.stderr, "tlsmail: queued as %s in %s; it was not delivered by this command ('tlsmail queue run' delivers it)%s\n",
			qr.id, where, why)
	}
	return nil
}

// msmtpAccountOption maps one of msmtp's long options that change the
// account (msmtp(1), "Options") to the configuration command it sets:
// --tls-trust-file is tls_trust_file, and so on. optional is true for the
// options whose argument may only be attached (--tls, --auth=plain).
func msmtpAccountOption(name string) (key string, optional, ok bool) {
	switch name {
	case "host", "port", "source-ip", "proxy-host", "proxy-port", "socket", "timeout", "protocol",
		"domain", "user", "passwordeval", "tls-trust-file", "tls-crl-file", "tls-fingerprint",
		"tls-key-file", "tls-cert-file", "tls-priorities", "tls-host-override", "tls-min-dh-prime-bits",
		"dsn-notify", "dsn-return", "aliases", "maildomain", "connect-timeout":
		return strings.ReplaceAll(name, "-", "_"), false, true
	case "auth", "tls", "tls-starttls", "tls-certcheck", "set-from-header", "set-date-header",
		"set-msgid-header", "remove-bcc-headers", "undisclosed-recipients", "auto-from",
		// msmtp's older names: --keepbcc (1.4), --add-missing-*-header
		// (before 1.8.8), as the configuration file's aliases.
		"keepbcc", "add-missing-from-header", "add-missing-date-header":
		return strings.ReplaceAll(name, "-", "_"), true, true
	}
	return "", false, false
}

// headerOption checks an argument attached to one of msmtp's header
// options, or to one of its on/off options (--tls, --tls-starttls,
// --tls-certcheck, --auto-from), as msmtp does: a bad one, or an empty one (--set-from-header=),
// is a usage error naming the option (msmtp exits 64), not a
// configuration error. Without '=' the option means auto (the set_*
// options) or on.
func headerOption(name, val string, hasVal bool) error {
	var valid []string
	switch name {
	case "set-from-header":
		valid = []string{"auto", "on", "off"}
	case "set-date-header", "set-msgid-header":
		valid = []string{"auto", "off"}
	case "remove-bcc-headers", "undisclosed-recipients", "keepbcc", "add-missing-from-header", "add-missing-date-header",
		// msmtp takes --tls alone or with on or off, not --tls= (its
		// is_on/is_off): an empty value is no on.
		"tls", "tls-starttls", "tls-certcheck", "auto-from":
		valid = []string{"on", "off"}
	}
	if !hasVal || valid == nil || slices.Contains(valid, val) {
		return nil
	}
	return usageErrorf("invalid argument %s for --%s", val, name).
		withFix("use --" + name + "=" + strings.Join(valid, ", --"+name+"=") + ", or --" + name + " alone")
}

// dsnOption checks the argument of -N/--dsn-notify or -R/--dsn-return as
// msmtp does, and returns it in the form the configuration command takes:
// -N off, never, or failure, delay and success joined by commas; -R off,
// full, headers or hdrs (sendmail's word, which the configuration file
// does not take).
func dsnOption(opt, v string) (string, error) {
	if strings.HasSuffix(opt, "R") || strings.HasSuffix(opt, "return") {
		switch v {
		case "off", "full", "headers":
			return v, nil
		case "hdrs":
			return "headers", nil
		}
		return "", usageErrorf("invalid argument %s for %s", v, opt).withFix("use off, full, or hdrs (headers)")
	}
	if v == "off" || v == "never" || config.ValidDSNNotify(v) {
		return v, nil
	}
	return "", usageErrorf("invalid argument %s for %s", v, opt).
		withFix("use off, never, or a comma-separated list (no spaces) of failure, delay and success")
}

// maxPeekHeader bounds the header read for --read-envelope-from.
const maxPeekHeader = 1 << 20

// peekFrom is message.PeekFrom with --read-envelope-from's errors.
func peekFrom(r io.Reader) (string, io.Reader, error) {
	from, rest, err := message.PeekFrom(r, maxPeekHeader)
	var ie *message.InputError
	switch {
	case errors.As(err, &ie):
		return "", nil, usageErrorf("--read-envelope-from: the message header is larger than %d bytes", maxPeekHeader).
			withFix("give the sender with -f instead")
	case err != nil:
		return "", nil, usageErrorf("cannot read the message: %v", err).wrapping(err)
	}
	return from, rest, nil
}

// sendmailPretend is msmtp's -P/--pretend: print the account that would
// be used, and send nothing. The password itself is never printed.
func sendmailPretend(ctx context.Context, e *env, sa *sendmailArgs) error {
	o := &sendOptions{config: sa.config, account: sa.account, from: sa.from, overrides: sa.overrides}
	a, err := sendmailAccount(ctx, e, o, homeDir(e))
	if err != nil {
		return err
	}
	file := accountSource(a, o.msmtpOverrides())
	fmt.Fprintf(e.stdout, "using account %s from %s\n", a.Name, file)
	for _, kv := range a.Pretend() {
		fmt.Fprintf(e.stdout, "%s = %s\n", kv.Key, kv.Value)
	}
	if sa.from != "" {
		// The sender the message would go out with: -f expanded, or the
		// account's from when allow_from_override is off.
		if from, err := a.EnvelopeFrom(""); err == nil && from != "" {
			fmt.Fprintf(e.stdout, "envelope from address = %s\n", from)
		}
	}
	rcpts := sa.rcpts
	if sa.extract {
		fmt.Fprintln(e.stdout, "reading recipients from the command line and the mail")
	} else {
		fmt.Fprintln(e.stdout, "reading recipients from the command line")
	}
	if sa.extract && sa.readEnvelopeFrom {
		// -t with --read-envelope-from, whose header is being read
		// anyway: the message's To, Cc and Bcc too, as they would be
		// sent (only the header is read; -t alone reads nothing, as in
		// msmtp, so that -P never waits for a terminal).
		m, err := message.Prepare(e.stdin, message.PrepareOptions{From: sa.from, Recipients: sa.rcpts, ExtractRecipients: true,
			ExpandRecipient: func(addr string) ([]string, error) { return []string{addr}, nil }})
		if err != nil {
			return usageErrorf("-t: %v", err).wrapping(err)
		}
		rcpts = m.Envelope().To
	}
	if len(rcpts) > 0 {
		fmt.Fprintf(e.stdout, "recipients = %s\n", strings.Join(rcpts, ", "))
	}
	return nil
}

// optValue returns a pointer to the option's value.
func optValue(get func() (string, error)) (*string, error) {
	v, err := get()
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// sendmailSearch is where sendmail mode looks for its configuration, as
// msmtp does: the system file (config.SystemFile: $TLSMAIL_SYSTEM_CONFIG,
// else msmtp's SYSCONFDIR/msmtprc) and the user file (-C, else TLSMAIL_CONFIG,
// ~/.msmtprc, $XDG_CONFIG_HOME/msmtp/config, then tlsmail's own).
func sendmailSearch(e *env, explicit, home string) config.Search {
	return config.Search{Explicit: explicit, SystemFile: config.SystemFile(e.getenv), Getenv: e.getenv, Home: home}
}

// expander is msmtp's %U %H %C %M in this process's environment (see
// config.Search.Expander).
func expander(e *env, home string) config.Expander { return sendmailSearch(e, "", home).Expander() }

func systemFileText(s string) string {
	if s == "" {
		return "(no system file here)"
	}
	return s
}

// sendmailAccount chooses the account as msmtp does in sendmail mode
// (sendmailSelect). With -v it says which account of which file is used.
func sendmailAccount(ctx context.Context, e *env, o *sendOptions, home string) (*config.Account, error) {
	overrides := o.msmtpOverrides()
	a, err := sendmailSelect(ctx, e, o, home)
	if err != nil {
		return nil, err
	}
	if o.transcript != "" {
		fmt.Fprintf(e.stderr, "tlsmail: using account %s from %s\n", a.Name, accountSource(a, overrides))
	}
	if err := checkSyslog(runtime.GOOS, a.Syslog, "account "+a.Name); err != nil {
		return nil, err
	}
	return a, nil
}

// sendmailSelect is the account msmtp would use in sendmail mode
// (config.Search.Select: the system file and the user's, EMAIL and
// SMTPSERVER, the command line's account options, -f, %U %H %C %M).
func sendmailSelect(ctx context.Context, e *env, o *sendOptions, home string) (*config.Account, error) {
	a, err := sendmailSearch(e, o.config, home).Select(ctx, o.selection(home))
	return a, selectError(err)
}

// selection is the command line's choice of account.
func (o *sendOptions) selection(home string) config.Selection {
	return config.Selection{Account: o.account, From: o.from, Overrides: o.msmtpOverrides(), Options: readOptions(home)}
}

// selectError names the flag of an account option that cannot be used.
func selectError(err error) error {
	var oe *config.OverrideError
	if errors.As(err, &oe) {
		return configErrorf("--%s: %s", strings.ReplaceAll(oe.Key, "_", "-"), oe.Err.Msg).withFix(oe.Err.Fix)
	}
	return err
}

// sendmailOutbox opens the outbox of -bp and -q: the one a message of
// this command line is queued in (queuedSend), found the same way
// (submit.SendmailQueue: --queue-dir or --queue-url, the environment, the
// account msmtp's files give, the default directory). With readOnly a
// spool directory that does not exist is not created (anystore's
// NoCreate: it reads as empty).
func sendmailOutbox(ctx context.Context, e *env, sa *sendmailArgs, readOnly bool) (outbox.Store, error) {
	if sa.queueURL != "" {
		if err := checkURLArg(sa.queueURL); err != nil {
			return nil, err
		}
	}
	home := homeDir(e)
	o := &sendOptions{config: sa.config, account: sa.account, from: sa.from, overrides: sa.overrides}
	loc, err := queueLocationError(submit.SendmailQueue(ctx, sendmailSearch(e, sa.config, home),
		o.selection(home), flagSource(sa.queueDir, sa.queueURL)))
	if err != nil {
		return nil, selectError(err)
	}
	return openStore(ctx, e, loc, anystore.Options{NoCreate: readOnly})
}

// msmtpOverrides are the sendmail command line's account options.
func (o *sendOptions) msmtpOverrides() config.Overrides {
	overrides := make(config.Overrides, len(o.overrides))
	for i, kv := range o.overrides {
		overrides[i] = config.Override{Key: kv[0], Arg: kv[1]}
	}
	return overrides
}

// accountSource says where a sendmail account came from.
func accountSource(a *config.Account, o config.Overrides) string {
	switch {
	case o.Has("host"):
		return "the command line (--host)"
	case a.File == "":
		return "the environment (SMTPSERVER, EMAIL)"
	}
	return a.File
}

// sendmailArgv turns the process's argv into tlsmail arguments: called as
// "sendmail" it is `tlsmail sendmail ...`, called as "mailq" it is
// `tlsmail sendmail -bp`.
func sendmailArgv(argv []string) []string {
	if len(argv) == 0 {
		return nil
	}
	name := strings.TrimSuffix(strings.ToLower(filepath.Base(argv[0])), ".exe")
	switch name {
	case "sendmail":
		return append([]string{"sendmail"}, argv[1:]...)
	case "mailq":
		return append([]string{"sendmail", "-bp"}, argv[1:]...)
	}
	return argv[1:]
}

// The backlog a sendmail run delivers after its own message: at most
// backlogItems items, within backlogTime.
const (
	backlogItems = 20
	backlogTime  = 10 * time.Second
)
