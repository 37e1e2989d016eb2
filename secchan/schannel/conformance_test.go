//go:build windows

package schannel

import (
	"testing"

	"github.com/tlsmail/tlsmail/secchan/secchantest"
)

// wineSkips lists the conformance cases Wine 8.0 cannot pass, with why
// (none on the native Windows job: see wineExcused).
func wineSkips() map[string]string {
	if !wineExcused() {
		return nil
	}
	return map[string]string{
		"stapled-ocsp": "Wine's Schannel neither asks for OCSP stapling (status_request) nor sets CERT_OCSP_RESPONSE_PROP_ID on the remote certificate",
	}
}

func TestConformance(t *testing.T) {
	secchantest.RunOptions(t, Provider{}, secchantest.Options{Skip: wineSkips()})
}
