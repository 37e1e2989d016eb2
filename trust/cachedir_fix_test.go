package trust

import (
	"strings"
	"testing"
)

// TestCacheDirErrorFixFitsPlatform: the fix for a revocation cache
// directory other users can write names chmod only where mode bits say who
// may write (Unix); on Windows, where the DACL does (winDirProblem), it
// says what the DACL must not allow and how to see it (icacls), not a
// command Windows does not have.
func TestCacheDirErrorFixFitsPlatform(t *testing.T) {
	fix := (&CacheDirError{Dir: "DIR", Unsafe: true}).Fix()
	if got := strings.Contains(fix, "chmod"); got != groupOtherBitsMeaningful {
		t.Errorf("fix %q names chmod: %v, want %v", fix, got, groupOtherBitsMeaningful)
	}
	if !groupOtherBitsMeaningful && !strings.Contains(fix, "icacls DIR") {
		t.Errorf("fix %q does not say how to see who may write DIR", fix)
	}
	if !strings.Contains(fix, RevocationCacheEnv) {
		t.Errorf("fix %q does not name %s", fix, RevocationCacheEnv)
	}
}
