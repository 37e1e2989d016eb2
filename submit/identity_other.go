//go:build !windows

package submit

import (
	"context"

	"github.com/tlsmail/tlsmail/secchan"
)

// applyIdentity applies the client identity only Windows offers (a
// certificate store entry, a PFX file decoded by Windows): here an account
// that names one is refused rather than sent without its certificate.
func (c *Connector) applyIdentity(a *Account, p secchan.Provider) (secchan.Provider, error) {
	id := a.Client
	if id.Store != "" || id.Thumbprint != "" || id.Subject != "" || id.PFXFile != "" {
		return nil, &Error{Field: "client_cert", Msg: "the client certificate is in a Windows certificate store or PFX file",
			Fix: "deliver on Windows, or give the certificate and key as PEM files"}
	}
	return p, nil
}

// loadPFX decodes a PFX file on Windows only; applyIdentity has refused an
// account that names one.
func (c *Connector) loadPFX(context.Context, *Account, *secchan.Config) error { return nil }
