package schannel

// The SSPI structures, constants and calls the record layer and the
// handshake loop use, without a build tag: on Windows secAPI is secur32
// (winSSPI in sspi.go); the tests drive the same code on every OS through a
// fake that returns what Windows returns, including what Wine's Schannel
// never does (TLS 1.3 post-handshake messages as SEC_I_RENEGOTIATE).

import "unsafe"

// secAPI is the seam between the connection and Schannel: the SSPI calls
// made on a credentials handle and a security context (sspi.h). Conn makes
// every one of them with Conn.hmu held, after checking that the handles
// have not been released.
type secAPI interface {
	initializeSecurityContext(cred, ctx *secHandle, target *uint16, req uint32, in *secBufferDesc, newCtx *secHandle, out *secBufferDesc, attrs *uint32) uint32
	deleteSecurityContext(ctx *secHandle)
	freeContextBuffer(p unsafe.Pointer)
	encryptMessage(ctx *secHandle, msg *secBufferDesc) uint32
	decryptMessage(ctx *secHandle, msg *secBufferDesc) uint32
	applyControlToken(ctx *secHandle, in *secBufferDesc) uint32
}

// credHandle is an acquired credentials handle and what it holds (the
// client certificate); free releases both.
type credHandle interface {
	handle() *secHandle
	free()
}

// secHandle is CredHandle and CtxtHandle.
type secHandle struct {
	lower, upper uintptr
}

func (h *secHandle) isZero() bool { return h.lower == 0 && h.upper == 0 }

// secBuffer is SecBuffer. pvBuffer points into Go memory we own or into
// memory Schannel allocated; it is never a uintptr.
type secBuffer struct {
	cbBuffer   uint32
	bufferType uint32
	pvBuffer   unsafe.Pointer
}

// secBufferDesc is SecBufferDesc.
type secBufferDesc struct {
	ulVersion uint32
	cBuffers  uint32
	pBuffers  *secBuffer
}

func newDesc(bufs []secBuffer) *secBufferDesc {
	return &secBufferDesc{ulVersion: secbufferVersion, cBuffers: uint32(len(bufs)), pBuffers: &bufs[0]}
}

func (b *secBuffer) bytes() []byte {
	if b.pvBuffer == nil || b.cbBuffer == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(b.pvBuffer), b.cbBuffer)
}

const (
	secbufferVersion = 0

	secbufferEmpty                = 0
	secbufferData                 = 1
	secbufferToken                = 2
	secbufferExtra                = 5
	secbufferStreamTrailer        = 6
	secbufferStreamHeader         = 7
	secbufferAlert                = 17
	secbufferApplicationProtocols = 18

	secpkgCredOutbound = 2

	iscReqReplayDetect     = 0x00000004
	iscReqSequenceDetect   = 0x00000008
	iscReqConfidentiality  = 0x00000010
	iscReqUseSuppliedCreds = 0x00000080
	iscReqAllocateMemory   = 0x00000100
	iscReqExtendedError    = 0x00004000
	iscReqStream           = 0x00008000
	iscReqManualCredValid  = 0x00080000

	// Context attributes InitializeSecurityContext returns (ISC_RET_*).
	iscRetReplayDetect    = 0x00000004
	iscRetSequenceDetect  = 0x00000008
	iscRetConfidentiality = 0x00000010
	iscRetAllocatedMemory = 0x00000100
	iscRetStream          = 0x00008000

	// Status codes (winerror.h).
	secEOK                    = 0x00000000
	secIContinueNeeded        = 0x00090312
	secIContextExpired        = 0x00090317
	secIIncompleteCredentials = 0x00090320
	secIRenegotiate           = 0x00090321
	secEIncompleteMessage     = 0x80090318

	unispName = "Microsoft Unified Security Protocol Provider"

	schannelCredVersion = 4
	schCredentialsV     = 5

	schCredManualCredValidation = 0x00000008
	schCredNoDefaultCreds       = 0x00000010
	schUseStrongCrypto          = 0x00400000

	spProtTLS10Client = 0x00000080
	spProtTLS11Client = 0x00000200
	spProtTLS12Client = 0x00000800
	spProtTLS13Client = 0x00002000
	spProtSSL3Client  = 0x00000020
	spProtSSL2Client  = 0x00000008

	schannelShutdown = 1

	secpkgAttrStreamSizes         = 4
	secpkgAttrApplicationProtocol = 35
	secpkgAttrRemoteCertContext   = 0x53
	secpkgAttrConnectionInfo      = 0x5a
	secpkgAttrCipherInfo          = 0x64
	secpkgAttrSessionInfo         = 0x5d

	secApplicationProtocolNegotiationExtALPN       = 2
	secApplicationProtocolNegotiationStatusSuccess = 1
)

// streamSizes is SecPkgContext_StreamSizes.
type streamSizes struct {
	cbHeader, cbTrailer, cbMaximumMessage, cBuffers, cbBlockSize uint32
}
