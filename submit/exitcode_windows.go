//go:build windows

package submit

import (
	"errors"

	"github.com/tlsmail/tlsmail/secchan/schannel"
)

// platformConfigError reports a client certificate Schannel cannot find or
// open (a *schannel.CertError: not in the store, a bad thumbprint, a
// private key this user may not read, an unreadable PFX file): the user's
// configuration, not a failure of the server, although it surfaces during
// the TLS handshake.
func platformConfigError(err error) bool {
	var ce *schannel.CertError
	return errors.As(err, &ce)
}

// platformConfigText is platformConfigError's message without its fix.
func platformConfigText(err error) (string, bool) {
	var ce *schannel.CertError
	if !errors.As(err, &ce) {
		return "", false
	}
	bare := *ce
	bare.Fix = ""
	return bare.Error(), true
}
