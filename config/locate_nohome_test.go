package config

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// TestLocateNoHome: with no home directory and no XDG_CONFIG_HOME (a
// service started with an empty environment), no place is left to look:
// the error says why (HOME is not set) and what to do, rather than
// "tried " with an empty list and "create one of them".
func TestLocateNoHome(t *testing.T) {
	_, err := Locate("", func(string) string { return "" }, "")
	var ce *Error
	if !errors.As(err, &ce) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Locate = %v, want a *Error wrapping fs.ErrNotExist", err)
	}
	if strings.Contains(ce.Msg, "tried )") || strings.Contains(ce.Fix, "one of them") || !strings.Contains(ce.Msg, "HOME") {
		t.Errorf("error %q, fix %q: want it to say that HOME is not set, with no empty list", ce.Msg, ce.Fix)
	}
}
