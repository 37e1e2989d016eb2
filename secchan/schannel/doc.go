// Package schannel is the Windows Schannel provider of package secchan: TLS
// by the operating system's SSPI, called directly through
// golang.org/x/sys/windows (no cgo). The provider is built on Windows only;
// elsewhere the package holds its error-code table and the record layer,
// which the tests drive through a fake SSPI (secAPI) on every OS.
//
// Schannel runs the protocol; tlsmail decides trust. Credentials always carry
// SCH_CRED_MANUAL_CRED_VALIDATION, SCH_CRED_NO_DEFAULT_CREDS and
// SCH_USE_STRONG_CRYPTO; SCH_CREDENTIALS is used from Windows 10 1809 and TLS
// 1.3 offered from build 20348 (Server 2022, Windows 11) only. After the
// handshake the server's chain (SECPKG_ATTR_REMOTE_CERT_CONTEXT) is judged:
// with roots or pins in the Config (--ca, --pin) by package trust, exactly as
// the crypto/tls provider does; otherwise by crypt32 (CertGetCertificateChain
// with serverAuth usage, every CERT_TRUST_* error bit reported, then
// CertVerifyCertificateChainPolicy with CERT_CHAIN_POLICY_SSL and the server
// name), the Windows codes mapped to the same trust.Kind values. The SSL
// policy reports only its first error and compares the name only on an
// otherwise clean chain, so the name is always checked on its own as well: by
// a second policy call that ignores everything else and by the leaf's
// hostname check of package trust (a trailing dot removed first). Revocation
// follows Trust.Revocation (an unknown status is an error in strict mode);
// the CRL and OCSP fetches of chain building share what is left of the
// handshake's deadline, and a cancelled context ends the wait for them. The
// decision itself (decide.go) is plain Go, tested on every OS. The checks
// Windows leaves to machine policy or skips (RSA key size, SHA-1 signatures,
// EKU nesting, path length, the expiring-soon warning) are added from package
// trust over the path crypt32 built, so that system trust is never weaker
// than the crypto/tls provider's verdict for those kinds. A chain with
// an error-level problem fails the handshake with a *trust.Error (after a
// fatal alert to the server) unless Config.Insecure is set; the report is in
// State either way.
//
// The record layer keeps every byte: bytes Schannel did not consume during the
// handshake (SECBUFFER_EXTRA, which can hold an SMTP greeting sent with the
// server's last flight) feed the first DecryptMessage; decrypted data larger
// than the caller's buffer is returned over several Reads; SEC_I_RENEGOTIATE
// (TLS 1.3 post-handshake messages) goes back through the handshake loop,
// and in TLS 1.2 (a HelloRequest) fails the connection with
// ErrRenegotiation, as crypto/tls refuses renegotiation by default; data
// that comes with SEC_I_RENEGOTIATE or SEC_I_CONTEXT_EXPIRED is kept. A
// context without the attributes asked for (confidentiality, replay and
// sequence detection, stream) is refused. close_notify reads as io.EOF; a
// TCP close inside a record is io.ErrUnexpectedEOF; one at a record boundary
// reads as io.EOF, as with crypto/tls. A failed or timed-out Write is
// permanent: every later Write returns its error. Close sends close_notify
// (ApplyControlToken(SCHANNEL_SHUTDOWN)), except while a Write is blocked,
// which Close ends without waiting. Read never waits for a Write.
//
// # Session resumption
//
// Schannel keeps client sessions itself, per credentials handle and server
// name, so a session is resumed (RFC 5246 section 7.3, RFC 8446 section
// 2.2) only by a connection made with the handle of an earlier one. A
// Provider from NewProvider shares one handle between the connections whose
// Config has the same SessionCache (by identity), the same client
// certificate (the certificate and key, or the store certificate found) and
// the same MinVersion and MaxVersion; it never shares one across client
// identities. Config.SessionCache only scopes the sharing: Schannel stores
// nothing in it. A handle lives while a connection uses it, and afterwards
// as one of at most eight idle ones (least recently used freed first) until
// Provider.CloseIdleCredentials; with it go Schannel's sessions and a client
// key kept in a key container for it. State().Resumed is
// SECPKG_ATTR_SESSION_INFO's SSL_SESSION_RECONNECT. The zero Provider
// acquires a handle for every connection and never resumes.
//
// Client certificates come from Config.Certificates (RSA keys only: the key
// stays in memory through PFXImportCertStore with PKCS12_NO_PERSIST_KEY, or,
// under Wine and where Schannel offers TLS 1.3, sits in a non-exportable
// CryptoAPI container deleted on Close or by the next tlsmail after a crash;
// the chain's intermediates are added to CurrentUser\CA, from which
// Schannel builds the chain it sends) or from a
// Windows store with Provider.ClientCert (thumbprint or subject; the key is
// used in place and may be non-exportable). A key that cannot be used is a
// *CertError naming the store and the permission needed. LoadPFX decodes a
// PKCS#12 file with Windows' PFXImportCertStore into a tls.Certificate (RSA
// keys) for either provider; AddToStore and RemoveFromStore put a
// certificate with its key into a store and take it out again.
//
// # Wine
//
// The tests run on Linux under Wine 8.0 (scripts/wine-test.sh). Known gaps,
// for which the tests skip with this reason and nothing else:
//   - Wine's Schannel resumes no session (its GnuTLS backend keeps no
//     session data between contexts): the shared credential is tested
//     under Wine, resumption itself (TestNativeResumption) on Windows only.
//   - Wine's Schannel has no TLS 1.3: connections are TLS 1.2, and
//     SEC_I_RENEGOTIATE for post-handshake messages never comes from it: the
//     record layer's handling of it (and of Close racing it) is tested
//     through a fake SSPI that returns what Windows 11 returns.
//   - Wine reports close_notify as an empty SEC_E_OK followed by the end of
//     the stream rather than SEC_I_CONTEXT_EXPIRED; both read as io.EOF.
//   - Wine's Schannel uses GnuTLS and can only take RSA client keys it reads
//     from a CryptoAPI container, and only X509_ASN_ENCODING contexts; it
//     sends the client certificate without its intermediates.
//   - Wine ignores SCH_CREDENTIALS' TLS_PARAMETERS (protocol limits), and
//     its CIPHER_INFO suite name may read "..._<unknown>".
//   - Wine's CertCreateCertificateChainEngine refuses the
//     CERT_CHAIN_ENGINE_CONFIG size with hExclusiveRoot, so a test cannot
//     give an engine its own root; but an engine reads CurrentUser\Root of
//     the Wine prefix when it is made: the system-trust tests put their
//     root there for their duration (on Windows they use hExclusiveRoot and
//     leave the machine's stores alone).
//   - Wine's chain building did not return within dwUrlRetrievalTimeout in
//     the tests, and without it waited more than ten minutes for a CRL
//     server that never answers: there only the context bounds the wait. Its SSL policy says CERT_E_REVOCATION_FAILURE
//     where Windows says CRYPT_E_REVOCATION_OFFLINE.
//   - Wine writes a registry-backed store (CurrentUser\MY) out only when the
//     handle that changed it is closed, not on CertControlStore(COMMIT):
//     the store test closes its handle after adding the certificate. Nor
//     does it delete a certificate through the logical system store (the
//     collection CERT_STORE_PROV_SYSTEM opens): RemoveFromStore deletes it
//     from the registry store (CERT_STORE_PROV_SYSTEM_REGISTRY) instead,
//     which works on Windows too.
//   - Wine's Schannel neither asks for a stapled OCSP response nor puts one
//     on the remote certificate (CERT_OCSP_RESPONSE_PROP_ID, which State
//     reports as OCSPResponse and trust gets as Options.StapledOCSP): the
//     conformance case stapled-ocsp is skipped; revocation is still checked
//     through the CRL and OCSP URLs when asked.
//   - Wine's PFXImportCertStore ignores PKCS12_NO_PERSIST_KEY: it imports
//     the key into the user's default key container, which LoadPFX deletes
//     under Wine after reading the key out; the key of such an import is
//     found only with CRYPT_ACQUIRE_CACHE_FLAG, and its PP_KEYSPEC reads 3.
//   - Not Schannel, but met by the tests: Go 1.26's os.RemoveAll fails on a
//     non-empty directory under Wine 8.0 ("unlinkat ...: Invalid function";
//     its FILE_DISPOSITION_INFORMATION_EX is missing), so the Windows tests
//     remove their directories file by file instead of with t.TempDir.
package schannel
