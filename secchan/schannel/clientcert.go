//go:build windows

package schannel

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// clientCert is a certificate context whose private key Schannel can use,
// and what must be released with it.
type clientCert struct {
	ctx     *windows.CertContext
	where   string // "file", or `CurrentUser\MY` and the like
	subject string
	release []func()
}

func (c *clientCert) describe() string {
	return fmt.Sprintf("%q (%s)", c.subject, c.where)
}

func (c *clientCert) free() {
	if c.ctx != nil {
		windows.CertFreeCertificateContext(c.ctx)
		c.ctx = nil
	}
	for i := len(c.release) - 1; i >= 0; i-- {
		c.release[i]()
	}
	c.release = nil
}

const (
	certKeyProvInfoPropID = 2
	msEnhRSAAESProv       = "Microsoft Enhanced RSA and AES Cryptographic Provider"
	calgRSAKeyX           = 0x0000a400
	privateKeyBlob        = 7
	curBlobVersion        = 2
)

// cryptKeyProvInfo is CRYPT_KEY_PROV_INFO.
type cryptKeyProvInfo struct {
	containerName *uint16
	provName      *uint16
	provType      uint32
	flags         uint32
	cProvParam    uint32
	rgProvParam   unsafe.Pointer
	keySpec       uint32
}

// certFromTLS makes a certificate context for a client certificate given as
// a certificate chain and key (from --cert/--key or --pfx). Schannel takes
// the leaf alone and builds the chain it sends itself, from the system
// stores: the chain's intermediates are put where it looks for them (see
// shareIntermediates), and also in the context's own store. The key is kept
// in memory (PKCS12_NO_PERSIST_KEY) where Schannel can use it so, and
// otherwise in a key container deleted when the connection ends: see
// planClientKey.
//
// Only RSA keys are supported this way (Schannel under Wine cannot use
// anything else; ECDSA keys need CNG and are not wired yet): put an ECDSA
// certificate in a Windows store and select it with StoreCert instead.
func certFromTLS(tc tls.Certificate) (*clientCert, error) {
	plan, _ := planClientKey(underWine(), windowsVersion())
	return certFromTLSAs(tc, plan)
}

// certFromTLSAs is certFromTLS with the key placement decided by the
// caller (tests try both placements on one system).
func certFromTLSAs(tc tls.Certificate, plan keyPlan) (_ *clientCert, err error) {
	if len(tc.Certificate) == 0 {
		return nil, fmt.Errorf("schannel: the client certificate is empty")
	}
	leaf, err := x509.ParseCertificate(tc.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("schannel: parse the client certificate: %w", err)
	}
	for i, der := range tc.Certificate[1:] {
		if _, err := x509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("schannel: parse certificate %d of the client certificate's chain: %w", i+2, err)
		}
	}
	key, ok := tc.PrivateKey.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("schannel: the client key is %T; from files the Schannel provider takes RSA keys only: "+
			"import the certificate into the Windows store (certutil -importpfx) and select it in the MY store by thumbprint, or use the go TLS provider", tc.PrivateKey)
	}
	shareIntermediates(tc.Certificate[1:])
	cc := &clientCert{where: "file", subject: leaf.Subject.String()}
	defer func() {
		if err != nil {
			cc.free()
		}
	}()
	if plan == keyInMemory {
		err = cc.importInMemory(key, tc.Certificate)
	} else {
		err = cc.importToContainer(key, tc.Certificate)
	}
	if err != nil {
		return nil, err
	}
	return cc, nil
}

// shareIntermediates adds the intermediates among certs (those not
// self-issued) to this user's Intermediate Certification Authorities store
// (CurrentUser\CA) unless they are there already. Schannel accepts only the
// leaf of a client certificate and sends the chain it builds from the
// system stores, so an intermediate known only from the --cert file is
// otherwise never sent (.NET's SslStream adds them to the same store for
// the same reason). The CA store is a cache of intermediates: nothing in it
// is trusted. Failing to add them is not an error: the leaf still goes out,
// and the server's refusal will say what is missing.
func shareIntermediates(certs [][]byte) {
	var inters [][]byte
	for _, der := range certs {
		if c, err := x509.ParseCertificate(der); err == nil && !bytes.Equal(c.RawSubject, c.RawIssuer) {
			inters = append(inters, der)
		}
	}
	if len(inters) == 0 {
		return
	}
	store, err := (&StoreCert{Store: "CA"}).systemStore(0)
	if err != nil {
		return
	}
	// Wine writes a registry store out when this handle is closed.
	defer windows.CertCloseStore(store, 0)
	for _, der := range inters {
		ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING, &der[0], uint32(len(der)))
		if err != nil {
			continue
		}
		windows.CertAddCertificateContextToStore(store, ctx, windows.CERT_STORE_ADD_USE_EXISTING, nil)
		windows.CertFreeCertificateContext(ctx)
	}
}

// importInMemory makes cc from a PKCS#12 import with PKCS12_NO_PERSIST_KEY
// (as curl does): the key stays in this process, not exportable, and the
// store the import returns (with the chain's intermediates) stays open
// until cc is freed. Should the import have put the key in a persisted
// container all the same (Wine does), that container is deleted with cc.
func (cc *clientCert) importInMemory(key *rsa.PrivateKey, chain [][]byte) error {
	var rnd [16]byte
	rand.Read(rnd[:])
	password := hex.EncodeToString(rnd[:])
	pfx, err := encodePFX(key, chain[0], chain[1:], password)
	if err != nil {
		return fmt.Errorf("schannel: wrap the client key for Windows: %w", err)
	}
	defer clear(pfx)
	pw, _ := windows.UTF16PtrFromString(password)
	blob := windows.CryptDataBlob{Size: uint32(len(pfx)), Data: &pfx[0]}
	store, err := windows.PFXImportCertStore(&blob, pw, windows.PKCS12_NO_PERSIST_KEY)
	if err != nil {
		return fmt.Errorf("schannel: import the client certificate and key (PFXImportCertStore): %w", err)
	}
	cc.release = append(cc.release, func() { windows.CertCloseStore(store, 0) })
	var ctx *windows.CertContext
	for {
		ctx, err = windows.CertEnumCertificatesInStore(store, ctx)
		if err != nil {
			return fmt.Errorf("schannel: the imported client certificate is not in its store: %w", err)
		}
		if bytes.Equal(unsafe.Slice(ctx.EncodedCert, ctx.Length), chain[0]) {
			cc.ctx = windows.CertDuplicateCertificateContext(ctx)
			windows.CertFreeCertificateContext(ctx)
			break
		}
	}
	if p, name, persisted := persistedKeyOf(cc.ctx); persisted {
		cc.release = append(cc.release, func() { deleteContainerOf(p, name) })
	}
	return nil
}

// importToContainer makes cc with the key in a fresh key container of this
// user (tlsmail-conn-<pid>-<random>, not exportable) that cc's release
// deletes, and the certificate with the chain's intermediates in a memory
// store. Containers of earlier tlsmail processes that died with a
// connection open are deleted first.
func (cc *clientCert) importToContainer(key *rsa.PrivateKey, chain [][]byte) error {
	sweepConnContainers()
	container, del, err := persistRSAKey(key, newConnContainerName())
	if err != nil {
		return err
	}
	cc.release = append(cc.release, del)
	store, err := windows.CertOpenStore(windows.CERT_STORE_PROV_MEMORY, 0, 0, 0, 0)
	if err != nil {
		return fmt.Errorf("schannel: open a memory certificate store: %w", err)
	}
	cc.release = append(cc.release, func() { windows.CertCloseStore(store, 0) })
	for i, der := range chain {
		// X509_ASN_ENCODING alone: Wine's Schannel refuses any other
		// encoding type.
		ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING, &der[0], uint32(len(der)))
		if err != nil {
			return fmt.Errorf("schannel: load certificate %d of the client certificate's chain: %w", i+1, err)
		}
		var added *windows.CertContext
		pin := &added
		if i > 0 {
			pin = nil
		}
		err = windows.CertAddCertificateContextToStore(store, ctx, windows.CERT_STORE_ADD_USE_EXISTING, pin)
		windows.CertFreeCertificateContext(ctx)
		if err != nil {
			return fmt.Errorf("schannel: add certificate %d of the client certificate's chain to its store: %w", i+1, err)
		}
		if i == 0 {
			cc.ctx = added
		}
	}
	return attachRSAKey(cc.ctx, container)
}

// persistRSAKey puts key into a new CryptoAPI key container of this user
// with the given name, not exportable, and returns the container's name and
// a function that deletes it.
func persistRSAKey(key *rsa.PrivateKey, name string) (container *uint16, del func(), err error) {
	blob, err := rsaPrivateKeyBlob(key)
	if err != nil {
		return nil, nil, err
	}
	defer clear(blob)
	container, err = windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, nil, err
	}
	provName, _ := windows.UTF16PtrFromString(msEnhRSAAESProv)
	var prov windows.Handle
	if err := windows.CryptAcquireContext(&prov, container, provName, windows.PROV_RSA_AES, windows.CRYPT_NEWKEYSET); err != nil {
		return nil, nil, fmt.Errorf("schannel: create a key container for the client key: %w", err)
	}
	del = func() {
		var h windows.Handle
		windows.CryptAcquireContext(&h, container, provName, windows.PROV_RSA_AES, windows.CRYPT_DELETEKEYSET)
	}
	var hkey uintptr
	r, _, e := procs.cryptImportKey.Call(uintptr(prov), uintptr(unsafe.Pointer(&blob[0])), uintptr(len(blob)), 0, 0, uintptr(unsafe.Pointer(&hkey)))
	if r != 0 {
		procs.cryptDestroyKey.Call(hkey)
	}
	// Releasing the context stores the key in the container (Wine's rsaenh
	// writes it out only then), where Schannel finds it by name.
	windows.CryptReleaseContext(prov, 0)
	if r == 0 {
		del()
		return nil, nil, fmt.Errorf("schannel: import the client key: %w", e)
	}
	return container, del, nil
}

// attachRSAKey names the key container of ctx's private key
// (CERT_KEY_PROV_INFO_PROP_ID), as Schannel looks it up.
func attachRSAKey(ctx *windows.CertContext, container *uint16) error {
	provName, _ := windows.UTF16PtrFromString(msEnhRSAAESProv)
	info := cryptKeyProvInfo{containerName: container, provName: provName, provType: windows.PROV_RSA_AES, keySpec: windows.AT_KEYEXCHANGE}
	r, _, e := procs.certSetCertContextProperty.Call(uintptr(unsafe.Pointer(ctx)), certKeyProvInfoPropID, 0, uintptr(unsafe.Pointer(&info)))
	if r == 0 {
		return fmt.Errorf("schannel: attach the key to the client certificate: %w", e)
	}
	return nil
}

// rsaPrivateKeyBlob encodes k as a CryptoAPI PRIVATEKEYBLOB: BLOBHEADER,
// RSAPUBKEY, then modulus, primes, CRT values and private exponent, each
// little-endian and padded to the key's byte or half-byte length.
func rsaPrivateKeyBlob(k *rsa.PrivateKey) ([]byte, error) {
	if len(k.Primes) != 2 || k.E > 0xffffffff {
		return nil, fmt.Errorf("schannel: the client RSA key has %d primes or a large exponent; CryptoAPI needs a two-prime key", len(k.Primes))
	}
	k.Precompute()
	bits := k.N.BitLen()
	n, half := (bits+7)/8, (bits+15)/16
	// The blob's fields have fixed lengths: primes and CRT values half the
	// modulus's. A key whose primes are not balanced does not fit.
	for _, v := range []*big.Int{k.Primes[0], k.Primes[1], k.Precomputed.Dp, k.Precomputed.Dq, k.Precomputed.Qinv} {
		if (v.BitLen()+7)/8 > half {
			return nil, fmt.Errorf("schannel: the client RSA key's primes are not of half its modulus's length (%d and %d bits for a %d-bit modulus), which CryptoAPI cannot store; "+
				"import the certificate into the Windows store (certutil -importpfx) and select it there by thumbprint, or use the crypto/tls provider", k.Primes[0].BitLen(), k.Primes[1].BitLen(), bits)
		}
	}
	b := make([]byte, 0, 20+n*2+half*5)
	b = append(b, privateKeyBlob, curBlobVersion, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, calgRSAKeyX)
	b = binary.LittleEndian.AppendUint32(b, 0x32415352) // "RSA2"
	b = binary.LittleEndian.AppendUint32(b, uint32(bits))
	b = binary.LittleEndian.AppendUint32(b, uint32(k.E))
	le := func(v []byte, size int) {
		out := make([]byte, size)
		for i := range v {
			out[len(v)-1-i] = v[i]
		}
		b = append(b, out...)
	}
	le(k.N.Bytes(), n)
	le(k.Primes[0].Bytes(), half)
	le(k.Primes[1].Bytes(), half)
	le(k.Precomputed.Dp.Bytes(), half)
	le(k.Precomputed.Dq.Bytes(), half)
	le(k.Precomputed.Qinv.Bytes(), half)
	le(k.D.Bytes(), n)
	return b, nil
}

// StoreCert selects a client certificate from a Windows certificate store,
// as --cert-store MY --cert-thumbprint HEX or --cert-subject TEXT do. Its
// private key stays in the store (it may be non-exportable, or on a smart
// card): Schannel uses it in place.
type StoreCert struct {
	// Store is the system store name; empty means "MY" (Personal).
	Store string
	// LocalMachine selects the machine's store instead of the user's.
	LocalMachine bool
	// Thumbprint is the certificate's SHA-1 hash in hex (spaces and colons
	// allowed), as certmgr.msc shows it.
	Thumbprint string
	// Subject, when Thumbprint is empty, is text the subject must contain.
	Subject string
}

func (s *StoreCert) location() string {
	store := s.Store
	if store == "" {
		store = "MY"
	}
	if s.LocalMachine {
		return `LocalMachine\` + store
	}
	return `CurrentUser\` + store
}

// open finds the certificate and checks that its private key is usable.
func (s *StoreCert) open() (*clientCert, error) {
	where := s.location()
	store := s.Store
	if store == "" {
		store = "MY"
	}
	h, err := s.systemStore(windows.CERT_STORE_OPEN_EXISTING_FLAG | windows.CERT_STORE_READONLY_FLAG)
	if err != nil {
		return nil, err
	}
	defer windows.CertCloseStore(h, 0)

	var ctx *windows.CertContext
	switch {
	case s.Thumbprint != "":
		hash, err := s.thumbprintHash()
		if err != nil {
			return nil, err
		}
		blob := windows.CryptDataBlob{Size: uint32(len(hash)), Data: &hash[0]}
		ctx, err = windows.CertFindCertificateInStore(h, windows.X509_ASN_ENCODING|windows.PKCS_7_ASN_ENCODING, 0,
			windows.CERT_FIND_HASH, unsafe.Pointer(&blob), nil)
		if err != nil {
			return nil, &CertError{Where: where, Reason: "no certificate has thumbprint " + strings.ToUpper(hex.EncodeToString(hash)),
				Fix: "list the store with 'certutil -user -store " + store + "'"}
		}
	case s.Subject != "":
		subj, err := windows.UTF16PtrFromString(s.Subject)
		if err != nil {
			return nil, &CertError{Where: where, Reason: "bad subject text"}
		}
		ctx, err = windows.CertFindCertificateInStore(h, windows.X509_ASN_ENCODING|windows.PKCS_7_ASN_ENCODING, 0,
			windows.CERT_FIND_SUBJECT_STR, unsafe.Pointer(subj), nil)
		if err != nil {
			return nil, &CertError{Where: where, Reason: fmt.Sprintf("no certificate's subject contains %q", s.Subject),
				Fix: "list the store with 'certutil -user -store " + store + "'"}
		}
	default:
		return nil, &CertError{Where: where, Reason: "no thumbprint or subject given", Fix: "give the certificate's thumbprint or subject"}
	}
	cc := &clientCert{ctx: ctx, where: where}
	if x, err := x509.ParseCertificate(unsafe.Slice(ctx.EncodedCert, ctx.Length)); err == nil {
		cc.subject = x.Subject.String()
	}
	var key windows.Handle
	var spec uint32
	var mustFree bool
	err = windows.CryptAcquireCertificatePrivateKey(ctx, windows.CRYPT_ACQUIRE_SILENT_FLAG|windows.CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG,
		nil, &key, &spec, &mustFree)
	if err != nil {
		cc.free()
		return nil, &CertError{Where: where, Subject: cc.subject,
			Reason: fmt.Sprintf("its private key is not accessible: %v", err),
			Fix: "this user needs Read permission on the private key (certmgr.msc or certlm.msc: the certificate, All Tasks, Manage Private Keys), " +
				"and the certificate must have been imported with its key"}
	}
	if mustFree {
		if spec == windows.CERT_NCRYPT_KEY_SPEC {
			windows.NewLazySystemDLL("ncrypt.dll").NewProc("NCryptFreeObject").Call(uintptr(key))
		} else {
			windows.CryptReleaseContext(key, 0)
		}
	}
	return cc, nil
}

// CertError is a client certificate that cannot be used: not found in the
// store, or its private key is not accessible.
type CertError struct {
	Where   string // the store, as CurrentUser\MY
	Subject string
	Reason  string
	Fix     string
}

func (e *CertError) Error() string {
	s := "client certificate in " + e.Where
	if e.Subject != "" {
		s += fmt.Sprintf(" (%s)", e.Subject)
	}
	s += ": " + e.Reason
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}
