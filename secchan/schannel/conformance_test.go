//go:build windows

package schannel

import (
	"testing"

	"github.com/tlsmail/tlsmail/secchan/secchantest"
)

// wineSkips lists the conformance cases Wine 8.0 cannot pass, with why.
func wineSkips() map[string]string {
	if !underWine() {
		return nil
	}
	return map[string]string{}
}

func TestConformance(t *testing.T) {
	secchantest.RunOptions(t, Provider{}, secchantest.Options{Skip: wineSkips()})
}
