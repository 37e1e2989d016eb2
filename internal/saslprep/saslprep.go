// Package saslprep implements SASLprep (RFC 4013), the stringprep profile
// (RFC 3454) that SASL mechanisms such as SCRAM (RFC 5802 section 5.1) apply
// to user names and passwords before using them.
//
// The profile is applied as to "query" strings (RFC 3454 section 7): code
// points unassigned in Unicode 3.2 (table A.1) are let through rather than
// refused. That is right for user names (RFC 5802 section 5.1). For
// passwords RFC 5802 section 2.2 asks for "stored" strings, which refuse
// them; this package does not carry table A.1, so such a password (an
// emoji, say) is sent instead of being refused locally. The outcome is the
// same failed login, told by the server rather than by the client: a
// server that follows the RFC could not have stored that password. Everything
// else follows RFC 4013 section 2: the mapping of section 2.1, NFKC
// (section 2.2), the prohibited output of section 2.3 and the
// bidirectional rules of RFC 3454 section 6 (section 2.4).
//
// The tables the package needs are kept as small sorted range lists, built
// at compile time: importing the package costs no work at program start.
// Bidirectional categories come from golang.org/x/text/unicode/bidi, whose
// Unicode version is newer than RFC 3454's 3.2; for characters assigned in
// 3.2 the categories that matter here (R, AL, L) agree except for a few
// characters whose class Unicode later corrected.
package saslprep

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/unicode/norm"
)

// Reason says which rule of RFC 4013 a string broke.
type Reason int

const (
	// InvalidUTF8 is input that is not UTF-8 (RFC 4013 works on Unicode).
	InvalidUTF8 Reason = iota + 1
	// Prohibited is a character of the tables in RFC 4013 section 2.3.
	Prohibited
	// BidiMixed is a string with both right-to-left (RandALCat) and
	// left-to-right (LCat) characters (RFC 3454 section 6, rule 2).
	BidiMixed
	// BidiEnds is a right-to-left string that does not start and end with
	// a right-to-left character (RFC 3454 section 6, rule 3).
	BidiEnds
)

// Error is a string SASLprep refuses. It names the position of the
// offending character, never the string: the string may be a password.
type Error struct {
	Reason Reason
	// Index is the 1-based position, in characters (code points), of the
	// offending character in the input; the start of its combining
	// sequence when normalization merged it with others.
	Index int
	// Rune is the offending character (0 for InvalidUTF8). Error does not
	// print it; a caller may show it when the string is not a secret.
	Rune rune
	// Table is the RFC 3454 table the character is in ("C.2.1", ...),
	// for Prohibited.
	Table string
}

func (e *Error) Error() string {
	switch e.Reason {
	case InvalidUTF8:
		return fmt.Sprintf("character %d is not valid UTF-8", e.Index)
	case Prohibited:
		return fmt.Sprintf("character %d is not allowed (%s, RFC 3454 table %s, prohibited by RFC 4013 section 2.3)",
			e.Index, tableName(e.Table), e.Table)
	case BidiMixed:
		return fmt.Sprintf("character %d is left-to-right in a string that also has right-to-left characters (RFC 3454 section 6)", e.Index)
	case BidiEnds:
		return fmt.Sprintf("character %d must be a right-to-left character: a string with right-to-left characters must start and end with one (RFC 3454 section 6)", e.Index)
	}
	return fmt.Sprintf("character %d is not allowed by SASLprep", e.Index)
}

// tableName describes an RFC 3454 table of prohibited characters.
func tableName(t string) string {
	switch t {
	case "C.1.2":
		return "a non-ASCII space"
	case "C.2.1":
		return "an ASCII control character"
	case "C.2.2":
		return "a non-ASCII control character"
	case "C.3":
		return "a private-use character"
	case "C.4":
		return "a non-character code point"
	case "C.5":
		return "a surrogate code point"
	case "C.6":
		return "a character inappropriate for plain text"
	case "C.7":
		return "a character inappropriate for canonical representation"
	case "C.8":
		return "a character that changes display properties or is deprecated"
	case "C.9":
		return "a tagging character"
	}
	return "a prohibited character"
}

// Prepare applies SASLprep to s for use as a query string (unassigned code
// points allowed) and returns the prepared string.
//
// A string of printable ASCII characters is returned as it is, without
// allocating: SASLprep changes none of them.
func Prepare(s string) (string, error) {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if c < 0x20 || c == 0x7f {
			// ASCII controls are C.2.1; nothing maps or normalizes them.
			return "", &Error{Reason: Prohibited, Index: i + 1, Rune: rune(c), Table: "C.2.1"}
		}
	}
	if ascii {
		return s, nil
	}
	return prepare(s)
}

// prepare is the general path of RFC 4013 section 2.
func prepare(s string) (string, error) {
	// Section 2.1, mapping. origin[j] is the input index (1-based) of the
	// character at byte j of mapped, for errors.
	var mapped strings.Builder
	mapped.Grow(len(s))
	origin := make([]int, 0, len(s))
	index := 0
	for i, r := range s {
		index++
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return "", &Error{Reason: InvalidUTF8, Index: index}
			}
		}
		switch {
		case in(r, tableB1):
			continue // commonly mapped to nothing
		case in(r, tableC12):
			r = ' ' // non-ASCII space to SPACE
		}
		n, _ := mapped.WriteRune(r)
		for range n {
			origin = append(origin, index)
		}
	}

	// Section 2.2, NFKC, one segment at a time so that each output
	// character can be traced to the input character its segment began at.
	type span struct{ end, at int } // output bytes [.., end) came from input index at
	var out strings.Builder
	out.Grow(mapped.Len())
	var spans []span
	var it norm.Iter
	it.InitString(norm.NFKC, mapped.String())
	for !it.Done() {
		at := 1
		if p := it.Pos(); p < len(origin) {
			at = origin[p]
		}
		out.Write(it.Next())
		spans = append(spans, span{out.Len(), at})
	}
	res := out.String()
	source := func(byteOff int) int {
		for _, sp := range spans {
			if byteOff < sp.end {
				return sp.at
			}
		}
		return index
	}

	// Section 2.3, prohibited output; section 2.4, bidirectional rules.
	hasRandAL, firstL := false, -1
	for i, r := range res {
		if t := prohibited(r); t != "" {
			return "", &Error{Reason: Prohibited, Index: source(i), Rune: r, Table: t}
		}
		switch bidiCat(r) {
		case randAL:
			hasRandAL = true
		case lCat:
			if firstL < 0 {
				firstL = i
			}
		}
	}
	if hasRandAL {
		if firstL >= 0 {
			r, _ := utf8.DecodeRuneInString(res[firstL:])
			return "", &Error{Reason: BidiMixed, Index: source(firstL), Rune: r}
		}
		if first, _ := utf8.DecodeRuneInString(res); bidiCat(first) != randAL {
			return "", &Error{Reason: BidiEnds, Index: source(0), Rune: first}
		}
		if last, size := utf8.DecodeLastRuneInString(res); bidiCat(last) != randAL {
			return "", &Error{Reason: BidiEnds, Index: source(len(res) - size), Rune: last}
		}
	}
	return res, nil
}

type category int

const (
	other category = iota
	randAL
	lCat
)

// bidiCat is RandALCat (RFC 3454 table D.1: bidirectional class R or AL)
// or LCat (table D.2: class L).
func bidiCat(r rune) category {
	p, _ := bidi.LookupRune(r)
	switch p.Class() {
	case bidi.R, bidi.AL:
		return randAL
	case bidi.L:
		return lCat
	}
	return other
}

// prohibited returns the RFC 3454 table of r if RFC 4013 section 2.3
// prohibits it, or "".
func prohibited(r rune) string {
	switch {
	case r < 0x80:
		if r < 0x20 || r == 0x7f {
			return "C.2.1"
		}
		return ""
	case in(r, tableC12):
		return "C.1.2"
	case in(r, tableC22):
		return "C.2.2"
	case in(r, tableC3):
		return "C.3"
	case in(r, tableC4):
		return "C.4"
	case r >= 0xd800 && r <= 0xdfff:
		return "C.5"
	case in(r, tableC6):
		return "C.6"
	case in(r, tableC7):
		return "C.7"
	case in(r, tableC8):
		return "C.8"
	case in(r, tableC9):
		return "C.9"
	}
	return ""
}

// runeRange is an inclusive range of code points.
type runeRange struct{ lo, hi rune }

// in reports whether r is in the sorted ranges t.
func in(r rune, t []runeRange) bool {
	lo, hi := 0, len(t)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch {
		case r < t[m].lo:
			hi = m
		case r > t[m].hi:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

// The tables of RFC 3454 appendices B and C that SASLprep uses, as sorted
// inclusive ranges. Arrays of constants: no initialization at start-up.
var (
	// B.1, commonly mapped to nothing.
	tableB1 = []runeRange{
		{0x00ad, 0x00ad}, {0x034f, 0x034f}, {0x1806, 0x1806}, {0x180b, 0x180d},
		{0x200b, 0x200d}, {0x2060, 0x2060}, {0xfe00, 0xfe0f}, {0xfeff, 0xfeff},
	}
	// C.1.2, non-ASCII space characters. U+200B is in B.1 as well; the
	// mapping to nothing is applied first, as the table order of RFC 4013
	// section 2.1 lists it.
	tableC12 = []runeRange{
		{0x00a0, 0x00a0}, {0x1680, 0x1680}, {0x2000, 0x200b}, {0x202f, 0x202f},
		{0x205f, 0x205f}, {0x3000, 0x3000},
	}
	// C.2.2, non-ASCII control characters.
	tableC22 = []runeRange{
		{0x0080, 0x009f}, {0x06dd, 0x06dd}, {0x070f, 0x070f}, {0x180e, 0x180e},
		{0x200c, 0x200d}, {0x2028, 0x2029}, {0x2060, 0x2063}, {0x206a, 0x206f},
		{0xfeff, 0xfeff}, {0xfff9, 0xfffc}, {0x1d173, 0x1d17a},
	}
	// C.3, private use.
	tableC3 = []runeRange{{0xe000, 0xf8ff}, {0xf0000, 0xffffd}, {0x100000, 0x10fffd}}
	// C.4, non-character code points.
	tableC4 = []runeRange{
		{0xfdd0, 0xfdef}, {0xfffe, 0xffff}, {0x1fffe, 0x1ffff}, {0x2fffe, 0x2ffff},
		{0x3fffe, 0x3ffff}, {0x4fffe, 0x4ffff}, {0x5fffe, 0x5ffff}, {0x6fffe, 0x6ffff},
		{0x7fffe, 0x7ffff}, {0x8fffe, 0x8ffff}, {0x9fffe, 0x9ffff}, {0xafffe, 0xaffff},
		{0xbfffe, 0xbffff}, {0xcfffe, 0xcffff}, {0xdfffe, 0xdffff}, {0xefffe, 0xeffff},
		{0xffffe, 0xfffff}, {0x10fffe, 0x10ffff},
	}
	// C.6, inappropriate for plain text.
	tableC6 = []runeRange{{0xfff9, 0xfffd}}
	// C.7, inappropriate for canonical representation.
	tableC7 = []runeRange{{0x2ff0, 0x2ffb}}
	// C.8, change display properties or deprecated.
	tableC8 = []runeRange{
		{0x0340, 0x0341}, {0x200e, 0x200f}, {0x202a, 0x202e}, {0x206a, 0x206f},
	}
	// C.9, tagging characters.
	tableC9 = []runeRange{{0xe0001, 0xe0001}, {0xe0020, 0xe007f}}
)
