//go:build windows

package schannel

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"fmt"
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
	cryptExportable       = 1
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
// a certificate and key (from --cert/--key or --pfx). The key goes into a
// fresh CryptoAPI key container of this user, named tlsmail-<random>, that
// is deleted when the connection closes: Schannel does the signing in the
// LSA process, which cannot use keys that exist only in this process.
//
// Only RSA keys are supported this way (Schannel under Wine cannot use
// anything else; ECDSA keys need CNG and are not wired yet): put an ECDSA
// certificate in a Windows store and select it with StoreCert instead.
func certFromTLS(tc tls.Certificate) (*clientCert, error) {
	if len(tc.Certificate) == 0 {
		return nil, fmt.Errorf("schannel: the client certificate is empty")
	}
	leaf, err := x509.ParseCertificate(tc.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("schannel: parse the client certificate: %w", err)
	}
	key, ok := tc.PrivateKey.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("schannel: the client key is %T; from files the Schannel provider takes RSA keys only: "+
			"import the certificate into the Windows store (certutil -importpfx) and select it with --cert-store MY --cert-thumbprint, or use --tls-provider go", tc.PrivateKey)
	}
	cc := &clientCert{where: "file", subject: leaf.Subject.String()}
	ok = false
	defer func() {
		if !ok {
			cc.free()
		}
	}()

	container, del, err := persistRSAKey(key)
	if err != nil {
		return nil, err
	}
	cc.release = append(cc.release, del)

	// X509_ASN_ENCODING alone: Wine's Schannel refuses any other encoding type.
	ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING, &tc.Certificate[0][0], uint32(len(tc.Certificate[0])))
	if err != nil {
		return nil, fmt.Errorf("schannel: load the client certificate: %w", err)
	}
	cc.ctx = ctx
	if err := attachRSAKey(ctx, container); err != nil {
		return nil, err
	}
	ok = true
	return cc, nil
}

// persistRSAKey puts key into a fresh CryptoAPI key container of this user,
// named tlsmail-<random>, and returns the container's name and a function
// that deletes it. The key is marked exportable: Wine's Schannel hands it
// to GnuTLS by reading it out.
func persistRSAKey(key *rsa.PrivateKey) (container *uint16, del func(), err error) {
	blob, err := rsaPrivateKeyBlob(key)
	if err != nil {
		return nil, nil, err
	}
	defer clear(blob)
	var rnd [8]byte
	rand.Read(rnd[:])
	container, _ = windows.UTF16PtrFromString("tlsmail-" + hex.EncodeToString(rnd[:]))
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
	r, _, e := procs.cryptImportKey.Call(uintptr(prov), uintptr(unsafe.Pointer(&blob[0])), uintptr(len(blob)), 0, cryptExportable, uintptr(unsafe.Pointer(&hkey)))
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
		return nil, &CertError{Where: where, Reason: "no thumbprint or subject given", Fix: "pass --cert-thumbprint or --cert-subject"}
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
