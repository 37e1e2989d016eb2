package gotls_test

import (
	"testing"

	"github.com/tlsmail/tlsmail/secchan/gotls"
	"github.com/tlsmail/tlsmail/secchan/secchantest"
)

// TestConformance runs the provider conformance suite against crypto/tls.
func TestConformance(t *testing.T) {
	secchantest.Run(t, gotls.Provider{})
}
