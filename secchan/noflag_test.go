package secchan

import (
	"testing"

	"github.com/tlsmail/tlsmail/internal/testnoflag"
)

// TestFixTextsNameNoFlags: no text of package secchan (and the packages under
// it) names a command-line flag. A fix says which setting to change; the
// CLI adds its flag (cmd/tlsmail/flaghints.go). The arguments of Windows'
// certutil and of openssl are another program's, not tlsmail's.
func TestFixTextsNameNoFlags(t *testing.T) {
	testnoflag.Check(t, ".", map[string]string{
		"certutil -importpfx":   "the certutil command that imports a PKCS#12 file",
		"certutil -user -store": "the certutil command that lists a store",
		"openssl pkcs12 -in":    "the openssl command that splits a PKCS#12 file",
	})
}
