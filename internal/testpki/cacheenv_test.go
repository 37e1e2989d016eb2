package testpki_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/trust"
)

// TestNoUserRevocationCache: a test binary that imports testpki never
// writes revocation answers into the user's cache: the default Checker's
// directory is not under os.UserCacheDir().
func TestNoUserRevocationCache(t *testing.T) {
	user, err := os.UserCacheDir()
	if err != nil {
		t.Skip("no user cache directory here")
	}
	if dir, err := trust.DefaultRevocationCacheDir(); err == nil && strings.HasPrefix(dir, filepath.Clean(user)+string(filepath.Separator)) {
		t.Errorf("the tests' default revocation cache is %s, in the user's cache", dir)
	}
}
