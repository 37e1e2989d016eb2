package message

import (
	"bytes"
	"io"
	"testing"
)

// FuzzPrepare: whatever arrives on sendmail's standard input, Prepare and
// the message it returns fail with an error, never a panic.
func FuzzPrepare(f *testing.F) {
	f.Add([]byte("From: a@example.com\r\nTo: b@example.org, \"C\" <c@example.org>\r\nBcc: d@example.org\r\nSubject: =?utf-8?q?h=C3=A9?=\r\n\r\nbody\r\n"), true)
	f.Add([]byte("Resent-To: x@example.org\nResent-Bcc: y@example.org\nTo: z@example.org\n\n.\n"), true)
	f.Add([]byte("Bcc:\r\n\tfolded@example.org\r\nX: \xff\xfe\r\n\r\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, extract bool) {
		opts := PrepareOptions{From: "sender@example.com", ExtractRecipients: extract}
		if !extract {
			opts.Recipients = []string{"r@example.org"}
		}
		m, err := Prepare(bytes.NewReader(data), opts)
		if err != nil {
			return
		}
		r := m.Reader()
		defer r.Close()
		io.Copy(io.Discard, r)
	})
}
