//go:build windows

package schannel

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// systemStore opens the system store s names (CurrentUser\MY by default)
// with the extra CertOpenStore flags.
func (s *StoreCert) systemStore(flags uint32) (windows.Handle, error) {
	return s.openStore(windows.CERT_STORE_PROV_SYSTEM, flags)
}

// openStore opens the store s names with the store provider prov
// (CERT_STORE_PROV_SYSTEM: the logical store with all its physical stores;
// CERT_STORE_PROV_SYSTEM_REGISTRY: the registry store only).
func (s *StoreCert) openStore(prov uintptr, flags uint32) (windows.Handle, error) {
	store := s.Store
	if store == "" {
		store = "MY"
	}
	loc := uint32(windows.CERT_SYSTEM_STORE_CURRENT_USER)
	if s.LocalMachine {
		loc = windows.CERT_SYSTEM_STORE_LOCAL_MACHINE
	}
	name, err := windows.UTF16PtrFromString(store)
	if err != nil {
		return 0, &CertError{Where: s.location(), Reason: fmt.Sprintf("bad store name %q", store)}
	}
	h, err := windows.CertOpenStore(prov, 0, 0, loc|flags, uintptr(unsafe.Pointer(name)))
	runtime.KeepAlive(name) // CertOpenStore is a plain Go function: the uintptr alone does not keep name alive
	if err != nil {
		return 0, &CertError{Where: s.location(), Reason: fmt.Sprintf("cannot open the store: %v", err),
			Fix: "check the store name (MY is the Personal store); LocalMachine stores need an administrator to change them"}
	}
	return h, nil
}

// AddToStore imports a client certificate with its RSA private key into the
// Windows certificate store s names (s.Store, default MY; s.LocalMachine),
// as 'certutil -user -importpfx' would, and returns its thumbprint (SHA-1,
// upper-case hex) for StoreCert.Thumbprint. The key goes into a new
// persisted CryptoAPI container of this user (tlsmail-<random>), not
// exportable. s.Thumbprint and s.Subject are ignored.
//
// The store is closed before AddToStore returns: Wine writes a registry
// store out only when the handle that changed it is closed.
func AddToStore(s StoreCert, cert tls.Certificate) (thumbprint string, err error) {
	if len(cert.Certificate) == 0 {
		return "", &CertError{Where: s.location(), Reason: "the certificate is empty"}
	}
	key, ok := cert.PrivateKey.(*rsa.PrivateKey)
	if !ok {
		return "", &CertError{Where: s.location(), Reason: fmt.Sprintf("the key is %T; AddToStore takes RSA keys", cert.PrivateKey),
			Fix: "import other keys with certutil -importpfx"}
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	container, del, err := persistRSAKey(key, "tlsmail-"+hex.EncodeToString(rnd[:]))
	if err != nil {
		return "", err
	}
	ok = false
	defer func() {
		if !ok {
			del()
		}
	}()
	der := cert.Certificate[0]
	ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING, &der[0], uint32(len(der)))
	if err != nil {
		return "", &CertError{Where: s.location(), Reason: fmt.Sprintf("cannot load the certificate: %v", err)}
	}
	defer windows.CertFreeCertificateContext(ctx)
	if err := attachRSAKey(ctx, container); err != nil {
		return "", err
	}
	h, err := s.systemStore(0)
	if err != nil {
		return "", err
	}
	err = windows.CertAddCertificateContextToStore(h, ctx, windows.CERT_STORE_ADD_REPLACE_EXISTING, nil)
	if cerr := windows.CertCloseStore(h, 0); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return "", &CertError{Where: s.location(), Reason: fmt.Sprintf("cannot add the certificate: %v", err)}
	}
	ok = true
	sum := sha1.Sum(der)
	return strings.ToUpper(hex.EncodeToString(sum[:])), nil
}

// RemoveFromStore deletes the certificate with s.Thumbprint from its store,
// and the key container its CERT_KEY_PROV_INFO names when that container
// is one AddToStore made (tlsmail-*).
func RemoveFromStore(s StoreCert) error {
	hash, err := s.thumbprintHash()
	if err != nil {
		return err
	}
	// The registry store itself, not the logical store: Wine does not
	// delete through the logical store's collection (the certificate stays).
	h, err := s.openStore(windows.CERT_STORE_PROV_SYSTEM_REGISTRY, 0)
	if err != nil {
		return err
	}
	blob := windows.CryptDataBlob{Size: uint32(len(hash)), Data: &hash[0]}
	ctx, err := windows.CertFindCertificateInStore(h, windows.X509_ASN_ENCODING|windows.PKCS_7_ASN_ENCODING, 0,
		windows.CERT_FIND_HASH, unsafe.Pointer(&blob), nil)
	if err != nil {
		windows.CertCloseStore(h, 0)
		return &CertError{Where: s.location(), Reason: "no certificate has thumbprint " + strings.ToUpper(hex.EncodeToString(hash))}
	}
	container := keyContainer(ctx)
	err = windows.CertDeleteCertificateFromStore(ctx) // frees ctx
	if cerr := windows.CertCloseStore(h, 0); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return &CertError{Where: s.location(), Reason: fmt.Sprintf("cannot delete the certificate: %v", err)}
	}
	if strings.HasPrefix(container, "tlsmail-") {
		name, _ := windows.UTF16PtrFromString(container)
		provName, _ := windows.UTF16PtrFromString(msEnhRSAAESProv)
		var prov windows.Handle
		windows.CryptAcquireContext(&prov, name, provName, windows.PROV_RSA_AES, windows.CRYPT_DELETEKEYSET)
	}
	return nil
}

// keyContainer returns the container name of ctx's CERT_KEY_PROV_INFO, or
// "".
func keyContainer(ctx *windows.CertContext) string {
	var size uint32
	r, _, _ := procs.certGetCertContextProperty.Call(uintptr(unsafe.Pointer(ctx)), certKeyProvInfoPropID, 0, uintptr(unsafe.Pointer(&size)))
	if r == 0 || size < uint32(unsafe.Sizeof(cryptKeyProvInfo{})) {
		return ""
	}
	buf := make([]uint64, (size+7)/8) // aligned for the pointers inside
	r, _, _ = procs.certGetCertContextProperty.Call(uintptr(unsafe.Pointer(ctx)), certKeyProvInfoPropID, uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)))
	if r == 0 {
		return ""
	}
	info := (*cryptKeyProvInfo)(unsafe.Pointer(&buf[0]))
	if info.containerName == nil {
		return ""
	}
	return windows.UTF16PtrToString(info.containerName)
}

// thumbprintHash decodes s.Thumbprint (spaces, colons and the invisible
// left-to-right mark certmgr.msc copies are ignored).
func (s *StoreCert) thumbprintHash() ([]byte, error) {
	tp := strings.NewReplacer(" ", "", ":", "", "\u200e", "").Replace(s.Thumbprint)
	hash, err := hex.DecodeString(tp)
	if err != nil || len(hash) != sha1.Size {
		return nil, &CertError{Where: s.location(), Reason: fmt.Sprintf("the thumbprint %q is not 40 hex digits", s.Thumbprint),
			Fix: "copy the Thumbprint field from the certificate's Details tab"}
	}
	return hash, nil
}

// certOCSPResponsePropID is CERT_OCSP_RESPONSE_PROP_ID: Schannel puts the
// OCSP response the server stapled (RFC 6066 section 8) on the remote
// certificate context.
const certOCSPResponsePropID = 70

// certProperty returns a copy of property id of ctx, or nil.
func certProperty(ctx *windows.CertContext, id uint32) []byte {
	var size uint32
	r, _, _ := procs.certGetCertContextProperty.Call(uintptr(unsafe.Pointer(ctx)), uintptr(id), 0, uintptr(unsafe.Pointer(&size)))
	if r == 0 || size == 0 {
		return nil
	}
	buf := make([]byte, size)
	r, _, _ = procs.certGetCertContextProperty.Call(uintptr(unsafe.Pointer(ctx)), uintptr(id), uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)))
	if r == 0 {
		return nil
	}
	return buf[:size]
}
