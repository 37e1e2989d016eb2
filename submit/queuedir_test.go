package submit

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestDefaultQueueDir: an absolute XDG_STATE_HOME, else HOME's
// ~/.local/state; without HOME, an *Error naming the queue directory.
func TestDefaultQueueDir(t *testing.T) {
	if filepath.Separator == '\\' {
		t.Skip("the default differs on Windows (LOCALAPPDATA)")
	}
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"HOME": "/h", "XDG_STATE_HOME": "/s"}, "/s/tlsmail/queue"},
		{map[string]string{"HOME": "/h", "XDG_STATE_HOME": "relative"}, "/h/.local/state/tlsmail/queue"},
		{map[string]string{"HOME": "/h"}, "/h/.local/state/tlsmail/queue"},
	}
	for i, tc := range tests {
		got, err := DefaultQueueDir(func(k string) string { return tc.env[k] })
		if err != nil || got != tc.want {
			t.Errorf("case %d: got %q, %v; want %q", i, got, err, tc.want)
		}
	}
	_, err := DefaultQueueDir(func(string) string { return "" })
	var se *Error
	if !errors.As(err, &se) || se.Field != "queue_dir" || se.Fix == "" {
		t.Errorf("no HOME: %v, want an *Error of Field queue_dir with a fix", err)
	}
}
