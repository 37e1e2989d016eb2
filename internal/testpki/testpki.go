// Package testpki makes certificates at run time for tests: good chains
// and (in broken.go) every broken kind that package trust must diagnose,
// and (in revocation.go) a CRL/OCSP responder. Nothing is checked in, so
// nothing expires. The certificate-making core is internal/pki; this
// package re-exports it so that tests need only one import. Product code
// imports internal/pki, never this package.
package testpki

import (
	"crypto"
	"crypto/x509"
	"net"
	"os"

	"github.com/tlsmail/tlsmail/internal/pki"
)

// revocationCacheEnv is trust.RevocationCacheEnv (this package cannot
// import trust, whose tests import it).
const revocationCacheEnv = "TLSMAIL_REVOCATION_CACHE"

// Every test that makes certificates here and verifies them with the
// default revocation checker would otherwise keep the CRLs and OCSP
// responses of its throwaway CAs in the user's cache
// (~/.cache/tlsmail/revocation): the tests that import this package keep
// them in memory, unless the variable is already set (a test of the cache
// names its own directory).
func init() {
	if _, set := os.LookupEnv(revocationCacheEnv); !set {
		os.Setenv(revocationCacheEnv, "off")
	}
}

// Options describes a certificate to make; see pki.Options.
type Options = pki.Options

// Authority is a CA that can issue certificates; see pki.Authority.
type Authority = pki.Authority

// Leaf is an issued end-entity certificate with its key; see pki.Leaf.
type Leaf = pki.Leaf

// PKI is the usual three-level hierarchy: root, intermediate, server leaf.
type PKI = pki.PKI

// NewKey returns a fresh ECDSA P-256 key.
func NewKey() crypto.Signer { return pki.NewKey() }

// NewRoot makes a self-signed root CA.
func NewRoot(o Options) (*Authority, error) { return pki.NewRoot(o) }

// NewSelfSigned makes a self-signed end-entity certificate (not a CA), as
// a server configured with 'openssl req -x509' presents.
func NewSelfSigned(o Options) (*Leaf, error) { return pki.NewSelfSigned(o) }

// LoopbackNames are the names a loopback server certificate carries.
var LoopbackNames = pki.LoopbackNames()

// LoopbackIPs are the IP SANs of a loopback server certificate.
func LoopbackIPs() []net.IP { return pki.LoopbackIPs() }

// NewPKI makes root → intermediate → leaf, the leaf valid for dnsNames and
// ips (localhost, 127.0.0.1 and ::1 when both are empty).
func NewPKI(dnsNames []string, ips []net.IP) (*PKI, error) { return pki.NewPKI(dnsNames, ips) }

// CertsPEM encodes certificates as PEM, in order.
func CertsPEM(certs ...*x509.Certificate) []byte { return pki.CertsPEM(certs...) }

// KeyPEM encodes a private key as PKCS#8 PEM.
func KeyPEM(k crypto.Signer) ([]byte, error) { return pki.KeyPEM(k) }
