package submit

import (
	"bytes"
	"context"
	"io"

	"github.com/tlsmail/tlsmail/message"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/smtp"
)

// EnvelopeOf is the SMTP envelope of m (RFC 5321 section 2.3.1): its
// reverse-path, its deduplicated forward-paths with the Bcc recipients
// (whose field message strips from the content), SMTPUTF8 (or a header
// to downgrade) and BODY=8BITMIME as m.Requirements says, and SIZE when m.Size knows it. For a prepared
// message whose body has not been read, EightBit reflects only its
// header's declaration; SendMessage reads ahead to know.
func EnvelopeOf(m *message.Message) smtp.Envelope {
	me := m.Envelope()
	req := m.Requirements()
	return smtp.Envelope{From: me.From, To: me.To, UTF8: req.SMTPUTF8, HeaderUTF8: req.HeaderUTF8, EightBit: req.EightBitMIME, Size: m.Size()}
}

// SendMessage sends m over the session c, deriving the envelope from m
// (EnvelopeOf): the caller never builds MAIL FROM or RCPT TO by hand, and
// Bcc recipients get the message without appearing in it. A prepared
// message's body is read ahead, up to 1 MiB held in memory, so that 8-bit
// content is declared (BODY=8BITMIME, RFC 6152) before MAIL FROM; a larger
// prepared message whose first MiB is 7-bit is declared 8BITMIME all the
// same (a 7-bit body may be, and the rest was not seen). The Result and
// error are those of smtp.Client.Send.
func SendMessage(ctx context.Context, c *smtp.Client, m *message.Message) (*smtp.Result, error) {
	env, r, err := messageSource(m)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return c.Send(ctx, env, r)
}

// SendMessage connects to a's server, sends m with the envelope derived
// from it (see the function SendMessage) and quits, as Send does.
func (c *Connector) SendMessage(ctx context.Context, a *Account, m *message.Message) (*smtp.Result, error) {
	env, r, err := messageSource(m)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return c.Send(ctx, a, env, r)
}

// messageSource returns m's envelope and content, reading a prepared
// message ahead to learn its 8-bit needs.
func messageSource(m *message.Message) (smtp.Envelope, io.ReadCloser, error) {
	rc := m.Reader()
	if !m.Prepared() {
		return EnvelopeOf(m), rc, nil
	}
	var head bytes.Buffer
	if _, err := head.ReadFrom(io.LimitReader(rc, scanAhead+1)); err != nil {
		rc.Close()
		return smtp.Envelope{}, nil, &smtp.Error{Kind: smtp.KindUsage, Op: "DATA", Err: err,
			Fix: "check the message source; nothing was sent"}
	}
	env := EnvelopeOf(m) // final for what was read
	if head.Len() <= scanAhead {
		env.Size = int64(head.Len())
	} else {
		env.EightBit = true
	}
	return env, readCloser{io.MultiReader(&head, rc), rc}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// QueueEnvelope is env as the outbox records it (outbox.Envelope): the
// paths, the DSN request (RFC 3461), and what the content needs of MAIL
// FROM as env declares it: BODY=7BIT or 8BITMIME (RFC 6152), SMTPUTF8
// (RFC 6531), a UTF-8 header to downgrade. Enqueue then records these
// instead of reading the content ahead. Use it when env's needs are known
// (EnvelopeOf of a composed message, or a prepared one whose content was
// scanned); otherwise leave Body empty and Enqueue scans.
func QueueEnvelope(env smtp.Envelope) outbox.Envelope {
	body := "7BIT"
	if env.EightBit {
		body = "8BITMIME"
	}
	return outbox.Envelope{From: env.From, To: env.To, Body: body, SMTPUTF8: env.UTF8, HeaderUTF8: env.HeaderUTF8,
		DSNNotify: env.DSN.Notify, DSNReturn: env.DSN.Return}
}
