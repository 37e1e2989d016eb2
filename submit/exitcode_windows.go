//go:build windows

package submit

import (
	"errors"

	"github.com/tlsmail/tlsmail/secchan/schannel"
)

// platformConfigText is the message, without its fix, of a client
// certificate Schannel cannot find or open (ok: err is a
// *schannel.CertError: not in the store, a bad thumbprint, a private key
// this user may not read, an unreadable PFX file): the user's
// configuration, not a failure of the server, although it surfaces during
// the TLS handshake.
func platformConfigText(err error) (msg string, ok bool) {
	var ce *schannel.CertError
	if !errors.As(err, &ce) {
		return "", false
	}
	bare := *ce
	bare.Fix = ""
	return bare.Error(), true
}
