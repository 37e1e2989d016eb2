package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/message"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
	"github.com/tlsmail/tlsmail/transcript"
	"github.com/tlsmail/tlsmail/trust"
)

// sendOptions are the flags of `tlsmail send`. The demo fills one in and
// calls sendMessage, so both take the same path.
type sendOptions struct {
	server   string
	tlsMode  string
	from     string
	to       []string
	cc       []string
	bcc      []string
	subject  string
	body     string
	bodyFile string
	htmlFile string
	attach   []string
	headers  []string
	message  string

	user     string
	password passwordFlags
	auth     string
	authSet  bool // --auth was given on the command line

	ca       string
	pins     []string
	insecure bool
	cert     string
	key      string
	provider string
	tlsName  string
	// platformID returns the client identity send's flags of this
	// operating system name (Windows: a certificate store entry, a PFX
	// file; see platformSendFlags).
	platformID func() (submit.ClientIdentity, error)

	transcript string
	json       bool
	timeout    time.Duration
	ehlo       string

	config  string
	account string

	// changed reports whether a flag was given on the command line (nil:
	// none was); the configuration file fills only what was not.
	changed func(flag string) bool
	// revocationFlag is --revocation: else the configuration file's
	// policy, else trust's default (soft).
	revocationFlag string

	// transcriptTo, when set, receives the transcript instead of the
	// --transcript destination (the demo writes it to stdout).
	transcriptTo io.Writer

	// queue (--queue) spools the message before connecting and delivers
	// it from the outbox; deferOnly (--defer) only spools it. queueDir is
	// --queue-dir, queueURL --queue-url. See queue.go.
	queue     bool
	deferOnly bool
	queueDir  string
	// directIfNoOutbox (sendmail) sends at once, unqueued, when the
	// outbox directory cannot be created (a HOME the user cannot write).
	directIfNoOutbox bool
	// maxSize (--max-size) is the largest message written to the outbox,
	// in bytes: 0 for outbox.DefaultMaxMessageSize, negative for none.
	maxSize  int64
	queueURL string
	// fromName is the display name for a From field the message lacks
	// (sendmail -F).
	fromName string
	// nullSender sends MAIL FROM:<> (sendmail -f ''); from, the
	// account's, is still the From field a message without one gets.
	nullSender bool
	// extract takes recipients from the message's To, Cc and Bcc even
	// when some are given (sendmail -t adds them to the arguments).
	extract bool
	// localRcpts lets local recipients (root) through, expanded with the
	// account's aliases file as msmtp does (sendmail mode).
	localRcpts bool
	// msmtpFiles reads the configuration as msmtp does (system file,
	// user file, EMAIL and SMTPSERVER): sendmail mode.
	msmtpFiles bool
	// headerAccount, in sendmail mode, is the account whose msmtp header
	// commands (set_from_header ...) apply to the message
	// (submit.HeaderOptions).
	headerAccount *config.Account
	// overrides are msmtp's account options of the sendmail command line
	// (--port=2525 ...) as configuration commands; a "host" among them
	// means no configuration file is read (msmtp's --host).
	overrides [][2]string
	// log is sendmail's -X, --logfile, --logfile-time-format and
	// --syslog, over the account's (logConfig).
	log logFlags
	// cfg records what applyConfig used besides the account: the file,
	// the account's name, its queue_dir, aliases, log and DSN request.
	cfg configUse
	// file is the configuration file's account as submit reads it
	// (applyConfig), its password a reference, nil when none was read:
	// buildAccount puts the flags given on the command line over it.
	file *submit.Account
	// loaded is the configuration account applyConfig read (nil: none),
	// handed to the Connector (submit.Connector.Loaded) so that its
	// password is read from it and the file, with its eval lines, is
	// read once per message.
	loaded *config.Account
}

// connector is e's Connector with the configuration account this command
// read (o.loaded): the one reader of this send's secrets, direct or from
// the outbox.
func (o *sendOptions) connector(e *env) *submit.Connector {
	c := e.connector()
	if o.loaded != nil {
		c.Loaded = []*config.Account{o.loaded}
	}
	return c
}

const sendLong = `Send one message over SMTP with TLS.

The connection is secured with STARTTLS (RFC 3207) or implicit TLS (RFC 8314),
and tlsmail never falls back to plaintext: if the server does not offer
STARTTLS, nothing is sent. The server's certificate is verified against the
system's roots (or --ca), for the name given with --tls-name (default: the
host of --server; an IP address is checked against the certificate's IP
SANs). When verification fails, tlsmail lists every problem it found in the
chain and what to do about each.

Server and TLS mode:
@flags server tls

The message is either composed from --from, --to, --cc, --bcc, --subject,
--body (or --body-file), --html-file, --attach and --header, or taken
ready-made from --message FILE (or - for standard input) as with
"sendmail -t": recipients then come from --to/--cc/--bcc when given, else
from the message's To, Cc and Bcc fields; Bcc fields are removed. Arguments
after the flags are more --to recipients. Flags may come before or after
arguments.

Authentication (RFC 4954) happens only when --user is given. The password
never goes on the command line: use --password-env VAR, --password-file FILE
(readable only by you) or --password-cmd CMD (its first output line; also the
way to pass an OAuth 2.0 access token for --auth OAUTHBEARER, RFC 7628, or
XOAUTH2). CMD gets no input and no terminal (a prompt must come from an
agent, as gpg's pinentry does), and it is stopped, with everything it
started, at --timeout. --auth auto picks the
strongest mechanism the server offers. No password is ever sent without TLS
unless both --tls none and --auth MECHANISM are given.

Settings can also come from an msmtp-format configuration file (an existing
~/.msmtprc works): --config FILE, with --account NAME (default: the account
matching --from, else "default"). Without --server and --config, tlsmail
looks for $TLSMAIL_CONFIG, $XDG_CONFIG_HOME/tlsmail/config and ~/.msmtprc.
Flags always win over the file.

--queue writes the message to the outbox (fsynced) before connecting and
removes it only after the server's 250 to the end of DATA: a temporary
failure leaves it queued, with the error and the next attempt time, and exits
75; a permanent one moves it to the outbox's failed/ folder. --defer only
queues it (exit 0 once it is on disk). 'tlsmail queue run' delivers queued
messages; the password is never stored, it is read again then from the same
--password-env variable, file, command or configuration account. The outbox:
@flags queue-dir queue-url max-size

--transcript FILE writes the whole session (every command and reply with its
byte count, TLS events, the certificate verdict) to FILE; --transcript -
writes it to standard error, so that standard output stays the result (or
the JSON object). Passwords and AUTH exchanges are always redacted.

--json prints exactly one JSON object on standard output, on success and on
failure alike:
  {"ok": true|false,
   "server": "HOST:PORT", "mode": "starttls",
   "tls": {"version": "TLS 1.3", "cipher": "...", "verified": true,
           "provider": "go", "server_name": "...", "chain": [...],
           "problems": [...]} or null,
   "auth": "PLAIN" (the mechanism used, or ""),
   "accepted": ["..."], "rejected": [{"address": "...", "reply": "550 ..."}],
   "response": "250 2.0.0 queued as ..." (the reply to the end of DATA),
   "error": {"kind": "...", "message": "...", "fix": "...",
             "problems": [...], "exit_code": 75} (only on failure)}
error.kind is one of usage, config, network, timeout, starttls-unavailable,
starttls-injection, tls-handshake, certificate, auth, rejected, unavailable,
protocol. When some recipients are refused and others accepted, the message
is sent to the accepted ones: ok is true, the exit code 0, and "rejected"
lists the others.

Exit codes: 0 sent; 64 usage; 65 rejected permanently (5xx to MAIL, RCPT or
DATA); 68 host not found; 69 unavailable (5xx greeting or EHLO); 75 temporary
(4xx, network, timeout, TLS and certificate failures); 76 protocol error
(including STARTTLS injection); 77 authentication refused; 78 configuration.`

const sendExample = `  # STARTTLS on the submission port, password from the environment
  SMTP_PASSWORD=... tlsmail send --server smtp.example.com --user ann@example.com \
      --password-env SMTP_PASSWORD --from ann@example.com --to bob@example.org \
      --subject "Hello" --body "Hi Bob"

  # implicit TLS, a ready-made message from standard input, session log on stderr
  tlsmail send --server smtp.example.com:465 --from ann@example.com \
      --message - --transcript - < message.eml

  # a private CA and a pinned key, output for scripts
  tlsmail send --server 10.0.0.5:587 --ca internal-ca.pem \
      --pin sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= \
      --from ann@example.com --to ops@example.com --subject test --body ok --json

  # an OAuth2 token printed by a helper
  tlsmail send --server smtp.gmail.com:465 --user ann@gmail.com --auth OAUTHBEARER \
      --password-cmd 'oauth2-token ann@gmail.com' --from ann@gmail.com --to bob@example.org \
      --subject Hi --body-file note.txt --attach report.pdf`

func newSendCommand(e *env, st *runState) *cobra.Command {
	o := &sendOptions{}
	cmd := &cobra.Command{
		Use:     "send [flags] [RECIPIENT...]",
		Short:   "Send a message over SMTP with STARTTLS or implicit TLS",
		Long:    sendLong,
		Example: sendExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			st.started = true
			st.json = o.json
			o.to = append(o.to, args...)
			o.authSet = cmd.Flags().Changed("auth")
			o.changed = cmd.Flags().Changed
			if o.queue || o.deferOnly {
				return sendQueued(cmd.Context(), e, o)
			}
			out, sentEnv, err := sendMessage(cmd.Context(), e, o)
			sendLog(e, o, nil, out, sentEnv, err)
			if o.json {
				writeJSON(e.stdout, jsonOutputOf(out, err))
				if err != nil {
					return &reported{err}
				}
				return nil
			}
			if out != nil && out.Result != nil || err == nil {
				printOutcome(e.stdout, e.stderr, out)
			}
			return err
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	fs.StringVar(&o.server, "server", "", "SMTP server as `HOST[:PORT]` (port default 587, or 465 with --tls implicit)")
	fs.StringVar(&o.tlsMode, "tls", "", "TLS `MODE`: implicit, starttls or none (default: implicit for port 465, else starttls)")
	fs.StringVar(&o.from, "from", "", "sender `ADDRESS` (From and MAIL FROM)")
	fs.StringArrayVar(&o.to, "to", nil, "recipient `ADDRESS` (repeatable, or comma-separated)")
	fs.StringArrayVar(&o.cc, "cc", nil, "Cc recipient `ADDRESS` (repeatable)")
	fs.StringArrayVar(&o.bcc, "bcc", nil, "Bcc recipient `ADDRESS` (repeatable; never written into the message)")
	fs.StringVar(&o.subject, "subject", "", "the Subject `TEXT` (UTF-8 allowed)")
	fs.StringVar(&o.body, "body", "", "the text body")
	fs.StringVar(&o.bodyFile, "body-file", "", "read the text body from `FILE`")
	fs.StringVar(&o.htmlFile, "html-file", "", "add an HTML alternative read from `FILE`")
	fs.StringArrayVar(&o.attach, "attach", nil, "attach `FILE` (repeatable; content type from the name or content)")
	fs.StringArrayVar(&o.headers, "header", nil, "add a header field `\"Name: value\"` (repeatable)")
	fs.StringVar(&o.message, "message", "", "send a prepared RFC 5322 message from `FILE` (- for standard input) instead of composing one")
	fs.StringVar(&o.user, "user", "", "authenticate as `NAME` (AUTH happens only with --user)")
	o.password.register(fs, "password", "e.g. 'pass show mail'; for OAUTHBEARER or XOAUTH2, a command printing the access token")
	fs.StringVar(&o.auth, "auth", "auto", "SASL `MECHANISM`: auto, PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256, OAUTHBEARER or XOAUTH2")
	registerTrustFlags(fs, &o.ca, &o.pins, &o.revocationFlag, "")
	fs.BoolVar(&o.insecure, "insecure", false, "send even when the certificate fails verification (loud; the report is still shown)")
	fs.StringVar(&o.cert, "cert", "", "client certificate PEM `FILE` (with --key; the key may be in the same file)")
	fs.StringVar(&o.key, "key", "", "private key PEM `FILE` of the client certificate")
	fs.StringVar(&o.provider, "tls-provider", defaultProvider, "TLS implementation: "+strings.Join(e.providers.Names(), ", "))
	fs.StringVar(&o.tlsName, "tls-name", "", "`NAME` sent in SNI and verified in the certificate (default: the host of --server)")
	fs.StringVar(&o.transcript, "transcript", "", "write the session log to `FILE` (- for standard error)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object with the result on standard output")
	fs.DurationVar(&o.timeout, "timeout", smtp.DefaultTimeout, "time limit for each step (connect, handshake, each reply)")
	fs.StringVar(&o.ehlo, "ehlo", "", "`NAME` to send with EHLO (default localhost)")
	fs.StringVar(&o.config, "config", "", "read server, TLS and account settings from an msmtp-format `FILE`")
	fs.StringVar(&o.account, "account", "", "use the account `NAME` of --config (default: the file's default account)")
	fs.BoolVar(&o.queue, "queue", false, "write the message to the outbox first, then deliver it; a temporary failure leaves it queued (exit 75)")
	fs.BoolVar(&o.deferOnly, "defer", false, "only write the message to the outbox (exit 0 once it is on disk); 'tlsmail queue run' delivers it")
	fs.Int64Var(&o.maxSize, "max-size", 0, "largest message in `BYTES` --queue and --defer write to the outbox (0: 64 MiB; -1: no limit); a larger one is refused (exit 69)")
	fs.StringVar(&o.queueDir, "queue-dir", "", "outbox `DIR` for --queue and --defer (default: $TLSMAIL_QUEUE_DIR, the config's queue_dir, $XDG_STATE_HOME/tlsmail/queue)")
	fs.StringVar(&o.queueURL, "queue-url", "", "outbox on PostgreSQL for --queue and --defer: `URL` postgres://user@host/db, the password from ~/.pgpass or PGPASSWORD (default: $TLSMAIL_QUEUE_URL, the config's queue_url)")
	o.platformID = platformSendFlags(fs)
	cmd.Long = helpFlags(sendLong, fs)
	return cmd
}

// reported is an error whose output the command has already written (as a
// JSON object); run only turns it into an exit code.
type reported struct{ err error }

func (r *reported) Error() string { return r.err.Error() }
func (r *reported) Unwrap() error { return r.err }

// sendPlan is a send with every flag checked and resolved, ready to
// connect.
type sendPlan struct {
	addr    string
	cfg     smtp.Config
	msg     *message.Message
	env     smtp.Envelope
	closeFn func() // closes the message source
	// secrets reads the account's secrets other than the password (a PFX
	// file's, the file decoded with it); nil when there are none.
	secrets func(ctx context.Context) error
	// acct is the account the flags make, without the password: what
	// submit.Connector.Plan resolved into cfg (accountFor queues it).
	acct submit.Account
}

// sendMessage checks o, builds the message, connects, sends and quits. It
// is the one path for `send` and `demo`. What it learnt is a submit.Sent,
// as the outbox deliverer's: non-nil (it holds what is known: address,
// TLS state, recipients) even when err is not, with the envelope sent
// (for msmtp's log line). Usage and configuration errors are found before
// any connection.
func sendMessage(ctx context.Context, e *env, o *sendOptions) (*submit.Sent, smtp.Envelope, error) {
	out := &submit.Sent{}
	plan, err := planSend(ctx, e, o)
	if plan != nil && plan.closeFn != nil {
		defer plan.closeFn()
	}
	if err != nil {
		return out, smtp.Envelope{}, err
	}
	out.Addr, out.Mode, out.TLSName = plan.addr, plan.cfg.Mode, plan.cfg.TLS.ServerName

	if plan.acct.Trust.Insecure {
		fmt.Fprintln(e.stderr, "tlsmail: WARNING: --insecure: the server's certificate is NOT required to verify.")
		fmt.Fprintln(e.stderr, "tlsmail: WARNING: anyone on the network path could read and change this session, password included.")
		fmt.Fprintln(e.stderr, "tlsmail: WARNING: the verification report is still recorded and shown below.")
	}

	var tw io.Writer = o.transcriptTo
	if tw == nil {
		w, closeTranscript, err := openTranscript(e, o.transcript)
		if err != nil {
			return out, plan.env, err
		}
		defer closeTranscript()
		tw = w
	}
	err = connectAndSend(ctx, e, o, plan, tw, out)
	out.Err = err
	return out, plan.env, err
}

// connectAndSend connects to the plan's server, sends its message and
// quits, the session logged to tw (nil: none); out receives what is
// learnt (the address, TLS state and mechanism, the result) even when it
// fails. It is the one connection of send, demo and sendmail without an
// outbox.
func connectAndSend(ctx context.Context, e *env, o *sendOptions, plan *sendPlan, tw io.Writer, out *submit.Sent) error {
	out.Addr, out.Mode, out.TLSName = plan.addr, plan.cfg.Mode, plan.cfg.TLS.ServerName
	if tw != nil {
		plan.cfg.Transcript = transcript.New(tw)
	}
	if plan.cfg.Mode != smtp.Implicit {
		plan.cfg.OnSilentGreeting = silentGreetingNotice(e.stderr, plan.addr)
	}
	plan.cfg.RequireDSN = !plan.env.DSN.IsZero() // before AUTH, as msmtp
	c, err := smtp.Dial(ctx, plan.addr, &plan.cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if st, ok := c.TLS(); ok {
		out.TLS = &st
	}
	out.AuthMech = c.AuthMechanism()
	r := plan.msg.Reader()
	defer r.Close()
	src, progressDone := withProgress(r, e.stderr, messageSize(plan.env.Size, o.message), isTerminal(e.stderr))
	// One message: QUIT goes with the end of the data when the server
	// pipelines (RFC 2920), so the session ends without a round trip of
	// its own. A failed transaction still says goodbye, but the error is
	// the send's.
	res, err := c.SendAndQuit(ctx, plan.env, src)
	progressDone()
	out.Result = res // its QuitErr: closing failed after the message was accepted
	return err
}

// planSend validates every flag and resolves them into a plan, without any
// network traffic: usage and configuration errors come out here.
func planSend(ctx context.Context, e *env, o *sendOptions) (*sendPlan, error) {
	p, err := planMessage(ctx, e, o)
	if err != nil {
		return p, err
	}
	return p, p.authenticate(ctx, e, o)
}

// planMessage is what a send and a queued send plan alike: the
// configuration file applied, the connection planned (planConnection) and
// the message built, without reading the password. The plan is returned
// with a message error, so that its message source is closed.
func planMessage(ctx context.Context, e *env, o *sendOptions) (*sendPlan, error) {
	if err := applyConfig(ctx, e, o); err != nil {
		return nil, err
	}
	p, err := planConnection(e, o)
	if err != nil {
		return nil, err
	}
	return p, buildMessage(e, o, p)
}

// planConnection builds the account of this send (buildAccount) and
// resolves it through submit.Connector.Plan, as the outbox deliverer
// resolves a queued item, into the connection part of a plan (p.addr,
// p.cfg): without reading the password and without any network traffic.
func planConnection(e *env, o *sendOptions) (*sendPlan, error) {
	a, err := buildAccount(e, o)
	if err != nil {
		return nil, err
	}
	p := &sendPlan{addr: net.JoinHostPort(a.Host, strconv.Itoa(a.Port))}
	mode := a.Mode
	// The password is read by authenticate, last: the account is planned
	// without it.
	noAuth := a
	noAuth.Auth = submit.Auth{}
	var se *submit.Error
	if err := noAuth.Check(); errors.As(err, &se) && (se.Field == "client_cert" || se.Field == "cert_store" || se.Field == "pfx" || se.Field == "provider" ||
		se.Field == "server_name" && o.changed != nil && o.changed("tls-name")) {
		// The client identity of the command line contradicts itself (two
		// certificates, a store entry nothing picks, a PFX password
		// without its file), or --tls-name is no host name: a usage
		// error, the flags from the table. (A tls_host_override of the
		// file that is none is the file's error, from Plan below.)
		return nil, flagUsage(err)
	}
	sp, err := e.connector().Plan(context.Background(), &noAuth)
	if err != nil {
		return nil, err // a *submit.Error: the flag-hint table names the flag
	}
	p.cfg, p.acct = sp.Config, a
	p.secrets = sp.Authenticate // a PFX file's password, if any
	if mode == smtp.None {
		// Only the flags given on the command line: a configuration file
		// may set tls_trust_file for an account with tls off, and that is
		// no mistake of this command line.
		var given []string
		for _, f := range []string{"ca", "pin", "cert", "key", "insecure", "tls-name"} {
			if o.changed != nil && o.changed(f) {
				given = append(given, "--"+f)
			}
		}
		if len(given) > 0 {
			fmt.Fprintf(e.stderr, "tlsmail: warning: --tls none: %s %s no effect\n", strings.Join(given, ", "),
				map[bool]string{true: "has", false: "have"}[len(given) == 1])
		}
	}
	return p, nil
}

// buildAccount builds the account of this send in one step: the
// configuration file's account (o.file, when one was read) with the flags
// given on the command line over it, its password a reference (the
// demo's literal password has none). Its checks name the flags (a value
// from the file was checked by submit.FromConfig).
func buildAccount(e *env, o *sendOptions) (submit.Account, error) {
	set := func(flag string) bool { return o.changed != nil && o.changed(flag) }
	f := o.file
	if f == nil {
		f = &submit.Account{}
	}
	// Each setting: the flag's when given, else the file's.
	or := func(flag, file string) string {
		if flag != "" {
			return flag
		}
		return file
	}
	server, tlsMode := o.server, or(o.tlsMode, string(f.Mode))
	if server == "" && f.Host != "" {
		server = f.Host + ":" + strconv.Itoa(f.Port)
		if strings.Contains(f.Host, ":") && !strings.HasPrefix(f.Host, "[") {
			server = "[" + f.Host + "]:" + strconv.Itoa(f.Port)
		}
	}
	trustSet := submit.Trust{CAFile: or(o.ca, f.Trust.CAFile), Pins: o.pins, ServerName: or(o.tlsName, f.Trust.ServerName),
		Insecure: o.insecure || !set("insecure") && f.Trust.Insecure, Revocation: f.Trust.Revocation, CRLFile: f.Trust.CRLFile}
	if len(trustSet.Pins) == 0 {
		trustSet.Pins = f.Trust.Pins
	}
	cert, key := o.cert, o.key
	if cert == "" && key == "" {
		cert, key = f.Client.CertFile, f.Client.KeyFile
	}
	provider, timeout, ehlo := o.provider, o.timeout, or(o.ehlo, f.LocalName)
	if !set("tls-provider") && f.Provider != "" {
		provider = f.Provider
	}
	if !set("timeout") && f.Timeout > 0 {
		timeout = f.Timeout
	}
	if o.revocationFlag != "" {
		m, err := parseRevocation(o.revocationFlag)
		if err != nil {
			return submit.Account{}, usageErrorf("%v", err).withFix("use --revocation off, soft or strict")
		}
		trustSet.Revocation = m
	}
	if server == "" {
		return submit.Account{}, usageErrorf("no server given").withFix("pass --server HOST[:PORT], e.g. --server smtp.example.com:587")
	}
	mode := smtp.TLSMode(strings.ToLower(tlsMode))
	switch mode {
	case "", smtp.Implicit, smtp.StartTLS, smtp.None:
	default:
		return submit.Account{}, usageErrorf("unknown --tls mode %q", tlsMode).withFix("use --tls implicit, starttls or none")
	}
	host, port, err := splitServer(server, mode)
	if err != nil {
		return submit.Account{}, err
	}
	if mode == "" {
		mode = smtp.DefaultMode(port)
	}
	if err := checkTimeout(timeout); err != nil {
		return submit.Account{}, err
	}
	// Authentication: --user with a password flag, else the file's
	// account's, with a password flag or --auth given over it.
	auth := submit.Auth{User: o.user, Mechanism: strings.ToUpper(o.auth)}
	if o.user == "" && f.Auth.User != "" {
		auth = f.Auth
		if set("auth") {
			auth.Mechanism = strings.ToUpper(o.auth)
		}
	}
	if ref, ok := o.password.ref(); ok {
		auth.Secret = ref
	}
	if auth.Mechanism == "" {
		auth.Mechanism = "AUTO"
	}
	if err := checkAuthFlags(o, auth, mode); err != nil {
		return submit.Account{}, err
	}
	// TLS settings: checked here so that the errors name the flags; the
	// account they make is resolved by submit.Connector.Plan, as a queued
	// item is.
	if _, err := e.provider(provider); err != nil {
		return submit.Account{}, err
	}
	for _, pin := range trustSet.Pins {
		if err := checkPin(pin); err != nil {
			return submit.Account{}, err
		}
	}
	if key != "" && cert == "" {
		return submit.Account{}, usageErrorf("--key was given without --cert").withFix("add --cert FILE with the client certificate")
	}
	n, _ := strconv.Atoi(port)
	a := submit.Account{ConfigFile: f.ConfigFile, Name: f.Name, ConfigHost: f.ConfigHost, Host: host, Port: n, Mode: mode, Trust: trustSet,
		Client: submit.ClientIdentity{CertFile: cert, KeyFile: key}, Provider: provider, LocalName: ehlo, Timeout: timeout}
	if o.platformID != nil {
		// The client identity of this operating system's flags
		// (Windows: --cert-store, --pfx).
		id, err := o.platformID()
		if err != nil {
			return a, err
		}
		id.CertFile, id.KeyFile = cert, key
		a.Client = id
	}
	if auth.User != "" {
		a.Auth = auth
	}
	return a, nil
}

// checkTimeout checks --timeout, of probe and send alike: the library
// takes zero for its default, which a command line that says 0 does not
// mean.
func checkTimeout(d time.Duration) error {
	if d <= 0 {
		return usageErrorf("--timeout must be positive, not %v", d).withFix("e.g. --timeout 30s")
	}
	return nil
}

// flagUsage makes err, a *submit.Error of the account the flags made, a
// usage error; the flag-hint table adds the flags for its field to the
// fix. Any other error is returned as it is.
func flagUsage(err error) error {
	var se *submit.Error
	if !errors.As(err, &se) {
		return err
	}
	return usageErrorf("%s", se.Msg).wrapping(err).withFix(se.Fix)
}

// checkAuthFlags checks the authentication auth made of the flags and the
// configuration file (the password itself is read last, by authenticate)
// against the TLS mode.
func checkAuthFlags(o *sendOptions, auth submit.Auth, mode smtp.TLSMode) error {
	if err := auth.Check(); err != nil {
		return flagUsage(err) // an unknown mechanism, a user name on two lines
	}
	if err := o.password.check(); err != nil {
		return err
	}
	if auth.User == "" && o.password.count() > 0 {
		return usageErrorf("a password source was given without --user").
			withFix("add --user NAME, or drop the password flag to send without authentication")
	}
	if auth.User == "" && o.authSet {
		return usageErrorf("--auth was given without --user").withFix("add --user NAME and a password flag")
	}
	if auth.User != "" && auth.Secret.IsZero() && o.password.literal == "" {
		return usageErrorf("--user %s was given without a password source", auth.User).
			withFix("add --password-env VAR, --password-file FILE or --password-cmd CMD (there is no --password flag: command lines are visible to other users)")
	}
	if mode == smtp.None && auth.User != "" && auth.Mechanism == "AUTO" {
		return usageErrorf("refusing to send a password without TLS").
			withFix("use --tls starttls or --tls implicit; to send it in the clear anyway, name the mechanism, e.g. --auth PLAIN, as well as --tls none")
	}
	return nil
}

// authenticate reads the secrets (last, after every other check): a PFX
// file's password, and the password of the account's user (from where its
// reference says, or the demo's), setting p.cfg.Auth.
func (p *sendPlan) authenticate(ctx context.Context, e *env, o *sendOptions) error {
	if p.secrets != nil {
		if err := p.secrets(ctx); err != nil {
			return err
		}
	}
	a := &p.acct
	if a.Auth.User == "" {
		return nil
	}
	pw := o.password.literal
	if pw == "" {
		var err error
		if pw, err = o.connector(e).Secret(ctx, a, a.Auth.Secret); err != nil {
			return err
		}
	}
	p.cfg.Auth = &smtp.Auth{
		Mechanism:      a.Auth.Mechanism,
		Username:       a.Auth.User,
		Password:       pw,
		AllowPlaintext: a.Plaintext(),
	}
	return nil
}

// splitServer parses --server: HOST, HOST:PORT, [IPv6]:PORT or a bare IPv6
// address. The default port is 465 for implicit TLS, else 587.
func splitServer(s string, mode smtp.TLSMode) (host, port string, err error) {
	return parseHostPort(s, mode, func(why string) error {
		return usageErrorf("--server %q: %s", s, why).withFix("give HOST or HOST:PORT, e.g. smtp.example.com:587 or [2001:db8::1]:465")
	})
}

// parseHostPort parses the server of send and of probe
// (submit.ParseServer); bad makes the error from why the input is refused.
func parseHostPort(s string, mode smtp.TLSMode, bad func(why string) error) (host, port string, err error) {
	h, n, err := submit.ParseServer(s, mode)
	var se *submit.Error
	if errors.As(err, &se) {
		return "", "", bad(se.Msg)
	}
	return h, strconv.Itoa(n), err
}

// checkPin validates an SPKI pin: "sha256/" and the base64 of 32 bytes.
func checkPin(pin string) error {
	if _, err := trust.ParsePin(pin); err != nil {
		return usageErrorf("--pin %q is not a SHA-256 SPKI pin: %v", pin, err).wrapping(err).
			withFix("write it as sha256/ followed by the base64 of the SHA-256 of the certificate's SubjectPublicKeyInfo (44 characters); 'tlsmail probe' prints it")
	}
	return nil
}

// buildMessage composes the message from the flags, or prepares the one
// given with --message, and fills p.msg and p.env.
func buildMessage(e *env, o *sendOptions, p *sendPlan) error {
	var rcpts []string
	rcpts = append(rcpts, o.to...)
	rcpts = append(rcpts, o.cc...)
	rcpts = append(rcpts, o.bcc...)
	if o.message != "" {
		var conflicts []string
		for name, set := range map[string]bool{
			"--subject": o.subject != "", "--body": o.body != "", "--body-file": o.bodyFile != "",
			"--html-file": o.htmlFile != "", "--attach": len(o.attach) > 0, "--header": len(o.headers) > 0,
		} {
			if set {
				conflicts = append(conflicts, name)
			}
		}
		if len(conflicts) > 0 {
			return usageErrorf("--message cannot be combined with %s", strings.Join(sortStrings(conflicts), ", ")).
				withFix("either send a prepared message with --message, or compose one with --subject, --body and friends")
		}
		return prepareMessage(e, o, p, rcpts)
	}
	if o.body != "" && o.bodyFile != "" {
		return usageErrorf("both --body and --body-file were given").withFix("use one of them")
	}
	if o.from == "" {
		return usageErrorf("no sender given").withFix("pass --from you@example.com")
	}
	if len(rcpts) == 0 {
		return usageErrorf("no recipient given").withFix("pass --to someone@example.com (or --cc, --bcc)")
	}
	spec := message.Spec{
		From: o.from, To: o.to, Cc: o.cc, Bcc: o.bcc,
		Subject:  o.subject,
		Text:     o.body,
		TextFile: o.bodyFile,
		HTMLFile: o.htmlFile,
	}
	if o.cfg.aliases != "" {
		// The account's aliases file, as msmtp applies it.
		spec.ExpandRecipient = config.AliasExpander(o.cfg.aliases)
	}
	for _, h := range o.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return usageErrorf("--header %q is not \"Name: value\"", h).withFix(`write it as --header "X-Ticket: 1234"`)
		}
		spec.Headers = append(spec.Headers, message.Header{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	}
	for _, a := range o.attach {
		spec.Attachments = append(spec.Attachments, message.Attachment{Path: a})
	}
	m, err := message.Compose(spec)
	if err != nil {
		return err
	}
	p.msg = m
	p.env = submit.EnvelopeOf(m)
	p.env.DSN = o.cfg.dsn
	return p.env.Check()
}

// prepareMessage reads the header of a --message file (or stdin) now, so
// that its problems are usage errors before any connection; the body is
// streamed during DATA.
func prepareMessage(e *env, o *sendOptions, p *sendPlan, rcpts []string) error {
	var r io.Reader
	eightBit := false
	if o.message == "-" {
		r = e.stdin
	} else {
		// Only a regular file: /dev/zero would never end, and a pipe is
		// what standard input (--message -) is for.
		// message.OpenFile never blocks in open(2): a FIFO or device
		// swapped in after the check is refused, not waited on.
		f, err := message.OpenFile(o.message)
		if err != nil {
			if errors.Is(err, message.ErrNotRegular) {
				return usageErrorf("cannot use the message: %v", err).wrapping(err).
					withFix("give --message a regular file, or - and the message on standard input")
			}
			return usageErrorf("cannot open the message: %v", err).wrapping(err).withFix("check the path given to --message")
		}
		p.closeFn = func() { f.Close() }
		// The file is scanned first, so that 8-bit content is declared
		// (BODY=8BITMIME) before MAIL FROM; only its first scan8BitLimit
		// bytes, so that the time before connecting does not grow with
		// the file (see message.Scan8Bit).
		if eightBit, err = message.Scan8Bit(f, scan8BitLimit); err != nil {
			return usageErrorf("cannot read the message: %v", err).wrapping(err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return usageErrorf("cannot read the message: %v", err).wrapping(err)
		}
		r = f
	}
	from := o.from
	if from != "" && o.fromName != "" {
		// sendmail -F: the display name of a From field the message lacks.
		from = (&mail.Address{Name: o.fromName, Address: from}).String()
	}
	var expand func(string) ([]string, error)
	if o.localRcpts || o.cfg.aliases != "" {
		// sendmail mode, or an account with an aliases file.
		expand = config.AliasExpander(o.cfg.aliases)
	}
	popts := message.PrepareOptions{
		From:              from,
		Recipients:        rcpts,
		ExtractRecipients: len(rcpts) == 0 || o.extract,
		ExpandRecipient:   expand,
	}
	if o.headerAccount != nil {
		submit.HeaderOptions(o.headerAccount, &popts)
	}
	m, err := message.Prepare(r, popts)
	if err != nil {
		return err
	}
	p.msg = m
	p.env = submit.EnvelopeOf(m)
	if o.nullSender {
		p.env.From = "" // MAIL FROM:<> (RFC 5321 section 4.5.5)
	}
	p.env.DSN = o.cfg.dsn
	p.env.EightBit = p.env.EightBit || eightBit
	// The envelope's size limits (RFC 5321 section 4.5.3.1), before any
	// connection and before the message is queued.
	return p.env.Check()
}

// scan8BitLimit is how much of a --message file message.Scan8Bit reads before
// MAIL FROM: 8 MiB, a few milliseconds from the page cache.
const scan8BitLimit = 8 << 20

// silentGreetingNotice returns the smtp.Config.OnSilentGreeting of send:
// while tlsmail still waits, it says that a silent server may expect
// implicit TLS.
func silentGreetingNotice(w io.Writer, addr string) func(time.Duration) {
	return func(waited time.Duration) {
		fmt.Fprintf(w, "tlsmail: no greeting from %s after %v; if this port expects implicit TLS (like 465), stop and add --tls implicit\n", addr, waited)
	}
}
