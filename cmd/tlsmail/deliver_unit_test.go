package main

import (
	"strings"
	"testing"
)

// scanBytes (messages in memory) and scanContent (streamed) must agree on
// where the header ends and which part holds 8-bit bytes.
func TestScanBytesMatchesScanContent(t *testing.T) {
	tests := []struct {
		name           string
		msg            string
		header8, body8 bool
	}{
		{"ascii", "Subject: hi\r\n\r\nbody\r\n", false, false},
		{"8-bit body", "Subject: hi\r\n\r\nbod\xc3\xa9\r\n", false, true},
		{"8-bit header", "Subject: h\xc3\xa9\r\n\r\nbody\r\n", true, false},
		{"both", "Subject: h\xc3\xa9\r\n\r\nbod\xc3\xa9\r\n", true, true},
		{"bare LF", "Subject: hi\n\nbod\xc3\xa9\n", false, true},
		{"bare LF header", "Subject: h\xc3\xa9\nX: y\n\nbody\n", true, false},
		{"no body", "Subject: h\xc3\xa9\r\n", true, false},
		{"no header", "\r\nbod\xc3\xa9\r\n", false, true},
		{"no header, bare LF", "\nbod\xc3\xa9", false, true},
		{"empty", "", false, false},
		{"second empty line is body", "A: b\r\n\r\n\r\n\xff", false, true},
		{"CRLF then LF LF", "A: b\r\nC: d\n\n\xff", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, b := scanBytes([]byte(tt.msg))
			if h != tt.header8 || b != tt.body8 {
				t.Errorf("scanBytes = %v, %v; want %v, %v", h, b, tt.header8, tt.body8)
			}
			h, b, err := scanContent(strings.NewReader(tt.msg))
			if err != nil || h != tt.header8 || b != tt.body8 {
				t.Errorf("scanContent = %v, %v, %v; want %v, %v", h, b, err, tt.header8, tt.body8)
			}
		})
	}
}
