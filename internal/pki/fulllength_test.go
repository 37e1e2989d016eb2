package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"io"
	"math/big"
	"strings"
	"testing"
)

// TestFullLengthSignatures: every ECDSA signature of the certificates
// made here has an r and an s of the curve's full 32 bytes (FullLength).
// Without it about one in 128 had a shorter one, which Wine's crypt32
// refuses: 1,000 roots and leaves then held about 8 (this fails before).
func TestFullLengthSignatures(t *testing.T) {
	t.Parallel()
	short := 0
	for i := 0; i < 500; i++ {
		root, err := NewRoot(Options{})
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := root.Issue(Options{DNSNames: []string{"localhost"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, sig := range [][]byte{root.Cert.Signature, leaf.Cert.Signature} {
			var v struct{ R, S *big.Int }
			if _, err := asn1.Unmarshal(sig, &v); err != nil {
				t.Fatal(err)
			}
			if len(v.R.Bytes()) != 32 || len(v.S.Bytes()) != 32 {
				short++
			}
		}
	}
	if short > 0 {
		t.Errorf("%d of 1,000 signatures have an r or s shorter than 32 bytes", short)
	}
}

// shortSigner is an ECDSA key whose every signature has a short r (a
// signer that cannot make another, as a deterministic one: RFC 6979).
type shortSigner struct {
	crypto.Signer
	calls int
}

func (s *shortSigner) Sign(_ io.Reader, _ []byte, _ crypto.SignerOpts) ([]byte, error) {
	s.calls++
	n := (s.Public().(*ecdsa.PublicKey).Curve.Params().N.BitLen() + 7) / 8
	r := new(big.Int).Lsh(big.NewInt(1), uint(8*(n-1)-1)) // one byte short
	return asn1.Marshal(struct{ R, S *big.Int }{r, big.NewInt(1)})
}

// TestFullLengthGivesUp: a signer that makes only short signatures gets
// an error from FullLength after a bounded number of tries, not its short
// signature passed on as if it were full length (which Wine's crypt32
// then refuses, the flake FullLength is for). Failed before: the 33rd
// short signature was returned with a nil error.
func TestFullLengthGivesUp(t *testing.T) {
	t.Parallel()
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s := &shortSigner{Signer: k}
		digest := make([]byte, 32)
		sig, err := FullLength(s).Sign(rand.Reader, digest, crypto.SHA256)
		if err == nil {
			t.Errorf("%s: FullLength returned a short signature (%d bytes) after %d tries, and no error", c.Params().Name, len(sig), s.calls)
		} else if !strings.Contains(err.Error(), "short") {
			t.Errorf("%s: error %q does not say the signatures were short", c.Params().Name, err)
		}
	}
}

// TestFullLengthP521: on P-521 about half of all r (and of all s) are a
// byte short (the order's top byte is 0x01), so FullLength tries far
// more often than on P-256; its signatures still verify and are full
// length.
func TestFullLengthP521(t *testing.T) {
	t.Parallel()
	k, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	digest := make([]byte, 64)
	for i := 0; i < 50; i++ {
		sig, err := FullLength(k).Sign(rand.Reader, digest, crypto.SHA512)
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(sig, &v); err != nil {
			t.Fatal(err)
		}
		if len(v.R.Bytes()) != 66 || len(v.S.Bytes()) != 66 {
			t.Fatalf("r %d and s %d bytes, want 66", len(v.R.Bytes()), len(v.S.Bytes()))
		}
		if !ecdsa.VerifyASN1(&k.PublicKey, digest, sig) {
			t.Fatal("signature does not verify")
		}
	}
}
