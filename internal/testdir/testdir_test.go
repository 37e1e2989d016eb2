package testdir

import (
	"os"
	"path/filepath"
	"testing"
)

// The directory exists, is empty, and is gone, contents and all, after
// the test that asked for it.
func TestNew(t *testing.T) {
	var d string
	t.Run("inner", func(t *testing.T) {
		d = New(t)
		if es, err := os.ReadDir(d); err != nil || len(es) != 0 {
			t.Fatalf("ReadDir(%s) = %v, %v; want an empty directory", d, es, err)
		}
		if err := os.MkdirAll(filepath.Join(d, "a", "b"), 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"x", "a/y", "a/b/z"} {
			if err := os.WriteFile(filepath.Join(d, f), []byte(f), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	})
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Errorf("%s still there after the test: %v", d, err)
	}
}
