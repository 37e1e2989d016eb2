package smtp

import "strings"

// wirePath returns addr as it goes between the angle brackets of MAIL
// FROM and RCPT TO. A local part that is not a Dot-string (an address
// such as `"john smith"@example.com`, which net/mail hands over without
// its quotes as "john smith@example.com") is written as a Quoted-string,
// as RFC 5321 section 4.1.2 requires (Local-part = Dot-string /
// Quoted-string); otherwise the server sees a different or malformed
// address. An address already quoted, or without '@' (RCPT
// TO:<Postmaster>), is left as it is.
func wirePath(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return addr
	}
	local := addr[:at]
	if isDotString(local) || (len(local) >= 2 && local[0] == '"' && local[len(local)-1] == '"') {
		return addr
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(local); i++ {
		if c := local[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(local[i])
	}
	b.WriteByte('"')
	return b.String() + addr[at:]
}

// isDotString reports whether s is a Dot-string (RFC 5321 section 4.1.2):
// atoms of atext (RFC 5322 section 3.2.3, with UTF-8 as RFC 6531 allows)
// joined by single dots.
func isDotString(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80, c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
