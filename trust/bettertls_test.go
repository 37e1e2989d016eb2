package trust

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testbettertls"
)

// TestBetterTLS runs every case of the BetterTLS suites "nameconstraints"
// and "pathbuilding" through VerifyDER with the options the TLS providers
// use (the BetterTLS root as the only root, the name the client asks for,
// the default revocation mode: the certificates name no CRL or OCSP
// responder). The verdict must be BetterTLS's (a soft verdict taken the
// strict way, as crypto/x509 does), every refusal must be explained by the
// checks (never crypto/x509's bare error), and name the reason BetterTLS
// built the case for, not a path that merely ends at an unknown root.
func TestBetterTLS(t *testing.T) {
	t.Parallel()
	s, err := testbettertls.New()
	if err != nil {
		t.Fatal(err)
	}
	refs := s.All()
	roots := s.Roots()

	type outcome struct {
		c       testbettertls.Case
		r       Report
		genErr  error
		failure string
	}
	out := make([]outcome, len(refs))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				o := &out[i]
				o.c, o.genErr = s.Case(refs[i])
				if o.genErr != nil {
					continue
				}
				opts := Options{Roots: roots, Name: o.c.Host}
				o.r = VerifyDER(context.Background(), o.c.Chain, opts)
				o.failure = betterTLSFailure(o.c, o.r)
				if !o.r.Has(KindUnparseable) {
					// The invariants against crypto/x509, on a chain it
					// can parse (t.Errorf may be called from any
					// goroutine).
					checkInvariants(t, o.r.Chain, opts, o.r)
				}
			}
		}()
	}
	for i := range refs {
		next <- i
	}
	close(next)
	wg.Wait()

	count := map[string]int{}
	agree := map[string]int{}
	var failures []string
	unparseable := 0
	for _, o := range out {
		if o.genErr != nil {
			t.Fatal(o.genErr)
		}
		count[o.c.Suite]++
		if o.failure != "" {
			failures = append(failures, fmt.Sprintf("%v (want %v): %s", o.c, o.c.Want, o.failure))
			continue
		}
		agree[o.c.Suite]++
		if o.r.Has(KindUnparseable) {
			unparseable++
		}
	}
	for _, suite := range []string{testbettertls.NameConstraints, testbettertls.PathBuilding} {
		t.Logf("%s: %d of %d cases agree with BetterTLS, every refusal named", suite, agree[suite], count[suite])
	}
	t.Logf("%d leaves crypto/x509 cannot parse, refused as %s", unparseable, KindUnparseable)
	// The module version is pinned in go.mod: the counts guard against a
	// suite that silently shrinks (or runs nothing).
	if count[testbettertls.NameConstraints] != 9491 || count[testbettertls.PathBuilding] != 81 {
		t.Errorf("ran %v cases, want 9491 nameconstraints and 81 pathbuilding", count)
	}
	if unparseable == 0 {
		t.Errorf("no case has a leaf crypto/x509 cannot parse: the %s path is untested", KindUnparseable)
	}
	sort.Strings(failures)
	for i, f := range failures {
		if i == 20 {
			t.Errorf("... and %d more", len(failures)-20)
			break
		}
		t.Error(f)
	}
}

// betterTLSFailure says how r disagrees with BetterTLS's verdict on c, or
// returns "".
func betterTLSFailure(c testbettertls.Case, r Report) string {
	if r.OK() != c.Want.Accept() {
		return fmt.Sprintf("accepted=%v; problems: %v", r.OK(), r.Problems)
	}
	if r.OK() {
		return ""
	}
	if r.unexplained {
		return fmt.Sprintf("refused with crypto/x509's bare error: %v", r.Problems)
	}
	var allowed []Kind
	for _, k := range c.Kinds() {
		allowed = append(allowed, Kind(k))
	}
	var kinds []string
	named := false
	for _, p := range r.Errors() {
		kinds = append(kinds, string(p.Kind))
		ok := false
		for _, k := range allowed {
			if p.Kind == k {
				ok, named = true, true
			}
		}
		if !ok {
			return fmt.Sprintf("refused with %s, want only %v: %v", p.Kind, allowed, r.Problems)
		}
	}
	if !named {
		return fmt.Sprintf("refused with %s, want one of %v", strings.Join(kinds, ", "), allowed)
	}
	return ""
}
