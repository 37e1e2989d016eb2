// Package safetext is the one rule for printing text a peer controls: a
// server's banner and replies, the names in its certificate, the error
// texts that quote them. Such text reaches terminals and logs, where a
// control character is not text but a command: ESC starts a terminal
// escape sequence (ECMA-48, section 5.4; C1 CSI 0x9b does the same on
// some terminals), CR and LF start a line the reader takes for tlsmail's
// own ("fix: trust me", "S: 250 OK"). Invisible Unicode is as bad: a
// bidirectional override (U+202E) or isolate (U+2066) reorders what
// follows it on the screen ("Trojan Source", CVE-2021-42574), so a name
// can show as another, and zero-width characters (U+200B) make two
// different names look the same.
//
// Quote writes every such character as a visible escape and leaves all
// other text, including TAB and any printable Unicode, as it is. The result
// is for people, not for parsing back: a backslash is not escaped, so a
// peer that sends the four characters `\x1b` shows the same as one that
// sends ESC, which is harmless.
//
// Output encoded by encoding/json needs no Quote: JSON strings escape
// control characters themselves (RFC 8259, section 7).
package safetext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// Quote returns s with the characters that are unsafe on a terminal made
// visible:
//
//   - C0 controls (U+0000 to U+001F) except TAB, and DEL (U+007F), as \xNN;
//   - C1 controls (U+0080 to U+009F, ECMA-48 section 5.3), as \xNN;
//   - each byte that is not part of valid UTF-8 (RFC 3629), as \xNN;
//   - U+FFFD, the replacement character, as \ufffd, so that a real one
//     is told apart from a decoding failure upstream;
//   - invisible format characters (Unicode general category Cf: the
//     bidirectional marks, embeddings, overrides and isolates U+200E,
//     U+200F, U+202A to U+202E, U+2066 to U+2069, U+061C; zero-width
//     U+200B to U+200D, U+2060, U+FEFF; soft hyphen; tag characters) and
//     the line and paragraph separators U+2028 and U+2029, and the other
//     characters Unicode says to draw as nothing (variation selectors,
//     Hangul fillers, the combining grapheme joiner), as \uNNNN (or
//     \UNNNNNNNN above U+FFFF).
//
// When s holds none of them, Quote returns s itself and does not allocate.
func Quote(s string) string {
	i := firstUnsafe(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if unsafeASCII(c) {
				writeHex(&b, c)
			} else {
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			writeHex(&b, c)
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		case r < 0xa0: // C1
			writeHex(&b, byte(r))
		case invisible(r):
			writeRune(&b, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Line returns a protocol line for display: the line ending (any trailing
// CR and LF bytes) removed and the rest quoted as by Quote. A CR or LF
// inside the line is quoted, not removed.
func Line(b []byte) string {
	n := len(b)
	for n > 0 && (b[n-1] == '\n' || b[n-1] == '\r') {
		n--
	}
	return Quote(string(b[:n]))
}

// OneLine returns s, often a server's reply or an error quoting one, for
// one line of a listing or a log: runs of white space, line breaks
// included, become one space, and the rest is quoted as by Quote.
func OneLine(s string) string { return Quote(strings.Join(strings.Fields(s), " ")) }

// IsClean reports whether Quote would return s unchanged.
func IsClean(s string) bool { return firstUnsafe(s) < 0 }

// firstUnsafe returns the index of the first byte Quote must rewrite, or
// -1 when there is none.
func firstUnsafe(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if unsafeASCII(c) {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || r < 0xa0 || invisible(r) {
			return i
		}
		i += size
	}
	return -1
}

// unsafeASCII reports whether c is a C0 control other than TAB, or DEL.
func unsafeASCII(c byte) bool { return (c < 0x20 && c != '\t') || c == 0x7f }

// invisible reports whether r is not seen itself but changes how the text
// around it is shown, or could hide in it: a line or paragraph separator,
// or a default-ignorable code point (Unicode's Default_Ignorable_Code_Point
// property, which renderers draw as nothing: UAX #44 and
// DerivedCoreProperties.txt): a format character (category Cf, which holds
// every bidirectional control and the zero-width characters), a variation
// selector (U+FE00 to U+FE0F, U+180B to U+180F, U+E0100 to U+E01EF), or one
// of the others (the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, the
// combining grapheme joiner U+034F, U+17B4 and U+17B5, and the unassigned
// code points reserved as ignorable, such as U+2065).
func invisible(r rune) bool {
	return r == 0x2028 || r == 0x2029 ||
		unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// writeRune writes r as \uNNNN, or \UNNNNNNNN above U+FFFF.
func writeRune(b *strings.Builder, r rune) {
	digits := 4
	if r > 0xffff {
		b.WriteString(`\U`)
		digits = 8
	} else {
		b.WriteString(`\u`)
	}
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b.WriteByte(hex[(r>>shift)&0xf])
	}
}

func writeHex(b *strings.Builder, c byte) {
	b.WriteString(`\x`)
	b.WriteByte(hex[c>>4])
	b.WriteByte(hex[c&0xf])
}
