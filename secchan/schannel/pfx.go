//go:build windows

package schannel

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"unsafe"

	"golang.org/x/sys/windows"
)

// LoadPFX decodes a PKCS#12 (PFX, .p12) file with Windows' own decoder
// (PFXImportCertStore; RFC 7292) and returns the certificate whose private
// key it holds, with the file's other certificates as the chain, for
// secchan.Config.Certificates: both providers can use it. The key is not
// persisted in the user's key store (PKCS12_NO_PERSIST_KEY). Only RSA keys
// are read out this way (CryptoAPI PRIVATEKEYBLOB); a file with an ECDSA
// key is a *CertError saying to convert it to PEM (openssl pkcs12 -nodes)
// and use --cert/--key.
//
// A wrong password, a file that is not PKCS#12, or one without a private
// key is a *CertError.
func LoadPFX(data []byte, password string) (tls.Certificate, error) {
	fail := func(reason, fix string) (tls.Certificate, error) {
		return tls.Certificate{}, &CertError{Where: "PFX file", Reason: reason, Fix: fix}
	}
	if len(data) == 0 {
		return fail("the file is empty", "give a PKCS#12 (.pfx, .p12) file")
	}
	pw, err := windows.UTF16PtrFromString(password)
	if err != nil {
		return fail("the password contains a NUL character", "")
	}
	blob := windows.CryptDataBlob{Size: uint32(len(data)), Data: &data[0]}
	flags := uint32(windows.CRYPT_EXPORTABLE | windows.CRYPT_USER_KEYSET | windows.PKCS12_NO_PERSIST_KEY)
	store, err := windows.PFXImportCertStore(&blob, pw, flags)
	if err != nil && password == "" {
		// An empty password may have been encoded as none at all.
		store, err = windows.PFXImportCertStore(&blob, nil, flags)
	}
	if err != nil {
		if errors.Is(err, windows.ERROR_INVALID_PASSWORD) || errors.Is(err, windows.Errno(0x80070056)) {
			return fail("the password is wrong", "check the password given for the PKCS#12 file")
		}
		return fail(fmt.Sprintf("Windows cannot decode it as PKCS#12: %v", err),
			"check the file and its password; a PEM certificate and key are given as a certificate file and a key file instead")
	}
	// Wine ignores PKCS12_NO_PERSIST_KEY and imports the key into a
	// persisted container: whatever persistedKeyOf finds is deleted.
	var persisted []func()
	defer func() {
		windows.CertCloseStore(store, 0)
		for _, del := range persisted {
			del()
		}
	}()

	// The certificate the key belongs to is found by its public key: Wine
	// hands out the imported key for other certificates of the file too.
	var certs [][]byte
	var key *rsa.PrivateKey
	var keyErr error
	var ctx *windows.CertContext
	for {
		ctx, err = windows.CertEnumCertificatesInStore(store, ctx)
		if err != nil {
			break
		}
		certs = append(certs, append([]byte(nil), unsafe.Slice(ctx.EncodedCert, ctx.Length)...))
		if p, name, ok := persistedKeyOf(ctx); ok {
			persisted = append(persisted, func() { deleteContainerOf(p, name) })
		}
		if key == nil {
			k, err := exportRSAKey(ctx)
			if err == nil {
				key = k
			} else if keyErr == nil {
				keyErr = err
			}
		}
	}
	if key == nil {
		reason := "it holds no private key"
		if keyErr != nil {
			reason = "its private key cannot be read: " + keyErr.Error()
		}
		return fail(reason, "export the certificate with its private key; for a non-RSA key convert the file to PEM "+
			"(openssl pkcs12 -in FILE -nodes) and give the certificate and key files")
	}
	for i, der := range certs {
		if c, err := x509.ParseCertificate(der); err == nil && key.PublicKey.Equal(c.PublicKey) {
			chain := append([][]byte{der}, certs[:i]...)
			return tls.Certificate{Certificate: append(chain, certs[i+1:]...), PrivateKey: key}, nil
		}
	}
	return fail("its private key belongs to none of its certificates", "export the certificate together with its own private key")
}

// exportRSAKey reads out the RSA private key of ctx (imported exportable).
func exportRSAKey(ctx *windows.CertContext) (*rsa.PrivateKey, error) {
	var prov windows.Handle
	var spec uint32
	var mustFree bool
	// CRYPT_ACQUIRE_CACHE_FLAG: the key of PKCS12_NO_PERSIST_KEY is only in
	// the certificate's CERT_KEY_CONTEXT, which Wine consults only then.
	if err := windows.CryptAcquireCertificatePrivateKey(ctx, windows.CRYPT_ACQUIRE_SILENT_FLAG|windows.CRYPT_ACQUIRE_CACHE_FLAG, nil, &prov, &spec, &mustFree); err != nil {
		return nil, err
	}
	if mustFree {
		defer windows.CryptReleaseContext(prov, 0)
	}
	var hkey uintptr
	if spec != windows.AT_SIGNATURE {
		spec = windows.AT_KEYEXCHANGE // Wine reports both bits (3)
	}
	if r, _, e := procs.cryptGetUserKey.Call(uintptr(prov), uintptr(spec), uintptr(unsafe.Pointer(&hkey))); r == 0 {
		return nil, fmt.Errorf("CryptGetUserKey: %w", e)
	}
	defer procs.cryptDestroyKey.Call(hkey)
	var size uint32
	if r, _, e := procs.cryptExportKey.Call(hkey, 0, privateKeyBlob, 0, 0, uintptr(unsafe.Pointer(&size))); r == 0 {
		return nil, fmt.Errorf("CryptExportKey: %w", e)
	}
	buf := make([]byte, size)
	defer clear(buf)
	if r, _, e := procs.cryptExportKey.Call(hkey, 0, privateKeyBlob, 0, uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size))); r == 0 {
		return nil, fmt.Errorf("CryptExportKey: %w", e)
	}
	return parseRSAPrivateKeyBlob(buf[:size])
}

// parseRSAPrivateKeyBlob decodes a CryptoAPI PRIVATEKEYBLOB (the inverse of
// rsaPrivateKeyBlob) and checks the key.
func parseRSAPrivateKeyBlob(b []byte) (*rsa.PrivateKey, error) {
	if len(b) < 20 || b[0] != privateKeyBlob || binary.LittleEndian.Uint32(b[8:]) != 0x32415352 { // "RSA2"
		return nil, errors.New("not an RSA private key blob (the key is not RSA)")
	}
	bits := int(binary.LittleEndian.Uint32(b[12:]))
	e := binary.LittleEndian.Uint32(b[16:])
	n, half := (bits+7)/8, (bits+15)/16
	if bits < 512 || len(b) < 20+2*n+5*half {
		return nil, errors.New("the RSA private key blob is truncated")
	}
	p := b[20:]
	next := func(size int) *big.Int {
		v := make([]byte, size)
		for i := range v {
			v[size-1-i] = p[i]
		}
		p = p[size:]
		return new(big.Int).SetBytes(v)
	}
	k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: next(n), E: int(e)}}
	pr, q := next(half), next(half)
	// The private exponent and CRT values that follow are not used: the
	// exponent is derived from the primes (d = e^-1 mod (p-1)(q-1)), so a
	// blob whose CRT fields another implementation laid out differently
	// still yields the right key, and N = p*q is checked.
	if new(big.Int).Mul(pr, q).Cmp(k.N) != 0 {
		return nil, errors.New("the RSA private key blob is inconsistent (p*q is not the modulus)")
	}
	one := big.NewInt(1)
	phi := new(big.Int).Mul(new(big.Int).Sub(pr, one), new(big.Int).Sub(q, one))
	k.D = new(big.Int).ModInverse(big.NewInt(int64(e)), phi)
	if k.D == nil {
		return nil, errors.New("the RSA public exponent has no inverse")
	}
	k.Primes = []*big.Int{pr, q}
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("the RSA private key is not valid: %w", err)
	}
	k.Precompute()
	return k, nil
}
