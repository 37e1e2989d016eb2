package submit

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
	"maps"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/transcript"
	"github.com/tlsmail/tlsmail/trust"
)

// Deliverer sends outbox batches with tlsmail's SMTP client: one
// connection per batch (the items share their Account), messages
// pipelined (RFC 2920), a new session resuming after one that broke, and
// the password read again from the Account's SecretRef, never from the
// spool. Its Deliver method is an outbox.Deliverer; a Deliverer is used by
// several goroutines at once (outbox.RunConfig.Parallel) and keeps, for
// its lifetime, the TLS sessions to resume, the chain verdicts and the
// servers that timed out: use one per run (or per Worker pass).
type Deliverer struct {
	// Connect resolves a batch's Account into its connection, without
	// network traffic and without reading the secret. nil means
	// (*Connector).Plan of a zero Connector. For the items of a store
	// others can write (outbox.Store.Shared, the PostgreSQL queue), use a
	// Connector whose Policy is Shared: RunPass and Worker do so
	// themselves.
	Connect func(ctx context.Context, a *Account) (*Plan, error)
	// Transcript, if set, receives the session logs. Sessions delivered
	// at once write whole lines to it in turn (the Deliverer serialises
	// its writes), so it need not be safe for concurrent use.
	Transcript io.Writer
	// Sent, if set, is told the outcome of each attempted item, before it
	// is reported to the outbox; it is called from several goroutines at
	// once.
	Sent func(it *outbox.Item, s *Sent)
	// Requeue, if set, is where the recipients of a partly accepted item
	// that stay refused with a 4xx reply (or got no reply: a further
	// transaction whose session failed) are queued again, as a new item
	// with the same content and Account, to be retried with the backoff
	// (RFC 5321 section 4.2.5: a 4xx is worth another attempt); the item
	// itself is settled, the others having the message. When nil, or when
	// that enqueue fails, they are reported refused (a *RecipientsError).
	Requeue outbox.Store
	// Shared by every batch of a run (deliver is called from several
	// goroutines): TLS sessions to resume (one cache per client
	// certificate, so that a session made with one identity is never
	// resumed by a batch configured with another), chain verdicts to reuse
	// (trust.Cache: the same verdict for the same chain and options), and
	// the CA pools read so far, so that equal pools are one pool and the
	// verdicts made with it are found again.
	mu       sync.Mutex
	tw       *syncWriter // Transcript, its writes serialised
	sessions map[string]tls.ClientSessionCache
	verdicts *trust.Cache
	pools    []*x509.CertPool
	// down holds the servers (host:port) that let a timeout pass during
	// this run, with that error: their remaining items are deferred at
	// once rather than each waiting out its own timeout.
	down map[string]error
}

// Plan is an Account resolved into a connection: the address to dial and
// the smtp.Config, its password not read yet.
type Plan struct {
	Addr   string
	Config smtp.Config
	// Authenticate reads the secrets and sets Config.Auth (the password)
	// and, for a PFX file, Config.TLS.Certificates (the file decoded with
	// its password); nil when the account has neither. It is called only
	// when a connection is about to be made.
	Authenticate func(ctx context.Context) error
}

// Sent is what the delivery of one item learnt: as much as was known
// before any failure.
type Sent struct {
	Addr string
	Mode smtp.TLSMode
	// TLSName is the name the certificate was verified for.
	TLSName  string
	TLS      *secchan.State
	AuthMech string
	Result   *smtp.Result
	Err      error
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
func (d *Deliverer) markDown(ctx context.Context, addr string, err error) {
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
func (d *Deliverer) isDown(addr string) error {
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
func (d *Deliverer) shareCaches(cfg *secchan.Config, a Account) {
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

// Deliver is an outbox.Deliverer: it sends the batch, whose items share
// one Account (their outbox.Data), and reports each item's outcome as
// Classify says.
func (d *Deliverer) Deliver(ctx context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
	return d.deliver(ctx, batch, report, d.Sent)
}

// deliver is Deliver telling sent (Deliverer.Sent, or DeliverNow's hook
// around it) what each attempted item's delivery learnt.
func (d *Deliverer) deliver(ctx context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result), sent func(*outbox.Item, *Sent)) error {
	if len(batch) == 0 {
		return nil
	}
	if k := unknownSetting(batch[0].Data()); k != "" {
		// Written by a newer tlsmail (workers of two versions sharing one
		// PostgreSQL queue, or a downgrade): delivering it without a
		// setting this version does not know could drop a trust or auth
		// requirement, and failing it would take it from a worker that
		// can deliver it. It waits, with the reason, until one does or it
		// expires.
		e := newerSettings(k)
		for _, it := range batch {
			report(it, outbox.Result{Outcome: outbox.Temporary, Err: e})
		}
		return nil
	}
	var a Account
	if err := json.Unmarshal(batch[0].Data(), &a); err != nil {
		// Settings this tlsmail cannot read (written by another version,
		// or damaged) will not be readable at the next attempt either:
		// the items fail at once, as permanent failures that keep the
		// message, instead of being retried until they expire. The batch
		// shares the settings (the outbox groups items by them).
		e := unreadableSettings(err)
		for _, it := range batch {
			report(it, outbox.Result{Outcome: outbox.Permanent, Err: e})
		}
		return nil
	}
	connect := d.Connect
	if connect == nil {
		connect = (&Connector{}).Plan
	}
	p, err := connect(ctx, &a)
	if err != nil {
		return err
	}
	// A server that let a timeout pass earlier in the run gets no second
	// wait: the batch is deferred at once (and no password command runs).
	if err := d.isDown(p.Addr); err != nil {
		return err
	}
	if p.Authenticate != nil {
		if err := p.Authenticate(ctx); err != nil {
			return err
		}
	}
	if d.Transcript != nil {
		p.Config.Transcript = transcript.New(d.transcript())
	}
	if p.Config.TLS != nil {
		d.shareCaches(p.Config.TLS, a)
	}
	// Items go out in sessions: smtp.Client.SendAll overlaps each
	// message's end of data with the next envelope (RFC 2920 section 3.1).
	// A session that fails is closed, and the first item it did not
	// report starts a new one.
	reported := make([]bool, len(batch))
	// Items the server took for some recipients: what they placed so far
	// and the recipients a further transaction is to try (RFC 5321
	// section 4.5.3.1.10).
	progress := map[int]*recipientProgress{}
	type retry struct {
		j  int
		to []string
	}
	var retries []retry
	for i := 0; i < len(batch); {
		if ctx.Err() != nil {
			return nil // unreported items stay as they are
		}
		// When every item left asks for delivery status notifications,
		// a server without DSN is found before AUTH, as msmtp finds it
		// (a login problem does not hide it); otherwise each item's
		// MAIL FROM finds it.
		p.Config.RequireDSN = true
		for j := i; j < len(batch); j++ {
			if !reported[j] && batch[j].Envelope.DSNNotify == "" && batch[j].Envelope.DSNReturn == "" {
				p.Config.RequireDSN = false
			}
		}
		c, err := smtp.Dial(ctx, p.Addr, &p.Config)
		if err != nil {
			if r := Classify(err); r.Outcome == outbox.Permanent {
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
			d.markDown(ctx, p.Addr, err)
			return err
		}
		base := Sent{Addr: p.Addr, Mode: p.Config.Mode, AuthMech: c.AuthMechanism()}
		if p.Config.TLS != nil {
			base.TLSName = p.Config.TLS.ServerName
		}
		if st, ok := c.TLS(); ok {
			base.TLS = &st
		}
		finish := func(j int, res *smtp.Result, err error) {
			out := base
			out.Result, out.Err = res, err
			if sent != nil {
				sent(batch[j], &out)
			}
			report(batch[j], Classify(err))
			reported[j] = true
		}
		// settle ends one transaction of item j (to: its recipients when
		// it was a further one): an item the server took for some
		// recipients and refused for others is sent again to the ones
		// refused with 4xx while each transaction places some, and is
		// then reported once, delivered or with a *RecipientsError.
		settle := func(j int, to []string, res *smtp.Result, err error) {
			pr := progress[j]
			if pr == nil && (err != nil || res == nil || len(res.Rejected) == 0) {
				finish(j, res, err)
				return
			}
			if pr == nil {
				pr = &recipientProgress{}
				progress[j] = pr
			}
			switch {
			case err == nil && res != nil:
				again, final := retryable(res)
				pr.delivered = append(pr.delivered, res.Accepted...)
				pr.refused = append(pr.refused, final...)
				pr.last = res
				if len(again) > 0 {
					retries = append(retries, retry{j, again})
					reported[j] = true // settled by a further transaction
					return
				}
			case res != nil && len(res.Rejected) > 0 && len(res.Accepted) == 0:
				pr.refused = append(pr.refused, res.Rejected...)
			default:
				// The further transaction failed as a whole: its
				// recipients are refused with that failure.
				if err == nil {
					err = errors.New("no reply")
				}
				reply := smtp.Reply{Lines: []string{err.Error()}}
				var se *smtp.Error
				if errors.As(err, &se) && se.Reply != nil {
					reply = *se.Reply
				}
				for _, a := range to {
					pr.refused = append(pr.refused, smtp.RecipientError{Addr: a, Reply: reply})
				}
			}
			merged := &smtp.Result{Accepted: pr.delivered, Rejected: pr.refused}
			if pr.last != nil {
				merged.Response, merged.Bytes = pr.last.Response, pr.last.Bytes
			}
			refused, requeued := d.requeue(ctx, batch[j], &a, pr.refused)
			if len(refused) == 0 {
				finish(j, merged, nil)
				return
			}
			finish(j, merged, &RecipientsError{Delivered: pr.delivered, Refused: refused, Requeued: requeued})
		}
		var (
			taken = i       // the next batch position to hand to SendAll
			pos   []int     // SendAll's message index -> batch position
			open  io.Closer // the previous message's file, if streamed
		)
		next := func() (smtp.Envelope, io.Reader, error) {
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
				return env, r, nil
			}
			return smtp.Envelope{}, nil, io.EOF
		}
		err = c.SendAll(ctx, next, func(k int, res *smtp.Result, err error) { settle(pos[k], nil, res, err) })
		if open != nil {
			open.Close()
		}
		// The recipients refused with 4xx by a transaction that placed
		// others go in new transactions on the same session.
		for err == nil && len(retries) > 0 && ctx.Err() == nil {
			rt := retries[0]
			retries = retries[1:]
			env, r, perr := prepareItem(batch[rt.j])
			if perr != nil {
				settle(rt.j, rt.to, nil, perr)
				continue
			}
			env.To = rt.to
			res, serr := c.Send(ctx, env, r)
			if cl, ok := r.(io.Closer); ok {
				cl.Close()
			}
			settle(rt.j, rt.to, res, serr)
			if serr != nil && !isKind(serr, smtp.KindRejected) {
				err = serr // the session is gone
			}
		}
		for _, rt := range retries {
			// Not tried: the session ended (or the run was cancelled).
			cause := err
			if cause == nil {
				cause = ctx.Err()
			}
			settle(rt.j, rt.to, nil, fmt.Errorf("not sent: the session ended before a further transaction (%v)", cause))
		}
		retries = nil
		if err != nil {
			c.Close()
		} else {
			c.Quit(ctx)
		}
		if err != nil && ctx.Err() == nil && isTimeout(err) {
			// The server went silent (after the end of data, say): the
			// items it has not answered for are deferred now, with the
			// rest of its items in this run, instead of one timeout each.
			d.markDown(ctx, p.Addr, err)
			return d.isDown(p.Addr)
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

// transcript returns the Deliverer's Transcript behind one lock: each
// batch has a transcript.Log of its own, and batches run at once.
func (d *Deliverer) transcript() io.Writer {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tw == nil {
		d.tw = &syncWriter{w: d.Transcript}
	}
	return d.tw
}

// syncWriter serialises the writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Classify is the outbox's verdict on a delivery error, the one retry
// classification of tlsmail's command line and library alike: as
// outbox.Classify, except that an authentication failure is deferred
// whenever it happens, a refused login at connect or a 530 "authentication
// required" to MAIL alike (as Postfix soft-bounces them): the credentials
// may be fixed before the message expires. Settings of the account that
// cannot work (a KindConfig *smtp.Error: a malformed OAuth token, a user
// name with control characters) are deferred too, as the other
// configuration problems of a queued item (*Error, *config.Error: a
// missing netrc entry, a failing passwordeval) are: the item reads its
// account again at delivery, so fixing the configuration heals it (Heals
// is false for them all, so the user is told to fix it). A failure to
// read the queued message itself while it was sent (a sourceError) is
// judged by that read error as outbox.Classify judges it (damaged,
// outbox.ErrDamaged: permanent; anything else: tried again), not by the
// SMTP error of the DATA it cut short. A *RecipientsError's Result names
// the refused recipients (outbox.Result.Recipients): the failed item
// keeps only them.
func Classify(err error) outbox.Result {
	var se *sourceError
	if errors.As(err, &se) {
		// The stored message could not be read to its end while it was
		// sent: the server dropped the partial message (the connection
		// was closed without the end marker), and the smtp layer's
		// verdict (a usage error: "check the message file") is not the
		// item's. The queue's read error decides: a database that went
		// away, or an item another runner took over and removed, is
		// tried again, never a bounce.
		r := outbox.Classify(se.err)
		r.Err = err
		return r
	}
	r := outbox.Classify(err)
	if r.Outcome == outbox.Permanent && (isKind(err, smtp.KindAuth) || isKind(err, smtp.KindConfig)) {
		r.Outcome = outbox.Temporary
	}
	// A message some recipients took: the failure concerns only the
	// refused ones, and the failed item names only them.
	var re *RecipientsError
	if r.Outcome == outbox.Permanent && errors.As(err, &re) {
		for _, f := range re.Refused {
			r.Recipients = append(r.Recipients, f.Addr)
		}
	}
	return r
}

// prepareItem returns the envelope of it and a reader of its content.
// What the content needs of MAIL FROM (8BITMIME, SMTPUTF8) was recorded
// when it was queued (outbox.Envelope.Body); an item without that record
// (queued by an earlier version, or too large to scan then) is scanned now,
// before MAIL FROM. A message up to smallItem bytes is read once into
// memory, which also checks it against its checksum before anything is
// sent; a larger one is streamed from its file (an io.Closer the caller
// closes after the data), read twice when it must be scanned, so that
// memory stays bounded.
func prepareItem(it *outbox.Item) (smtp.Envelope, io.Reader, error) {
	env := smtp.Envelope{From: it.Envelope.From, To: it.Envelope.To, Size: it.Size,
		DSN: smtp.DSN{Notify: it.Envelope.DSNNotify, Return: it.Envelope.DSNReturn}}
	if !isASCII(it.Envelope.From) {
		env.UTF8 = true
	}
	for _, a := range it.Envelope.To {
		if !isASCII(a) {
			env.UTF8 = true
		}
	}
	recorded := it.Envelope.Body != ""
	if recorded {
		// An earlier version recorded SMTPUTF8 for a UTF-8 header
		// too: with ASCII addresses, that is all it can have meant.
		env.HeaderUTF8 = !env.UTF8 && (it.Envelope.HeaderUTF8 || it.Envelope.SMTPUTF8)
		env.EightBit = strings.EqualFold(it.Envelope.Body, "8BITMIME")
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
		if !recorded {
			headerUTF8, body8 := scanBytes(b)
			env.HeaderUTF8 = headerUTF8 && !env.UTF8
			env.EightBit = body8
		}
		return env, bytes.NewReader(b), nil
	}
	if recorded {
		return env, itemReader{r}, nil
	}
	headerUTF8, body8, err := scanContent(r)
	r.Close()
	if err != nil {
		return env, nil, err
	}
	env.HeaderUTF8 = headerUTF8 && !env.UTF8
	env.EightBit = body8
	r, err = it.Open()
	if err != nil {
		return env, nil, err
	}
	return env, itemReader{r}, nil
}

// sourceError is a failure to read a queued item's stored message while
// it was being sent (a PostgreSQL queue's next slice: the item was removed
// or changed by another runner, the database could not be reached; a
// spool file found damaged at its end). Classify judges the item by it,
// not by the *smtp.Error of the DATA it interrupted.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// itemReader marks its reader's failures (io.EOF aside) as sourceErrors.
type itemReader struct{ io.ReadCloser }

func (r itemReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = &sourceError{err}
	}
	return n, err
}

// readExactly reads the size bytes of an item's content in one buffer and
// then reads on to the end, where the outbox checks the checksum: content
// longer or shorter than size is an error with outbox.ErrDamaged (reading
// it again reads the same).
func readExactly(r io.Reader, size int64) ([]byte, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("the queued content is shorter than its recorded size (%d bytes): %w", size, outbox.ErrDamaged)
		}
		return nil, err
	}
	var one [1]byte
	for range 8 { // a reader returns io.EOF, not (0, nil) for ever
		n, err := r.Read(one[:])
		if n > 0 {
			return nil, fmt.Errorf("the queued content is longer than its recorded size (%d bytes): %w", size, outbox.ErrDamaged)
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

// requeue queues the recipients refused with 4xx again in d.Requeue, as
// a new item with its content and Account, and returns the refusals left
// to report and the addresses queued again.
func (d *Deliverer) requeue(ctx context.Context, it *outbox.Item, a *Account, refused []smtp.RecipientError) ([]smtp.RecipientError, []string) {
	if d.Requeue == nil {
		return refused, nil
	}
	var again []string
	var left []smtp.RecipientError
	for _, r := range refused {
		// A 4xx, or no reply at all (the further transaction's session
		// failed or ended: the server refused nothing), is worth another
		// attempt; only a 5xx is final.
		if r.Reply.Code/100 == 4 || r.Reply.Code == 0 {
			again = append(again, r.Addr)
		} else {
			left = append(left, r)
		}
	}
	if len(again) == 0 {
		return refused, nil
	}
	rd, err := it.Open()
	if err != nil {
		return refused, nil
	}
	defer rd.Close()
	env := it.Envelope
	env.To = again
	// Not cancelled with the run: the others have the message and the
	// item is settled now, so these recipients must be recorded (a local
	// copy, bounded) even when the run is stopping.
	if _, err := Enqueue(context.WithoutCancel(ctx), d.Requeue, a, env, rd); err != nil {
		return refused, nil
	}
	return left, again
}

// unreadableSettings is the *Error of an outbox item whose settings do not
// decode into an Account. Its message is the item's stored reason, so it
// says what to do itself.
// newerSettings is why an item whose settings name key, which this
// version does not know, is left for another worker.
func newerSettings(key string) *Error {
	const fix = "run a tlsmail as new as the one that queued it (every worker sharing the queue should run the same version)"
	return &Error{Field: "account",
		Msg: fmt.Sprintf("the queued item's settings hold %q, which this tlsmail does not know (written by a newer version); not sent, left for a newer worker: %s", key, fix),
		Fix: fix}
}

// unknownSetting is the first key (in sorted order) of the settings b
// that the item format (wire) does not have, or "" when there is none or
// b is not a JSON object (json.Unmarshal then says what is wrong).
func unknownSetting(b []byte) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return ""
	}
	known := wireKeys()
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !known[k] {
			return k
		}
	}
	return ""
}

// wireKeys are the JSON names of wire's fields.
var wireKeys = sync.OnceValue(func() map[string]bool {
	t := reflect.TypeFor[wire]()
	keys := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys[name] = true
	}
	return keys
})

func unreadableSettings(err error) *Error {
	const fix = "send the message again (the failed item keeps it) with settings this version can read, then remove the failed item"
	return &Error{Field: "account", Err: err, Fix: fix,
		Msg: fmt.Sprintf("cannot read the queued item's settings (written by another version, or damaged): %v; nothing was sent: %s", err, fix)}
}
