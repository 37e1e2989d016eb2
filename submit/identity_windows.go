//go:build windows

package submit

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/schannel"
)

// applyIdentity applies a certificate from a Windows certificate store,
// which only Windows offers: Schannel uses the key in place (it may be
// non-exportable or on a smart card); the provider returned carries it.
// The Account has passed Check (one client certificate, the store entry
// picked by thumbprint or subject, the schannel provider). A certificate
// that cannot be found or opened is a *schannel.CertError, at the
// handshake. No secret is read here: a PFX file is decoded by loadPFX,
// with the other secrets.
func (c *Connector) applyIdentity(a *Account, p secchan.Provider) (secchan.Provider, error) {
	id := a.Client
	if id.Store == "" && id.Thumbprint == "" && id.Subject == "" {
		return p, nil
	}
	sp, ok := p.(schannel.Provider)
	if !ok {
		return nil, &Error{Field: "provider", Msg: fmt.Sprintf("a certificate store works with the schannel provider only (not %q)", p.Name()),
			Fix: "use the schannel provider, or export the certificate and key to PEM files"}
	}
	sc := &schannel.StoreCert{Store: id.Store, Thumbprint: id.Thumbprint, Subject: id.Subject}
	if loc, name, ok := strings.Cut(id.Store, `\`); ok {
		sc.LocalMachine = strings.EqualFold(loc, "localmachine")
		sc.Store = name
	}
	sp.ClientCert = sc // keeps the provider's shared credentials (session resumption)
	return sp, nil
}

// loadPFX reads the PFX password from its SecretRef (none: no password)
// and has Windows decode the PFX file into cfg.Certificates, for either
// provider. A file Windows cannot decode is a *schannel.CertError.
func (c *Connector) loadPFX(ctx context.Context, a *Account, cfg *secchan.Config) error {
	id := a.Client
	if id.PFXFile == "" {
		return nil
	}
	pw := ""
	if !id.PFXPassword.IsZero() {
		var err error
		if pw, err = c.secret(ctx, a, id.PFXPassword, SecretPFXPassword); err != nil {
			return err
		}
	}
	data, err := readBounded(id.PFXFile, maxPEMFile)
	if err != nil {
		return &Error{Field: "client_cert", Msg: fmt.Sprintf("cannot read the PFX file: %v", err), Err: err,
			Fix: "check the path of the PFX file"}
	}
	cert, err := schannel.LoadPFX(data, pw)
	clear(data)
	if err != nil {
		var ce *schannel.CertError
		if errors.As(err, &ce) {
			ce.Where = "PFX file " + id.PFXFile
		}
		return err
	}
	cfg.Certificates = []tls.Certificate{cert}
	return nil
}
