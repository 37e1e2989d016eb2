package regfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	errCheck := errors.New("check refused it")
	tests := []struct {
		name     string
		path     string
		check    Check
		wantKind string // "" for a regular file
		wantErr  error
	}{
		{name: "regular file", path: file},
		{name: "directory", path: dir, wantKind: "a directory"},
		{name: "check sees the open file", path: file, check: func(f *os.File, fi fs.FileInfo) error {
			if fi.Size() != 6 {
				return errors.New("wrong FileInfo")
			}
			return nil
		}},
		{name: "check fails", path: file, check: func(*os.File, fs.FileInfo) error { return errCheck }, wantErr: errCheck},
		{name: "missing", path: filepath.Join(dir, "missing"), wantErr: fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, fi, err := Open(tt.path, tt.check)
			if tt.wantKind != "" {
				var nr *NotRegularError
				if !errors.As(err, &nr) || Kind(nr.Mode) != tt.wantKind || nr.Path != tt.path {
					t.Fatalf("Open = %v, want a *NotRegularError for %s", err, tt.wantKind)
				}
				if want := tt.path + " is " + tt.wantKind + ", not a regular file"; err.Error() != want {
					t.Errorf("error text %q, want %q", err, want)
				}
				return
			}
			if tt.wantErr != nil {
				var pe *fs.PathError
				if !errors.Is(err, tt.wantErr) || !errors.As(err, &pe) || pe.Path != tt.path || f != nil {
					t.Fatalf("Open = %v, %v; want an *fs.PathError wrapping %v", f, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if !fi.Mode().IsRegular() {
				t.Errorf("FileInfo mode %v", fi.Mode())
			}
			b, err := io.ReadAll(f)
			if err != nil || string(b) != "hello\n" {
				t.Errorf("read %q, %v", b, err)
			}
		})
	}
}
