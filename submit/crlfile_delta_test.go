package submit

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/internal/testpki"
)

// TestCRLFileDeltaFix: a delta CRL in tls_crl_file (which msmtp, through
// GnuTLS, reads as a list of revocations) is refused with an *Error of
// Field "crl" whose fix says what to put in the file instead: complete
// CRLs, not a delta CRL. Before, the fix asked for "-----BEGIN X509
// CRL----- blocks or a DER CRL", which the file already was.
func TestCRLFileDeltaFix(t *testing.T) {
	p, err := testpki.NewPKI([]string{"localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(2), ThisUpdate: now.Add(-time.Hour),
		NextUpdate:                now.Add(time.Hour),
		ExtraExtensions:           []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 27}, Critical: true, Value: []byte{2, 1, 1}}},
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(7), RevocationTime: now.Add(-time.Minute)}}},
		p.Intermediate.Cert, p.Intermediate.Key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(testdir.New(t), "delta.crl")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = (&CRLCache{}).Load(path)
	var e *Error
	if !errors.As(err, &e) || e.Field != "crl" || !strings.Contains(e.Msg, "delta CRL") || !strings.Contains(e.Fix, "delta CRL") {
		t.Fatalf("a delta CRL file: %v (%+v); want an *Error of Field crl whose fix names the delta CRL", err, e)
	}
}
