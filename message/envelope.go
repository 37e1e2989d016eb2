package message

import (
	"strings"

	"github.com/emersion/go-message/mail"
)

// Envelope is the SMTP envelope of a message (RFC 5321 section 2.3.1).
type Envelope struct {
	// From is the reverse-path for MAIL FROM, a bare address.
	From string
	// To are the forward-paths for RCPT TO: bare addresses, To then Cc
	// then Bcc, each once (domains compared case-insensitively, local
	// parts exactly, RFC 5321 section 2.4).
	To []string
}

// envelope builds an Envelope from parsed address lists.
func envelope(from string, lists ...[]*mail.Address) Envelope {
	e := Envelope{From: from}
	seen := map[string]bool{}
	for _, l := range lists {
		for _, a := range l {
			k := addrKey(a.Address)
			if seen[k] {
				continue
			}
			seen[k] = true
			e.To = append(e.To, a.Address)
		}
	}
	return e
}

// addrKey is the deduplication key: local part as is, domain lower-cased.
func addrKey(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	return addr[:at] + strings.ToLower(addr[at:])
}
