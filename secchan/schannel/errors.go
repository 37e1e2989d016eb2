package schannel

import (
	"errors"
	"fmt"

	"github.com/tlsmail/tlsmail/secchan"
)

// Windows status codes that Schannel returns, with their meaning (from
// winerror.h) and what a user can do. The table has no build tag so that the
// messages can be tested everywhere.
var secCodes = map[uint32]struct{ name, meaning, fix string }{
	0x80090300: {"SEC_E_INSUFFICIENT_MEMORY", "not enough memory to complete the request", ""},
	0x80090301: {"SEC_E_INVALID_HANDLE", "the handle is not valid", "this is a bug in tlsmail; please report it"},
	0x80090302: {"SEC_E_UNSUPPORTED_FUNCTION", "the function requested is not supported", "the server may require a TLS feature this Windows version lacks"},
	0x80090303: {"SEC_E_TARGET_UNKNOWN", "the specified target is unknown or unreachable", ""},
	0x80090304: {"SEC_E_INTERNAL_ERROR", "the Local Security Authority cannot be contacted", "check the Windows event log (Schannel events)"},
	0x80090305: {"SEC_E_SECPKG_NOT_FOUND", "the requested security package does not exist", ""},
	0x80090308: {"SEC_E_INVALID_TOKEN", "the token supplied to the function is invalid", "the server sent something that is not TLS (it may expect plain SMTP: use STARTTLS on ports 25 and 587)"},
	0x8009030C: {"SEC_E_LOGON_DENIED", "the logon attempt failed", ""},
	0x8009030D: {"SEC_E_UNKNOWN_CREDENTIALS", "the credentials supplied to the package were not recognized", "check the client certificate and that its private key is accessible"},
	0x8009030E: {"SEC_E_NO_CREDENTIALS", "no credentials are available in the security package", "the client certificate's private key cannot be used: check that it is present and accessible to this user"},
	0x8009030F: {"SEC_E_MESSAGE_ALTERED", "the message or signature supplied for verification has been altered", "the connection was tampered with or corrupted; try again"},
	0x80090311: {"SEC_E_NO_AUTHENTICATING_AUTHORITY", "no authority could be contacted for authentication", ""},
	0x80090316: {"SEC_E_BAD_PKGID", "the requested security package does not exist", ""},
	0x80090317: {"SEC_E_CONTEXT_EXPIRED", "the context has expired and can no longer be used", "reconnect"},
	0x80090318: {"SEC_E_INCOMPLETE_MESSAGE", "the supplied message is incomplete", "the server closed the connection in the middle of a TLS record"},
	0x80090320: {"SEC_E_INCOMPLETE_CREDENTIALS", "the credentials supplied were not complete", "the server wants a client certificate: give one (a PEM certificate and key, a PKCS#12 file, or one from the Windows certificate store)"},
	0x80090321: {"SEC_E_BUFFER_TOO_SMALL", "the buffers supplied to a function was too small", "this is a bug in tlsmail; please report it"},
	0x80090322: {"SEC_E_WRONG_PRINCIPAL", "the target principal name is incorrect", "check the server name to verify: it must be a name the certificate lists"},
	0x80090325: {"SEC_E_UNTRUSTED_ROOT", "the certificate chain was issued by an authority that is not trusted", "add the issuing CA's certificate to the trusted roots, or install it in the Windows trust store"},
	0x80090326: {"SEC_E_ILLEGAL_MESSAGE", "the message received was unexpected or badly formatted", "the server sent a TLS alert or malformed data; it may require a client certificate or an older protocol"},
	0x80090327: {"SEC_E_CERT_UNKNOWN", "an unknown error occurred while processing the certificate", ""},
	0x80090328: {"SEC_E_CERT_EXPIRED", "the received certificate has expired", "renew the certificate on the server"},
	0x80090329: {"SEC_E_ENCRYPT_FAILURE", "the specified data could not be encrypted", ""},
	0x80090330: {"SEC_E_DECRYPT_FAILURE", "the specified data could not be decrypted", "the connection was corrupted; try again"},
	0x80090331: {"SEC_E_ALGORITHM_MISMATCH", "the client and server cannot communicate, because they do not possess a common algorithm", "the server's TLS configuration shares no protocol version or cipher suite with this Windows; check which versions the server accepts"},
	0x80090332: {"SEC_E_SECURITY_QOS_FAILED", "the security context could not be established due to a failure in the requested quality of service", ""},
	0x80090349: {"SEC_E_CERT_WRONG_USAGE", "the certificate is not valid for the requested usage", ""},
	0x8009035D: {"SEC_E_INVALID_PARAMETER", "one or more of the parameters passed to the function was invalid", "this is a bug in tlsmail; please report it"},
	0x8009035E: {"SEC_E_DELEGATION_POLICY", "the client is not allowed to connect to this server by policy", ""},
	0x80090367: {"SEC_E_APPLICATION_PROTOCOL_MISMATCH", "no common application protocol exists between the client and the server", "the server does not accept the requested ALPN protocols"},
	0x00090312: {"SEC_I_CONTINUE_NEEDED", "the function completed successfully, but must be called again to complete the context", ""},
	0x00090317: {"SEC_I_CONTEXT_EXPIRED", "the context has expired (the peer sent close_notify)", ""},
	0x00090320: {"SEC_I_INCOMPLETE_CREDENTIALS", "the credentials supplied were not complete (the server asked for a client certificate)", "pass a client certificate"},
	0x00090321: {"SEC_I_RENEGOTIATE", "the context data must be renegotiated with the peer", ""},
	0x8009030B: {"SEC_E_NO_IMPERSONATION", "no impersonation is allowed for this context", ""},
	0x80090350: {"SEC_E_DOWNGRADE_DETECTED", "the system cannot contact a domain controller, or a downgrade attack was detected", "try again; if it persists the network path alters TLS"},
	0x8009036A: {"SEC_E_INVALID_UPN_NAME", "the UPN is invalid", ""},
	0x80092010: {"CRYPT_E_REVOKED", "the certificate is revoked", "the server must get a new certificate"},
	0x80092012: {"CRYPT_E_NO_REVOCATION_CHECK", "the revocation function was unable to check revocation for the certificate", ""},
	0x80092013: {"CRYPT_E_REVOCATION_OFFLINE", "the revocation function was unable to check revocation because the revocation server was offline", ""},
}

// CodeName returns the symbolic name of a Windows SSPI status code, such as
// "SEC_E_ILLEGAL_MESSAGE", or "" when it is not known.
func CodeName(code uint32) string { return secCodes[code].name }

// CodeMeaning returns what a Windows SSPI status code means, in words.
func CodeMeaning(code uint32) string {
	if c, ok := secCodes[code]; ok && c.meaning != "" {
		return c.meaning
	}
	return "unknown Windows status"
}

// statusError makes the typed error for an SSPI call that returned code.
func statusError(what string, code uint32) *secchan.HandshakeError {
	c := secCodes[code]
	name := c.name
	if name == "" {
		name = "status"
	}
	return &secchan.HandshakeError{
		Provider: "schannel",
		Code:     code,
		Reason:   fmt.Sprintf("%s: %s (%s)", what, CodeMeaning(code), name),
		Fix:      c.fix,
	}
}

// StatusError is an SSPI failure after the handshake (EncryptMessage,
// DecryptMessage): the Windows code and what it means.
type StatusError struct {
	Op   string
	Code uint32
}

func (e *StatusError) Error() string {
	name := CodeName(e.Code)
	if name == "" {
		name = "status"
	}
	return fmt.Sprintf("schannel: %s failed: %s (%s 0x%08X)", e.Op, CodeMeaning(e.Code), name, e.Code)
}

// ErrRenegotiation is the error of Read (and of every later Read and Write)
// after a TLS 1.2 server asked to renegotiate (HelloRequest, RFC 5246
// section 7.4.1.1). Renegotiation is refused, as crypto/tls refuses it by
// default: the server's new certificate would not be verified.
var ErrRenegotiation = errors.New("schannel: the server asked to renegotiate the TLS 1.2 session, which is refused (the new server certificate would not be verified); reconnect, and ask the server's operator to disable TLS renegotiation or to offer TLS 1.3")
