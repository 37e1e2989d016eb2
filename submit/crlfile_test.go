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
		// A file read within mtimeTick of its modification time may have
		// changed again within the same time: such a file is parsed every time.
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

// TestCRLFileRewrittenWithinItsMtime: a CRL file rewritten in place with
// another list of the same size while its modification time stays the same
// (a file system whose clock is coarse: ext3, HFS+, FAT, many network file
// systems; two updates within one tick) is parsed again once it was read
// within that time, however long ago: the version parsed was read while
// the file could still change under the same modification time. Before,
// the cache only asked whether the modification time was over a second
// old now, and kept the first list (serial 2 not revoked) for the whole
// process.
func TestCRLFileRewrittenWithinItsMtime(t *testing.T) {
	t.Parallel()
	p, err := testpki.NewPKI([]string{"localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(testdir.New(t), "crl.pem")
	past := time.Now().Add(-time.Hour)
	crl := func(serial int64) []byte {
		t.Helper()
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: past,
			NextUpdate: time.Now().Add(time.Hour), RevokedCertificateEntries: []x509.RevocationListEntry{
				{SerialNumber: big.NewInt(serial), RevocationTime: past}}}, p.Intermediate.Cert, p.Intermediate.Key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
	}
	first := crl(1)
	var second []byte
	for range 100 { // signatures vary in length: find one of the same size
		if second = crl(2); len(second) == len(first) {
			break
		}
	}
	if len(second) != len(first) {
		t.Fatal("no CRL of the same size")
	}
	mtime := time.Now().Truncate(time.Second)
	write := func(b []byte) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600) // in place: the same inode
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(b, 0); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	cache := &CRLCache{}
	write(first)
	old, err := cache.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	write(second) // the same size and modification time
	time.Sleep(2100 * time.Millisecond)
	crls, err := cache.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(crls) != 1 || crls[0] == old[0] || cache.parses != 2 {
		t.Fatalf("the list first read is still used (%d parses, want 2): serial 2 not revoked", cache.parses)
	}
}
