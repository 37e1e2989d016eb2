package probe

import (
	"testing"

	"github.com/tlsmail/tlsmail/internal/testnoflag"
)

// TestFixTextsNameNoFlags: no text of package probe names a command-line
// flag. A fix says which setting to change; the CLI adds its flag
// (cmd/tlsmail/flaghints.go).
func TestFixTextsNameNoFlags(t *testing.T) {
	testnoflag.Check(t, ".", nil)
}
