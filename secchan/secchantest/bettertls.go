package secchantest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testbettertls"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/trust"
)

// BetterTLSResult counts what BetterTLS found.
type BetterTLSResult struct {
	// Cases and Agree count, per suite, the cases run and those whose
	// outcome was right in every respect.
	Cases, Agree map[string]int
	// Refused counts the refusals, Unparseable those for a certificate
	// crypto/x509 cannot parse.
	Refused, Unparseable int
	// Known counts the cases BetterTLSOptions.Known excused.
	Known int
}

// BetterTLSOptions adjusts BetterTLS.
type BetterTLSOptions struct {
	// Workers is how many cases run at once; zero means 2.
	Workers int
	// Known, if set, is asked about each case whose outcome is wrong (err
	// says how): a non-empty answer is the documented reason it is a
	// known gap of the provider or of its environment (Wine), and the
	// case is logged with it and counted in Known instead of failing the
	// test. A case whose verdict is wrong is never excused.
	Known func(c testbettertls.Case, err error) string
}

// BetterTLS runs the BetterTLS cases refs of s through p, each over its own
// TLS connection on loopback to a crypto/tls server presenting the case's
// chain, workers at a time. The client trusts s.Root only (the --ca path,
// where package trust decides for every provider) and verifies the case's
// name. Each case must get BetterTLS's verdict (a soft verdict taken the
// strict way); a refusal must be a *trust.Error, with a fix, whose problem
// kinds are those trust.VerifyDER reports for the same chain and options,
// and include one of the kinds testbettertls gives for the case and no
// other. Disagreements are test errors; the counts are returned.
func BetterTLS(t *testing.T, p secchan.Provider, s *testbettertls.Suites, refs []testbettertls.Ref, opts BetterTLSOptions) BetterTLSResult {
	t.Helper()
	workers := opts.Workers
	if workers <= 0 {
		workers = 2
	}
	res := BetterTLSResult{Cases: map[string]int{}, Agree: map[string]int{}}
	roots := s.Roots()
	var (
		mu       sync.Mutex
		failures []string
		wg       sync.WaitGroup
	)
	next := make(chan testbettertls.Ref)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ref := range next {
				c, err := s.Case(ref)
				var refused, unparseable, verdictOK bool
				if err == nil {
					refused, unparseable, err = betterTLSCase(p, c, roots)
					verdictOK = refused != c.Want.Accept()
				}
				known := ""
				if err != nil && verdictOK && opts.Known != nil {
					known = opts.Known(c, err)
				}
				mu.Lock()
				res.Cases[ref.Suite]++
				if known != "" {
					res.Known++
					t.Logf("%v (want %v): known gap: %s (%v)", ref, c.Want, known, err)
				} else if err != nil {
					failures = append(failures, fmt.Sprintf("%v (want %v): %v", ref, c.Want, err))
				} else {
					res.Agree[ref.Suite]++
				}
				if refused {
					res.Refused++
				}
				if unparseable {
					res.Unparseable++
				}
				mu.Unlock()
			}
		}()
	}
	for _, r := range refs {
		next <- r
	}
	close(next)
	wg.Wait()
	sort.Strings(failures)
	for i, f := range failures {
		if i == 20 {
			t.Errorf("... and %d more", len(failures)-20)
			break
		}
		t.Error(f)
	}
	return res
}

// betterTLSCase runs case c through p and says how the outcome is wrong;
// refused is true when the handshake failed, whatever the error.
func betterTLSCase(p secchan.Provider, c testbettertls.Case, roots *x509.CertPool) (refused, unparseable bool, err error) {
	cfg := &secchan.Config{ServerName: c.Host}
	cfg.Trust.Roots = roots
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	conn, herr := betterTLSDial(ctx, p, c, cfg)
	if herr == nil {
		if !c.Want.Accept() {
			return false, false, fmt.Errorf("accepted; report: %v", conn.State().Report.Problems)
		}
		if st := conn.State(); !st.Verified || !st.Report.OK() {
			return false, false, fmt.Errorf("accepted, but State() says Verified %v with %v", st.Verified, st.Report.Problems)
		}
		return false, false, nil
	}
	var te *trust.Error
	if !errors.As(herr, &te) {
		return true, false, fmt.Errorf("handshake error %w (%T), want a *trust.Error", herr, herr)
	}
	refused, unparseable = true, te.Report.Has(trust.KindUnparseable)
	if c.Want.Accept() {
		return refused, unparseable, fmt.Errorf("refused: %v", te)
	}
	if te.Fix() == "" {
		return refused, unparseable, fmt.Errorf("the refusal says nothing about what to do: %v", te)
	}
	want := trust.VerifyDER(ctx, c.Chain, cfg.TrustOptions())
	if !sameKinds(te.Report, want) {
		return refused, unparseable, fmt.Errorf("provider reports %v, package trust reports %v for the same chain", kinds(te.Report), kinds(want))
	}
	named := false
	for _, k := range kinds(te.Report) {
		if !slices.Contains(c.Kinds(), string(k)) {
			return refused, unparseable, fmt.Errorf("refused with %s, want only %s: %v", k, strings.Join(c.Kinds(), ", "), te)
		}
		named = true
	}
	if !named {
		return refused, unparseable, fmt.Errorf("refused with no error-level problem: %v", te)
	}
	return refused, unparseable, nil
}

// betterTLSDial serves c's chain on a fresh loopback listener and runs p's
// handshake against it.
func betterTLSDial(ctx context.Context, p secchan.Provider, c testbettertls.Case, cfg *secchan.Config) (secchan.Conn, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		raw, err := ln.Accept()
		if err != nil {
			return
		}
		defer raw.Close()
		raw.SetDeadline(time.Now().Add(ioTimeout))
		cert := tls.Certificate{Certificate: c.Chain, PrivateKey: c.Key}
		serveTLS(raw, ServerConfig(cert), func(tc *tls.Conn) error {
			// Until the client closes, or refuses the chain (TLS 1.3: the
			// server's side of the handshake is over before the client
			// has judged the chain).
			_, err := tc.Read(make([]byte, 1))
			return err
		})
	}()
	conn, err := Dial(ctx, p, ln.Addr().String(), cfg)
	if err == nil {
		conn.Close()
	}
	select {
	case <-done:
	case <-time.After(2 * ioTimeout):
		return nil, errors.Join(err, errors.New("the server handler did not finish"))
	}
	return conn, err
}
