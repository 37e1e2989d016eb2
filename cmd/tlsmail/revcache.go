package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/tlsmail/tlsmail/trust"
)

// revocationChecker is the trust.Checker of the certificate commands
// (probe, cert verify, cert check): one per run, so that run can say, once
// at the end, why its on-disk cache was not used (revocationCacheNotice).
func (e *env) revocationChecker() *trust.Checker {
	if e.revocation == nil {
		e.revocation = &trust.Checker{}
	}
	return e.revocation
}

// revocationCacheNotice prints a warning for each revocation cache
// directory the run's checkers refused (the certificate commands' own, and
// the process's default one that sending uses), once per directory. trust
// goes on from memory, so no verdict changes, but the user learns why every
// run fetches the CRLs and OCSP responses again and what to change.
func revocationCacheNotice(w io.Writer, checkers ...*trust.Checker) {
	seen := map[string]bool{}
	for _, c := range checkers {
		if c == nil {
			continue
		}
		var ce *trust.CacheDirError
		if err := c.DiskCacheError(); errors.As(err, &ce) && !seen[ce.Dir] {
			seen[ce.Dir] = true
			fmt.Fprintf(w, "tlsmail: warning: %v (%s)\n", ce, ce.Fix())
		}
	}
}
