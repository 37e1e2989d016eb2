// Package interop holds tlsmail's interoperability tests against real
// third-party SMTP software with TLS stacks other than Go's crypto/tls.
// It has no API: everything is in the _test.go files.
//
//   - Postfix (OpenSSL) as the server: a private instance under a temporary
//     directory with STARTTLS (RFC 3207) and implicit TLS (RFC 8314 section
//     3) listeners. tlsmail's smtp client and the tlsmail CLI send through
//     it; Postfix delivers into a Maildir and relays, verifying the
//     certificate and authenticating with Cyrus SASL, to the embedded
//     server. Once the trace fields Postfix prepends (RFC 5321 section 4.4)
//     are removed, the copy relayed to the embedded server must be
//     byte-exact, CRLF line ends included; the Maildir copy, which Postfix
//     stores with LF line ends, must equal the message with its CRLFs
//     turned into LF (so that copy cannot show a line-end change). Linux
//     only.
//   - socat (OpenSSL) terminating implicit TLS in front of the embedded
//     server's plain port, with tlsmail's client in implicit mode: TLS 1.3,
//     and TLS 1.2 with ECDSA and RSA certificates.
//   - swaks (Perl IO::Socket::SSL, OpenSSL) and msmtp (GnuTLS) as clients
//     of the embedded server, with STARTTLS, implicit TLS, AUTH PLAIN and
//     LOGIN (RFC 4954), and certificate verification against the test CA;
//     verification against an unrelated CA must fail.
//
// Each test skips, saying which Debian package to install, when its program
// is missing; the Postfix tests also need root (the master daemon starts as
// root and drops to the postfix user). The packages are listed in
// scripts/interop/README.md and installed by scripts/install-deps.sh:
//
//	apt-get install -y postfix swaks msmtp socat openssl ca-certificates \
//	    libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl \
//	    libsasl2-modules sasl2-bin
package interop
