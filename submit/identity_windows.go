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

// ApplyIdentity applies the client identity of a that only Windows offers:
// a certificate from a Windows certificate store (Schannel uses the key in
// place: it may be non-exportable or on a smart card; the provider
// returned carries it) or a PFX file decoded by Windows (for either
// provider: cfg.Certificates). The PFX password is read from its
// SecretRef now. A certificate that cannot be found or opened is a
// *schannel.CertError.
func (c *Connector) ApplyIdentity(ctx context.Context, a *Account, p secchan.Provider, cfg *secchan.Config) (secchan.Provider, error) {
	id := a.Client
	bad := func(msg, fix string) error { return &Error{Field: "client_cert", Msg: msg, Fix: fix} }
	store := id.Store != "" || id.Thumbprint != "" || id.Subject != ""
	if id.PFXFile != "" {
		if store || len(cfg.Certificates) > 0 {
			return nil, bad("the account names a PFX file and another client certificate", "give the client certificate once")
		}
		pw := ""
		if !id.PFXPassword.IsZero() {
			var err error
			if pw, err = c.secret(ctx, a, id.PFXPassword, SecretPFXPassword); err != nil {
				return nil, err
			}
		}
		data, err := readBounded(id.PFXFile, maxPEMFile)
		if err != nil {
			return nil, &Error{Field: "client_cert", Msg: fmt.Sprintf("cannot read the PFX file: %v", err), Err: err,
				Fix: "check the path of the PFX file"}
		}
		cert, err := schannel.LoadPFX(data, pw)
		clear(data)
		if err != nil {
			var ce *schannel.CertError
			if errors.As(err, &ce) {
				ce.Where = "PFX file " + id.PFXFile
			}
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if !store {
		return p, nil
	}
	switch {
	case id.Thumbprint == "" && id.Subject == "":
		return nil, bad("the certificate store needs a thumbprint or a subject to pick the certificate", "give the certificate's thumbprint")
	case id.Thumbprint != "" && id.Subject != "":
		return nil, bad("both a thumbprint and a subject pick the client certificate", "give one of them")
	case len(cfg.Certificates) > 0:
		return nil, bad("the account names a certificate store and another client certificate", "give the client certificate once")
	}
	sp, ok := p.(schannel.Provider)
	if !ok {
		return nil, bad(fmt.Sprintf("a certificate store works with the schannel provider only (not %q)", p.Name()),
			"use the schannel provider, or export the certificate and key to PEM files")
	}
	sc := &schannel.StoreCert{Store: id.Store, Thumbprint: id.Thumbprint, Subject: id.Subject}
	if loc, name, ok := strings.Cut(id.Store, `\`); ok {
		switch strings.ToLower(loc) {
		case "localmachine":
			sc.LocalMachine = true
		case "currentuser":
		default:
			return nil, bad(fmt.Sprintf("certificate store %q: the location must be CurrentUser or LocalMachine", id.Store),
				`give a store name such as MY, or CurrentUser\MY or LocalMachine\MY`)
		}
		if name == "" {
			return nil, bad(fmt.Sprintf("certificate store %q names no store", id.Store), `give e.g. LocalMachine\MY`)
		}
		sc.Store = name
	}
	sp.ClientCert = sc // keeps the provider's shared credentials (session resumption)
	return sp, nil
}
