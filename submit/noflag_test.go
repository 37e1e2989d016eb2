package submit

import (
	"testing"

	"github.com/tlsmail/tlsmail/internal/testnoflag"
)

// TestFixTextsNameNoFlags: no text of package submit (and the packages under
// it) names a command-line flag. A fix says which setting to change; the
// CLI adds its flag (cmd/tlsmail/flaghints.go).
func TestFixTextsNameNoFlags(t *testing.T) {
	testnoflag.Check(t, ".", map[string]string{
		"certutil -user -store": "Windows' certutil command that lists a store (another program's flags)",
	})
}
