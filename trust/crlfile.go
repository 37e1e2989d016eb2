package trust

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"
)

// CRL is one certificate revocation list of a local CRL file (msmtp's
// tls_crl_file; RFC 5280 section 5), reduced to what the check needs:
// the issuer's name, the dates, and the revoked serial numbers as one
// sorted, packed set (with each one's revocation date and reason), instead
// of the parsed x509.RevocationList, whose entries weigh about ten times
// the DER (a 25 MB CRL of a million entries kept 224 MB). Its signature is
// checked once, the first time a certificate of that issuer's name meets
// it; the signed bytes are then dropped and the issuer's key remembered.
// A CRL is safe for concurrent use; make one with NewCRL or ParseCRLs.
type CRL struct {
	rawIssuer              []byte
	thisUpdate, nextUpdate time.Time
	scope                  crlScope          // the certificates it covers
	id                     [sha256.Size]byte // of the DER: the verdict cache's key

	// The revoked serials, sorted: serial i is keys[offs[i]:offs[i+1]]
	// (serialKey), revoked at when[i] (Unix seconds) for reason[i].
	keys   []byte
	offs   []uint32
	when   []int64
	reason []uint8

	mu sync.Mutex
	// signed holds the signed bytes and the signature until the signature
	// is verified; then nil, and key is the SHA-256 of the verifying key.
	signed *x509.RevocationList
	key    [sha256.Size]byte
	// bad holds the keys (SHA-256 of the SubjectPublicKeyInfo) that did
	// not verify the signature.
	bad map[[sha256.Size]byte]bool
}

// NewCRL reduces a parsed revocation list to a CRL; rl is not kept. A
// list that cannot be read as a complete CRL is refused as a fetched one
// is (RFC 5280 section 5.2: a critical extension not understood, such as
// a delta CRL's; an indirect CRL; one of some revocation reasons only); an
// issuingDistributionPoint's restriction (end-entity or CA certificates
// only, the certificates of named distribution points) is kept and
// applied to each certificate looked up (section 6.3.3 (b)).
func NewCRL(rl *x509.RevocationList) (*CRL, error) {
	if rl == nil {
		return nil, errors.New("no CRL")
	}
	scope, err := parseCRLScope(rl)
	if err != nil {
		return nil, fmt.Errorf("the CRL %v", err)
	}
	if len(rl.RevokedCertificateEntries) >= 1<<31 {
		return nil, errors.New("the CRL lists too many certificates")
	}
	c := &CRL{rawIssuer: bytes.Clone(rl.RawIssuer), thisUpdate: rl.ThisUpdate, nextUpdate: rl.NextUpdate, scope: scope, id: sha256.Sum256(rl.Raw),
		signed: &x509.RevocationList{RawTBSRevocationList: bytes.Clone(rl.RawTBSRevocationList),
			Signature: bytes.Clone(rl.Signature), SignatureAlgorithm: rl.SignatureAlgorithm}}
	type ent struct {
		key    []byte
		when   int64
		reason uint8
	}
	var size int
	ents := make([]ent, 0, len(rl.RevokedCertificateEntries))
	for _, e := range rl.RevokedCertificateEntries {
		if e.SerialNumber == nil {
			continue
		}
		k := serialKey(e.SerialNumber)
		size += len(k)
		ents = append(ents, ent{k, e.RevocationTime.Unix(), uint8(e.ReasonCode)})
	}
	if size >= 1<<32 {
		return nil, errors.New("the CRL is too large")
	}
	slices.SortFunc(ents, func(a, b ent) int { return bytes.Compare(a.key, b.key) })
	c.keys = make([]byte, 0, size)
	c.offs = make([]uint32, 0, len(ents)+1)
	c.when = make([]int64, 0, len(ents))
	c.reason = make([]uint8, 0, len(ents))
	for _, e := range ents {
		c.offs = append(c.offs, uint32(len(c.keys)))
		c.keys = append(c.keys, e.key...)
		c.when = append(c.when, e.when)
		c.reason = append(c.reason, e.reason)
	}
	c.offs = append(c.offs, uint32(len(c.keys)))
	return c, nil
}

// serialKey is a serial number as set key: its sign, then its magnitude,
// big-endian (a negative serial breaks RFC 5280 section 4.1.2.2 but is
// found in the wild; it must not match its absolute value).
func serialKey(n *big.Int) []byte {
	sign := byte(1)
	if n.Sign() < 0 {
		sign = 0
	}
	return append([]byte{sign}, n.Bytes()...)
}

// Len is the number of certificates the CRL lists.
func (c *CRL) Len() int { return len(c.when) }

// NextUpdate is the date by which the CRL's issuer promised a newer one
// (zero when it named none).
func (c *CRL) NextUpdate() time.Time { return c.nextUpdate }

// lookup finds serial in the set.
func (c *CRL) lookup(serial *big.Int) (when time.Time, reason int, ok bool) {
	k := serialKey(serial)
	lo, hi := 0, len(c.when)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch bytes.Compare(c.keys[c.offs[m]:c.offs[m+1]], k) {
		case 0:
			return time.Unix(c.when[m], 0), int(c.reason[m]), true
		case -1:
			lo = m + 1
		default:
			hi = m
		}
	}
	return time.Time{}, 0, false
}

// signedBy reports whether issuer's key signed c (RFC 5280 section 6.3.3
// (f): the issuer may sign CRLs, and its key verifies the signature). The
// signature is verified once: the signed bytes are then dropped.
func (c *CRL) signedBy(issuer *x509.Certificate) bool {
	if !bytes.Equal(c.rawIssuer, issuer.RawSubject) || !canSignCRLs(issuer) {
		return false
	}
	k := sha256.Sum256(issuer.RawSubjectPublicKeyInfo)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.signed == nil {
		return k == c.key
	}
	if c.bad[k] {
		return false
	}
	if c.signed.CheckSignatureFrom(issuer) != nil {
		if c.bad == nil {
			c.bad = map[[sha256.Size]byte]bool{}
		}
		if len(c.bad) < 16 {
			c.bad[k] = true
		}
		return false
	}
	c.signed, c.key, c.bad = nil, k, nil
	return true
}

// canSignCRLs is the check x509.RevocationList.CheckSignatureFrom makes of
// the issuer besides the signature: a CA, whose key usage, if it names
// any, includes cRLSign (RFC 5280 section 4.2.1.3).
func canSignCRLs(issuer *x509.Certificate) bool {
	if issuer.Version == 3 && !issuer.BasicConstraintsValid || issuer.BasicConstraintsValid && !issuer.IsCA {
		return false
	}
	return issuer.KeyUsage == 0 || issuer.KeyUsage&x509.KeyUsageCRLSign != 0
}

// staleAt is when the CRL stops being current: its nextUpdate, or, when
// it names none, noNextUpdateLife after its thisUpdate, as for a CRL
// fetched online.
func (c *CRL) staleAt() time.Time {
	if !c.nextUpdate.IsZero() {
		return c.nextUpdate
	}
	return c.thisUpdate.Add(noNextUpdateLife)
}

// checkCRLs looks up each certificate of the path, except the root, in
// the CRLs given in Options.CRLs (msmtp's tls_crl_file): a CRL counts for
// a certificate when its issuer name is the certificate's issuer's subject,
// the issuer's key verifies its signature (RFC 5280 section 6.3.3 (f)
// and (g)) and its scope covers the certificate (section 6.3.3 (b); see
// NewCRL). A listed certificate is revoked whatever Revocation says.
//
// A CRL past its next update (RFC 5280 section 5.1.2.5) still counts for
// what it lists (a revocation is never undone, section 5.3.1; GnuTLS, and
// so msmtp, uses an expired CRL of tls_crl_file silently too), but it says
// nothing of later revocations: a certificate it does not list gets a
// revocation-unknown warning asking for a fresh file, unless a current CRL
// of the same issuer that covers it is given too. It is a warning in
// every mode: the online check, when on, judges the status as usual (and
// its stale CRLs are revocation-unknown by Revocation's rule), and an old
// file is a configuration to fix, not an outage to wait out.
func (v *verifier) checkCRLs() {
	if len(v.opts.CRLs) == 0 {
		return
	}
	for pos := 0; pos+1 < len(v.path); pos++ {
		idx := v.path[pos]
		cert, issuer := v.certs[idx], v.certs[v.path[pos+1]]
		if cert == nil || issuer == nil {
			continue
		}
		var stale *CRL
		revoked, current := false, false
		for _, crl := range v.opts.CRLs {
			if crl == nil || !crl.signedBy(issuer) || crl.scope.covers(cert) != nil {
				continue
			}
			if when, reason, ok := crl.lookup(cert.SerialNumber); ok {
				v.add(KindRevoked, SeverityError, idx,
					fmt.Sprintf("%s was revoked on %s (reason: %s), according to the CRL file of %s", v.certName(idx, subjectOf(cert)), day(when), reasonName(reason), subjectOf(issuer)),
					"the server must get and install a new certificate (and a new key if the key was compromised); a revoked certificate must not be trusted")
				revoked = true
				break
			}
			switch {
			case v.now.Before(crl.staleAt()):
				current = true
			case stale == nil || crl.staleAt().After(stale.staleAt()):
				stale = crl
			}
		}
		if revoked {
			continue // the other certificates of the path are still checked
		}
		// A current CRL of the issuer that covers the certificate says
		// all there is to say: an older one beside it (the file was
		// appended to, not replaced) is no reason to warn.
		if stale != nil && !current && !v.has(KindRevocationUnknown, idx) {
			v.add(KindRevocationUnknown, SeverityWarning, idx,
				fmt.Sprintf("the CRL file's list of %s was due to be replaced on %s: it does not list %s, but revocations since then are not in it", subjectOf(issuer), day(stale.staleAt()), v.certName(idx, subjectOf(cert))),
				"download the CA's current CRL into the CRL file (tls_crl_file), for example from a cron job, or remove the setting")
		}
	}
}

// ParseCRLs reads the certificate revocation lists of a CRL file: PEM
// blocks "X509 CRL" (the form msmtp's tls_crl_file takes), or one DER CRL
// (RFC 5280 section 5). A file with neither is an error. Each list is
// parsed, reduced to a CRL and dropped before the next one is read.
func ParseCRLs(data []byte) ([]*CRL, error) {
	var out []*CRL
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "X509 CRL" {
			continue
		}
		rl, err := x509.ParseRevocationList(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CRL %d of the file: %v", len(out)+1, err)
		}
		crl, err := NewCRL(rl)
		if err != nil {
			return nil, fmt.Errorf("CRL %d of the file: %v", len(out)+1, err)
		}
		out = append(out, crl)
	}
	if len(out) > 0 {
		return out, nil
	}
	rl, err := x509.ParseRevocationList(data)
	if err != nil {
		return nil, errors.New("the file holds no CRL (neither PEM X509 CRL blocks nor a DER CRL)")
	}
	crl, err := NewCRL(rl)
	if err != nil {
		return nil, err
	}
	return []*CRL{crl}, nil
}
