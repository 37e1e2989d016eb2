//go:build windows

package schannel

// Declarations of the SSPI functions and structures used here, as in the
// Windows SDK headers sspi.h and schannel.h. golang.org/x/sys/windows has the
// crypt32 side but not these.

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// secur32 is loaded from system32 only.
type sspiProcs struct {
	acquireCredentialsHandle   *windows.LazyProc
	freeCredentialsHandle      *windows.LazyProc
	initializeSecurityContext  *windows.LazyProc
	deleteSecurityContext      *windows.LazyProc
	freeContextBuffer          *windows.LazyProc
	queryContextAttributes     *windows.LazyProc
	encryptMessage             *windows.LazyProc
	decryptMessage             *windows.LazyProc
	applyControlToken          *windows.LazyProc
	certCreateChainEngine      *windows.LazyProc
	certFreeChainEngine        *windows.LazyProc
	certSetCertContextProperty *windows.LazyProc
	certGetCertContextProperty *windows.LazyProc
	cryptImportKey             *windows.LazyProc
	cryptDestroyKey            *windows.LazyProc
	cryptGetUserKey            *windows.LazyProc
	cryptExportKey             *windows.LazyProc
	cryptGetProvParam          *windows.LazyProc
	wineGetVersion             *windows.LazyProc
}

// procs is immutable after initialisation: the lazy procedures resolve on
// first use, under their own lock.
var procs = func() sspiProcs {
	secur32 := windows.NewLazySystemDLL("secur32.dll")
	crypt32 := windows.NewLazySystemDLL("crypt32.dll")
	advapi32 := windows.NewLazySystemDLL("advapi32.dll")
	ntdll := windows.NewLazySystemDLL("ntdll.dll")
	return sspiProcs{
		acquireCredentialsHandle:   secur32.NewProc("AcquireCredentialsHandleW"),
		freeCredentialsHandle:      secur32.NewProc("FreeCredentialsHandle"),
		initializeSecurityContext:  secur32.NewProc("InitializeSecurityContextW"),
		deleteSecurityContext:      secur32.NewProc("DeleteSecurityContext"),
		freeContextBuffer:          secur32.NewProc("FreeContextBuffer"),
		queryContextAttributes:     secur32.NewProc("QueryContextAttributesW"),
		encryptMessage:             secur32.NewProc("EncryptMessage"),
		decryptMessage:             secur32.NewProc("DecryptMessage"),
		applyControlToken:          secur32.NewProc("ApplyControlToken"),
		certCreateChainEngine:      crypt32.NewProc("CertCreateCertificateChainEngine"),
		certFreeChainEngine:        crypt32.NewProc("CertFreeCertificateChainEngine"),
		certSetCertContextProperty: crypt32.NewProc("CertSetCertificateContextProperty"),
		certGetCertContextProperty: crypt32.NewProc("CertGetCertificateContextProperty"),
		cryptImportKey:             advapi32.NewProc("CryptImportKey"),
		cryptDestroyKey:            advapi32.NewProc("CryptDestroyKey"),
		cryptGetUserKey:            advapi32.NewProc("CryptGetUserKey"),
		cryptExportKey:             advapi32.NewProc("CryptExportKey"),
		cryptGetProvParam:          advapi32.NewProc("CryptGetProvParam"),
		wineGetVersion:             ntdll.NewProc("wine_get_version"),
	}
}()

// schannelCred is SCHANNEL_CRED (version 4), understood by every Windows
// version and by Wine.
type schannelCred struct {
	dwVersion               uint32
	cCreds                  uint32
	paCred                  **windows.CertContext
	hRootStore              windows.Handle
	cMappers                uint32
	aphMappers              unsafe.Pointer
	cSupportedAlgs          uint32
	palgSupportedAlgs       *uint32
	grbitEnabledProtocols   uint32
	dwMinimumCipherStrength uint32
	dwMaximumCipherStrength uint32
	dwSessionLifespan       uint32
	dwFlags                 uint32
	dwCredFormat            uint32
}

// schCredentials is SCH_CREDENTIALS (version 5, Windows 10 1809 and later),
// the only structure through which newer Windows offers TLS 1.3.
type schCredentials struct {
	dwVersion         uint32
	dwCredFormat      uint32
	cCreds            uint32
	paCred            **windows.CertContext
	hRootStore        windows.Handle
	cMappers          uint32
	aphMappers        unsafe.Pointer
	dwSessionLifespan uint32
	dwFlags           uint32
	cTLSParameters    uint32
	pTLSParameters    *tlsParameters
}

// tlsParameters is TLS_PARAMETERS.
type tlsParameters struct {
	cAlpnIds               uint32
	rgstrAlpnIds           unsafe.Pointer
	grbitDisabledProtocols uint32
	cDisabledCrypto        uint32
	pDisabledCrypto        unsafe.Pointer
	dwFlags                uint32
}

// connectionInfo is SecPkgContext_ConnectionInfo.
type connectionInfo struct {
	dwProtocol       uint32
	aiCipher         uint32
	dwCipherStrength uint32
	aiHash           uint32
	dwHashStrength   uint32
	aiExch           uint32
	dwExchStrength   uint32
}

// cipherInfo is SecPkgContext_CipherInfo (Windows Vista and later).
type cipherInfo struct {
	dwVersion         uint32
	dwProtocol        uint32
	dwCipherSuite     uint32
	dwBaseCipherSuite uint32
	szCipherSuite     [64]uint16
	szCipher          [64]uint16
	dwCipherLen       uint32
	dwCipherBlockLen  uint32
	szHash            [64]uint16
	dwHashLen         uint32
	szExchange        [64]uint16
	dwMinExchangeLen  uint32
	dwMaxExchangeLen  uint32
	szCertificate     [64]uint16
	dwKeyType         uint32
}

// applicationProtocol is SecPkgContext_ApplicationProtocol.
type applicationProtocol struct {
	protoNegoStatus uint32
	protoNegoExt    uint32
	protocolIDSize  uint8
	protocolID      [255]byte
}

func status(r1 uintptr) uint32 { return uint32(r1) }

func acquireCredentialsHandle(authData unsafe.Pointer, cred *secHandle) uint32 {
	pkg, _ := windows.UTF16PtrFromString(unispName)
	var expiry int64
	r, _, _ := procs.acquireCredentialsHandle.Call(0, uintptr(unsafe.Pointer(pkg)), secpkgCredOutbound, 0,
		uintptr(authData), 0, 0, uintptr(unsafe.Pointer(cred)), uintptr(unsafe.Pointer(&expiry)))
	return status(r)
}

func freeCredentialsHandle(cred *secHandle) {
	procs.freeCredentialsHandle.Call(uintptr(unsafe.Pointer(cred)))
}

func initializeSecurityContext(cred, ctx *secHandle, target *uint16, req uint32, in *secBufferDesc, newCtx *secHandle, out *secBufferDesc, attrs *uint32) uint32 {
	// ctx and in may be nil: unsafe.Pointer of a nil pointer is 0, the NULL
	// the first call wants. Every pointer is converted inside the Call
	// expression, where the compiler keeps its object alive and unmoved
	// until the call returns (unsafe.Pointer rule 4).
	var expiry int64
	r, _, _ := procs.initializeSecurityContext.Call(uintptr(unsafe.Pointer(cred)), uintptr(unsafe.Pointer(ctx)), uintptr(unsafe.Pointer(target)),
		uintptr(req), 0, 0, uintptr(unsafe.Pointer(in)), 0, uintptr(unsafe.Pointer(newCtx)), uintptr(unsafe.Pointer(out)),
		uintptr(unsafe.Pointer(attrs)), uintptr(unsafe.Pointer(&expiry)))
	return status(r)
}

func deleteSecurityContext(ctx *secHandle) {
	procs.deleteSecurityContext.Call(uintptr(unsafe.Pointer(ctx)))
}

func freeContextBuffer(p unsafe.Pointer) {
	if p != nil {
		procs.freeContextBuffer.Call(uintptr(p))
	}
}

func queryContextAttributes(ctx *secHandle, attr uint32, buf unsafe.Pointer) uint32 {
	r, _, _ := procs.queryContextAttributes.Call(uintptr(unsafe.Pointer(ctx)), uintptr(attr), uintptr(buf))
	return status(r)
}

func encryptMessage(ctx *secHandle, msg *secBufferDesc) uint32 {
	r, _, _ := procs.encryptMessage.Call(uintptr(unsafe.Pointer(ctx)), 0, uintptr(unsafe.Pointer(msg)), 0)
	return status(r)
}

func decryptMessage(ctx *secHandle, msg *secBufferDesc) uint32 {
	var qop uint32
	r, _, _ := procs.decryptMessage.Call(uintptr(unsafe.Pointer(ctx)), uintptr(unsafe.Pointer(msg)), 0, uintptr(unsafe.Pointer(&qop)))
	return status(r)
}

func applyControlToken(ctx *secHandle, in *secBufferDesc) uint32 {
	r, _, _ := procs.applyControlToken.Call(uintptr(unsafe.Pointer(ctx)), uintptr(unsafe.Pointer(in)))
	return status(r)
}

// underWine reports whether the process runs under Wine (ntdll exports
// wine_get_version there and nowhere else).
func underWine() bool { return procs.wineGetVersion.Find() == nil }

// winSSPI is secAPI by secur32.dll.
type winSSPI struct{}

func (winSSPI) initializeSecurityContext(cred, ctx *secHandle, target *uint16, req uint32, in *secBufferDesc, newCtx *secHandle, out *secBufferDesc, attrs *uint32) uint32 {
	return initializeSecurityContext(cred, ctx, target, req, in, newCtx, out, attrs)
}
func (winSSPI) deleteSecurityContext(ctx *secHandle) { deleteSecurityContext(ctx) }
func (winSSPI) freeContextBuffer(p unsafe.Pointer)   { freeContextBuffer(p) }
func (winSSPI) encryptMessage(ctx *secHandle, msg *secBufferDesc) uint32 {
	return encryptMessage(ctx, msg)
}
func (winSSPI) decryptMessage(ctx *secHandle, msg *secBufferDesc) uint32 {
	return decryptMessage(ctx, msg)
}
func (winSSPI) applyControlToken(ctx *secHandle, in *secBufferDesc) uint32 {
	return applyControlToken(ctx, in)
}

// handle returns the SSPI credentials handle (credHandle).
func (c *credential) handle() *secHandle { return &c.h }
