package pki

import (
	"encoding/asn1"
	"math/big"
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
