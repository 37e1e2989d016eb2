package submit

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/internal/testpki"
)

// TestCRLFileParsedOnce (issue 14 review): the CRL file of an account is
// parsed once per process, not for every connection: Plan after Plan gets
// the very same CRLs and the cache counts one parse. A new version of the
// file (another size and modification time) is parsed again, and a file
// over MaxCRLFile is refused with an *Error of Field "crl" naming the
// limit, before anything is read.
func TestCRLFileParsedOnce(t *testing.T) {
	p, err := testpki.NewPKI([]string{"localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := testdir.New(t)
	path := filepath.Join(dir, "crl.pem")
	past := time.Now().Add(-time.Hour)
	write := func(serials ...int64) {
		t.Helper()
		var entries []x509.RevocationListEntry
		for _, s := range serials {
			entries = append(entries, x509.RevocationListEntry{SerialNumber: big.NewInt(s), RevocationTime: past})
		}
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: past,
			NextUpdate: time.Now().Add(time.Hour), RevokedCertificateEntries: entries}, p.Intermediate.Cert, p.Intermediate.Key)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		// A file written within the last second may change again within
		// the same modification time: such a file is parsed every time.
		past = past.Add(time.Minute)
		if err := os.Chtimes(path, past, past); err != nil {
			t.Fatal(err)
		}
	}
	write(1)
	cache := &CRLCache{}
	c := &Connector{CRLCache: cache}
	a := &Account{Host: "mail.example", Port: 465, Trust: Trust{CRLFile: path}}
	plan := func() *Plan {
		t.Helper()
		pl, err := c.Plan(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		if len(pl.Config.TLS.Trust.CRLs) != 1 {
			t.Fatalf("%d CRLs, want 1", len(pl.Config.TLS.Trust.CRLs))
		}
		return pl
	}
	first := plan()
	for range 5 {
		if pl := plan(); pl.Config.TLS.Trust.CRLs[0] != first.Config.TLS.Trust.CRLs[0] {
			t.Fatal("a second connection got CRLs parsed again")
		}
	}
	if cache.parses != 1 {
		t.Errorf("%d parses for 6 connections, want 1", cache.parses)
	}
	write(1, 2, 3)
	if pl := plan(); pl.Config.TLS.Trust.CRLs[0] == first.Config.TLS.Trust.CRLs[0] || pl.Config.TLS.Trust.CRLs[0].Len() != 3 {
		t.Errorf("the rewritten file was not read again (%d entries)", pl.Config.TLS.Trust.CRLs[0].Len())
	}
	if cache.parses != 2 {
		t.Errorf("%d parses, want 2", cache.parses)
	}

	big := filepath.Join(dir, "big.crl")
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, MaxCRLFile+1); err != nil {
		t.Fatal(err)
	}
	_, err = cache.Load(big)
	var e *Error
	if !errors.As(err, &e) || e.Field != "crl" || e.Fix == "" {
		t.Fatalf("a file over MaxCRLFile: %v, want an *Error of Field crl", err)
	}
	t.Logf("%v (%s)", e, e.Fix)
	if cache.parses != 2 {
		t.Errorf("the large file was parsed")
	}
}
