package schannel

import (
	"strings"
	"testing"
)

func TestCodes(t *testing.T) {
	cases := []struct {
		code uint32
		name string
		in   string
	}{
		{0x80090326, "SEC_E_ILLEGAL_MESSAGE", "unexpected or badly formatted"},
		{0x80090331, "SEC_E_ALGORITHM_MISMATCH", "common algorithm"},
		{0x80090318, "SEC_E_INCOMPLETE_MESSAGE", "incomplete"},
		{0x12345678, "", "unknown Windows status"},
	}
	for _, c := range cases {
		if got := CodeName(c.code); got != c.name {
			t.Errorf("CodeName(0x%08X) = %q, want %q", c.code, got, c.name)
		}
		if got := CodeMeaning(c.code); !strings.Contains(got, c.in) {
			t.Errorf("CodeMeaning(0x%08X) = %q, want it to contain %q", c.code, got, c.in)
		}
		he := statusError("InitializeSecurityContext", c.code)
		if he.Code != c.code || he.Provider != "schannel" || !strings.Contains(he.Error(), c.in) {
			t.Errorf("statusError(0x%08X) = %+v", c.code, he)
		}
	}
	e := &StatusError{Op: "DecryptMessage", Code: 0x8009030F}
	if !strings.Contains(e.Error(), "SEC_E_MESSAGE_ALTERED") || !strings.Contains(e.Error(), "DecryptMessage") {
		t.Errorf("StatusError = %q", e)
	}
}
