package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
	"github.com/tlsmail/tlsmail/transcript"
	"github.com/tlsmail/tlsmail/trust"
)

// deliverer sends outbox batches with tlsmail's SMTP client: one
// connection per batch (the items share their Settings), RSET between
// messages (RFC 5321 section 4.1.1.5), and the password read again from
// the item's SecretRef, never from the spool.
type deliverer struct {
	e *env
	// transcript, if set, receives the session logs.
	transcript io.Writer
	// sent, if set, is told the outcome of each attempted item (for
	// `send --queue` output and `queue run` lines).
	sent func(it *outbox.Item, out *outcome, err error)
	// Shared by every batch of a run (deliver is called from several
	// goroutines): TLS sessions to resume (one cache per client
	// certificate, so that a session made with one identity is never
	// resumed by a batch configured with another), chain verdicts to reuse
	// (trust.Cache: the same verdict for the same chain and options), and
	// the CA pools read so far, so that equal pools are one pool and the
	// verdicts made with it are found again.
	mu       sync.Mutex
	sessions map[string]tls.ClientSessionCache
	verdicts *trust.Cache
	pools    []*x509.CertPool
	// down holds the servers (host:port) that let a timeout pass during
	// this run, with that error: their remaining items are deferred at
	// once rather than each waiting out its own timeout.
	down map[string]error
}

// serverDown is a server found unresponsive earlier in the run.
type serverDown struct {
	addr string
	err  error
}

func (e *serverDown) Error() string {
	return fmt.Sprintf("not tried: %s timed out earlier in this run (%v)", e.addr, e.err)
}

func (e *serverDown) Unwrap() error { return e.err }

// markDown records that addr let a timeout pass (not a cancelled run).
func (d *deliverer) markDown(ctx context.Context, addr string, err error) {
	if ctx.Err() != nil || !isTimeout(err) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down == nil {
		d.down = map[string]error{}
	}
	if d.down[addr] == nil {
		d.down[addr] = err
	}
}

// isDown returns the error of an earlier timeout on addr, if any.
func (d *deliverer) isDown(addr string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.down[addr]; err != nil {
		return &serverDown{addr: addr, err: err}
	}
	return nil
}

// isTimeout reports whether err is a deadline that passed: the server
// accepted the connection (or not) and then did not answer in time.
func isTimeout(err error) bool {
	if isKind(err, smtp.KindTimeout) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// shareCaches gives cfg the run's session cache for the client identity
// a names and its verdict cache, and replaces its CA pool with an equal one
// seen before.
func (d *deliverer) shareCaches(cfg *secchan.Config, a submit.Account) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sessions == nil {
		d.sessions = map[string]tls.ClientSessionCache{}
		d.verdicts = &trust.Cache{}
	}
	idJSON, _ := json.Marshal(a.Client)
	id := a.Provider + "\x00" + string(idJSON)
	if d.sessions[id] == nil {
		d.sessions[id] = tls.NewLRUClientSessionCache(64)
	}
	if cfg.SessionCache == nil {
		cfg.SessionCache = d.sessions[id]
	}
	if cfg.Trust.Cache == nil {
		cfg.Trust.Cache = d.verdicts
	}
	if r := cfg.Trust.Roots; r != nil {
		for _, p := range d.pools {
			if p.Equal(r) {
				cfg.Trust.Roots = p
				return
			}
		}
		d.pools = append(d.pools, r)
	}
}

// deliver is an outbox.Deliverer.
func (d *deliverer) deliver(ctx context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
	if len(batch) == 0 {
		return nil
	}
	var a submit.Account
	if err := json.Unmarshal(batch[0].Data(), &a); err != nil {
		return configErrorf("cannot read the queued item's settings: %v", err).wrapping(err).
			withFix("remove it with 'tlsmail queue remove ID' and send it again")
	}
	o, err := optionsFromAccount(ctx, d.e, a)
	if err != nil {
		return err
	}
	p, err := planConnection(d.e, o)
	if err != nil {
		return err
	}
	// A server that let a timeout pass earlier in the run gets no second
	// wait: the batch is deferred at once (and no password command runs).
	if err := d.isDown(p.addr); err != nil {
		return err
	}
	if err := p.authenticate(ctx, d.e, o); err != nil {
		return err
	}
	if d.transcript != nil {
		p.cfg.Transcript = transcript.New(d.transcript)
	}
	if p.cfg.TLS != nil {
		d.shareCaches(p.cfg.TLS, a)
	}
	// Items go out in sessions: smtp.Client.SendAll overlaps each
	// message's end of data with the next envelope (RFC 2920 section 3.1).
	// A session that fails is closed, and the first item it did not
	// report starts a new one.
	reported := make([]bool, len(batch))
	for i := 0; i < len(batch); {
		if ctx.Err() != nil {
			return nil // unreported items stay as they are
		}
		c, err := smtp.Dial(ctx, p.addr, &p.cfg)
		if err != nil {
			err = hintMode(err, p.cfg.Mode, p.addr)
			if r := classifyDelivery(err); r.Outcome == outbox.Permanent {
				// The server refuses service for good (5xx greeting or
				// EHLO): every item not yet reported fails, as a bounce.
				for j, it := range batch {
					if !reported[j] {
						report(it, r)
					}
				}
				return nil
			}
			// Unreported items are deferred with this error. A refused
			// login is deferred too (as Postfix soft-bounces it): the
			// password may be fixed before the message expires.
			d.markDown(ctx, p.addr, err)
			return err
		}
		base := outcome{addr: p.addr, mode: p.cfg.Mode, tlsName: p.cfg.TLS.ServerName, authMech: c.AuthMechanism()}
		if st, ok := c.TLS(); ok {
			base.tls = &st
		}
		finish := func(j int, res *smtp.Result, err error) {
			out := base
			out.result = res
			if d.sent != nil {
				d.sent(batch[j], &out, err)
			}
			report(batch[j], classifyDelivery(err))
			reported[j] = true
		}
		var (
			taken = i       // the next batch position to hand to SendAll
			pos   []int     // SendAll's message index -> batch position
			open  io.Closer // the previous message's file, if streamed
		)
		next := func() (smtp.Envelope, io.Reader, bool) {
			if open != nil {
				open.Close() // its data is written
				open = nil
			}
			for taken < len(batch) && ctx.Err() == nil {
				j := taken
				taken++
				env, r, err := prepareItem(batch[j])
				if err != nil {
					// Nothing was sent for it: the session goes on.
					finish(j, nil, err)
					continue
				}
				if cl, ok := r.(io.Closer); ok {
					open = cl
				}
				pos = append(pos, j)
				return env, r, true
			}
			return smtp.Envelope{}, nil, false
		}
		err = c.SendAll(ctx, next, func(k int, res *smtp.Result, err error) { finish(pos[k], res, err) })
		if open != nil {
			open.Close()
		}
		if err != nil {
			c.Close()
		} else {
			c.Quit(ctx)
		}
		if err != nil && ctx.Err() == nil && isTimeout(err) {
			// The server went silent (after the end of data, say): the
			// items it has not answered for are deferred now, with the
			// rest of its items in this run, instead of one timeout each.
			d.markDown(ctx, p.addr, err)
			return d.isDown(p.addr)
		}
		// Resume at the first item this session took and did not report
		// (one whose envelope was sent but not its data, after a failure);
		// SendAll reports the first message of a session in every case,
		// so each session makes progress.
		next0 := taken
		for j := i; j < taken; j++ {
			if !reported[j] {
				next0 = j
				break
			}
		}
		if next0 == i {
			return err // cannot happen; never loop on the same item
		}
		i = next0
	}
	return nil
}

// classifyDelivery is the outbox's verdict on a delivery error. An
// authentication failure is deferred whenever it happens, a refused login
// at connect or a 530 "authentication required" to MAIL alike (as Postfix
// soft-bounces them): the credentials may be fixed before the message
// expires.
func classifyDelivery(err error) outbox.Result {
	r := outbox.Classify(err)
	if r.Outcome == outbox.Permanent && isKind(err, smtp.KindAuth) {
		r.Outcome = outbox.Temporary
	}
	return r
}

// prepareItem returns the envelope of it and a reader of its content. The
// content must be scanned before MAIL FROM, to learn whether it needs
// 8BITMIME or SMTPUTF8 (and to check it against its checksum before
// anything is sent). A message up to smallItem bytes is read once into
// memory and sent from there; a larger one is read twice, once to scan and
// once during DATA, so that memory stays bounded: its reader is then an
// open file (an io.Closer) the caller closes after the data.
func prepareItem(it *outbox.Item) (smtp.Envelope, io.Reader, error) {
	env := smtp.Envelope{From: it.Envelope.From, To: it.Envelope.To, Size: it.Size}
	if !isASCII(it.Envelope.From) {
		env.UTF8 = true
	}
	for _, a := range it.Envelope.To {
		if !isASCII(a) {
			env.UTF8 = true
		}
	}
	r, err := it.Open()
	if err != nil {
		return env, nil, err
	}
	if it.Size >= 0 && it.Size <= smallItem {
		b, err := readExactly(r, it.Size)
		r.Close()
		if err != nil {
			return env, nil, err
		}
		headerUTF8, body8 := scanBytes(b)
		env.UTF8 = env.UTF8 || headerUTF8
		env.EightBit = body8
		return env, bytes.NewReader(b), nil
	}
	headerUTF8, body8, err := scanContent(r)
	r.Close()
	if err != nil {
		return env, nil, err
	}
	env.UTF8 = env.UTF8 || headerUTF8
	env.EightBit = body8
	r, err = it.Open()
	if err != nil {
		return env, nil, err
	}
	return env, r, nil
}

// readExactly reads the size bytes of an item's content in one buffer and
// then reads on to the end, where the outbox checks the checksum: content
// longer or shorter than size is an error.
func readExactly(r io.Reader, size int64) ([]byte, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("the queued content is shorter than its recorded size (%d bytes)", size)
		}
		return nil, err
	}
	var one [1]byte
	for range 8 { // a reader returns io.EOF, not (0, nil) for ever
		n, err := r.Read(one[:])
		if n > 0 {
			return nil, fmt.Errorf("the queued content is longer than its recorded size (%d bytes)", size)
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, errors.New("the queued content does not end")
}

// smallItem is the largest queued message sendItem reads into memory.
const smallItem = 1 << 20

// scanBytes is scanContent for a message in memory.
func scanBytes(b []byte) (header8, body8 bool) {
	end := len(b)
	// The header section ends at the first empty line.
	if i := bytes.Index(b, []byte("\n\r\n")); i >= 0 {
		end = i + 1
	}
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 && i+1 < end {
		end = i + 1
	}
	if len(b) > 0 && (b[0] == '\n' || (len(b) > 1 && b[0] == '\r' && b[1] == '\n')) {
		end = 0 // no header at all
	}
	return !isASCII(b[:end]), !isASCII(b[end:])
}

// scanContent reports whether the header section (up to the first empty
// line) and the body hold bytes above 127. Reading to the end also checks
// the spool file's checksum.
func scanContent(r io.Reader) (header8, body8 bool, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	inHeader := true
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if inHeader && (len(line) <= 2 && strings.TrimRight(string(line), "\r\n") == "") {
				inHeader = false
			} else if !isASCII(line) {
				if inHeader {
					header8 = true
				} else {
					body8 = true
				}
			}
			if inHeader && err == bufio.ErrBufferFull {
				// A very long header line: still part of the header.
				continue
			}
		}
		if err == nil || err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return header8, body8, nil
		}
		return header8, body8, err
	}
}

func isASCII[T string | []byte](s T) bool {
	// No early exit: a branch-free pass over a message is faster than
	// stopping at its first byte above 127 would save.
	var or byte
	for i := 0; i < len(s); i++ {
		or |= s[i]
	}
	return or < 0x80
}

func isKind(err error, k smtp.Kind) bool {
	var se *smtp.Error
	return errors.As(err, &se) && se.Kind == k
}

// accountFor turns a checked plan into the account its outbox item is
// delivered with. Relative file names become absolute (a queue runner may
// start elsewhere), and the password becomes a reference to its source:
// the spool never holds a secret.
func accountFor(o *sendOptions, p *sendPlan) (submit.Account, error) {
	host, port, err := net.SplitHostPort(p.addr)
	if err != nil {
		return submit.Account{}, usageErrorf("--server %q: %v", o.server, err)
	}
	n, _ := strconv.Atoi(port)
	a := submit.Account{
		ConfigFile: o.cfg.file,
		Name:       o.cfg.account,
		Host:       host,
		Port:       n,
		Mode:       p.cfg.Mode,
		Trust: submit.Trust{CAFile: o.ca, Pins: o.pins, Insecure: o.insecure, ServerName: o.tlsName,
			Revocation: o.revocation},
		Client:    submit.ClientIdentity{CertFile: o.cert, KeyFile: o.key},
		Provider:  o.provider,
		LocalName: o.ehlo,
		Timeout:   o.timeout,
	}
	if o.platformID != nil {
		// The Windows certificate store or PFX file of --cert-store,
		// --cert-thumbprint, --cert-subject and --pfx.
		id := o.platformID()
		a.Client.Store, a.Client.Thumbprint, a.Client.Subject = id.Store, id.Thumbprint, id.Subject
		a.Client.PFXFile, a.Client.PFXPassword = id.PFXFile, id.PFXPassword
	}
	a.AbsPaths()
	if o.user == "" {
		return a, nil
	}
	a.Auth.User = o.user
	a.Auth.Mechanism = strings.ToUpper(o.auth)
	if a.Auth.Mechanism == "" {
		a.Auth.Mechanism = "AUTO"
	}
	switch {
	case o.cfg.password:
		if a.ConfigFile == "" {
			return a, configErrorf("the password comes from a configuration file tlsmail cannot name again")
		}
		a.Auth.Secret = submit.SecretRef{Source: submit.SecretConfig, Ref: o.cfg.account}
	case o.password.env != "":
		a.Auth.Secret = submit.SecretRef{Source: submit.SecretEnv, Ref: o.password.env}
	case o.password.file != "":
		a.Auth.Secret = submit.SecretRef{Source: submit.SecretFile, Ref: absPath(o.password.file)}
	case o.password.cmd != "":
		a.Auth.Secret = submit.SecretRef{Source: submit.SecretCommand, Ref: o.password.cmd}
	default:
		// A literal password the outbox cannot refer to (the demo's).
		return a, usageErrorf("this password cannot be queued: it has no source to read it from again").
			withFix("use --password-env, --password-file or --password-cmd, or a configuration account")
	}
	return a, nil
}

// optionsFromAccount rebuilds the send flags of a queued item, so that
// planConnection checks and resolves them exactly as for `send`. The
// password source is taken from a.Auth.Secret; for a configuration account
// the file is read again now.
func optionsFromAccount(ctx context.Context, e *env, a submit.Account) (*sendOptions, error) {
	o := &sendOptions{
		server:     a.Addr(),
		tlsMode:    string(a.Mode),
		pins:       a.Trust.Pins,
		insecure:   a.Trust.Insecure,
		tlsName:    a.Trust.ServerName,
		ca:         a.Trust.CAFile,
		cert:       a.Client.CertFile,
		key:        a.Client.KeyFile,
		provider:   a.Provider,
		revocation: a.Trust.Revocation,
		ehlo:       a.LocalName,
		timeout:    a.Timeout,
		auth:       "auto",
	}
	platform, err := platformFromIdentity(a.Client)
	if err != nil {
		return nil, err
	}
	o.platform = platform
	if o.provider == "" {
		o.provider = defaultProvider
	}
	if o.timeout <= 0 {
		o.timeout = smtp.DefaultTimeout
	}
	if a.Trust.Fingerprint != "" {
		return nil, configErrorf("the queued item pins a certificate fingerprint, which tlsmail does not support").
			withFix("remove the item with 'tlsmail queue remove ID' and send it again with tls_pin")
	}
	if a.Auth.User == "" {
		return o, nil
	}
	o.user = a.Auth.User
	if m := strings.ToLower(a.Auth.Mechanism); m != "" && m != "auto" {
		o.auth, o.authSet = a.Auth.Mechanism, true
	}
	switch a.Auth.Secret.Source {
	case submit.SecretEnv:
		o.password.env = a.Auth.Secret.Ref
	case submit.SecretFile:
		o.password.file = a.Auth.Secret.Ref
	case submit.SecretCommand:
		o.password.cmd = a.Auth.Secret.Ref
	case submit.SecretConfig:
		if err := passwordFromConfig(ctx, e, a, o); err != nil {
			return nil, err
		}
	default:
		return nil, configErrorf("the queued item authenticates as %s but names no password source (%q)", a.Auth.User, a.Auth.Secret.Source).
			withFix("remove it with 'tlsmail queue remove ID' and send it again")
	}
	return o, nil
}

// passwordFromConfig reads the password source of account a.Auth.Secret.Ref
// in a.ConfigFile again, as applyConfig does for `send`.
func passwordFromConfig(ctx context.Context, e *env, acct submit.Account, o *sendOptions) error {
	home := e.getenv("HOME")
	if home == "" && runtime.GOOS == "windows" {
		home = e.getenv("USERPROFILE")
	}
	f, err := config.Load(ctx, acct.ConfigFile, config.Options{Home: home, Eval: config.RunCommand})
	if err != nil {
		return err
	}
	a, err := f.Account(acct.Auth.Secret.Ref)
	if err != nil {
		return err
	}
	switch {
	case a.PasswordEval != "":
		o.password.cmd = a.PasswordEval
	case a.Password != "":
		if runtime.GOOS != "windows" {
			if fi, err := os.Stat(acct.ConfigFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
				return configErrorf("%s holds a password but can be read by other users (mode %04o)", acct.ConfigFile, fi.Mode().Perm()).
					withFix("run: chmod 600 " + shellQuote(acct.ConfigFile) + " (or use passwordeval instead of password)")
			}
		}
		o.password.literal = a.Password
	default:
		return &config.Error{File: a.File, Line: a.Line, Key: "password",
			Msg: fmt.Sprintf("account %s no longer has a password or passwordeval", a.Name),
			Fix: "add passwordeval (or password) to the account; the message stays queued"}
	}
	return nil
}

// absPath makes p absolute ("" stays "").
func absPath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
