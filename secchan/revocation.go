package secchan

import (
	"context"
	"time"
)

// RevocationBudget returns how long the revocation fetches (CRL, OCSP:
// RFC 5280 section 6.3, RFC 6960) of the certificate verification inside a
// handshake may take, when the verification starts at now and the
// handshake must end by deadline: half of the time left. The other half is
// for the rest of the handshake and for reporting, so that a responder
// that never answers (a firewall that drops packets) ends as an unknown
// revocation status (a warning under soft revocation, an error naming
// revocation under strict) rather than as a handshake timeout that blames
// the server. ok is false for a zero deadline (no bound: each fetch keeps
// its own timeout). A deadline already passed gives 0.
//
// Every provider uses it, so that the same server and the same --timeout
// give the same verdict whichever TLS implementation runs.
func RevocationBudget(now, deadline time.Time) (d time.Duration, ok bool) {
	if deadline.IsZero() {
		return 0, false
	}
	// Sub saturates at the largest Duration, so a far deadline does not
	// overflow; halving cannot.
	left := deadline.Sub(now)
	if left <= 0 {
		return 0, true
	}
	return left / 2, true
}

// RevocationContext returns ctx bounded to RevocationBudget of ctx's
// deadline: the context a provider passes to the verification it runs
// inside the handshake. The caller must call the CancelFunc.
func RevocationContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	now := time.Now()
	d, _ := RevocationBudget(now, dl)
	return context.WithDeadline(ctx, now.Add(d))
}
