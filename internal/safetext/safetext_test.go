package safetext

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

func TestQuote(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain", "250 mx.example.org ESMTP", "250 mx.example.org ESMTP"},
		{"tab kept", "a\tb", "a\tb"},
		{"unicode kept", "CN=Müller — 東京 ✓", "CN=Müller — 東京 ✓"},
		{"backslash kept", `C:\x1b`, `C:\x1b`},
		{"escape sequence", "evil\x1b[2J", `evil\x1b[2J`},
		{"forged line", "evil\r\n    fix: trust me", `evil\x0d\x0a    fix: trust me`},
		{"NUL", "a\x00b", `a\x00b`},
		{"BEL and BS", "\a\b", `\x07\x08`},
		{"unit separator", "\x1f", `\x1f`},
		{"DEL", "a\x7fb", `a\x7fb`},
		{"space is fine", " ", " "},
		{"tilde is fine", "~", "~"},
		{"C1 CSI", "a\u009b2J", `a\x9b2J`},
		{"C1 NEL", "a\u0085b", `a\x85b`},
		{"C1 first", "\u0080", `\x80`},
		{"NBSP is not C1", "a\u00a0b", "a\u00a0b"},
		{"invalid byte", "a\xffb", `a\xffb`},
		{"raw C1 byte", "a\x9bb", `a\x9bb`},
		{"truncated sequence", "a\xe6\x9d", `a\xe6\x9d`},
		{"overlong slash", "\xc0\xaf", `\xc0\xaf`},
		{"surrogate", "\xed\xa0\x80", `\xed\xa0\x80`},
		{"replacement char", "a\ufffdb", `a\ufffdb`},
		{"mixed", "ok \x1b]0;title\a Ü\xfe", `ok \x1b]0;title\x07 Ü\xfe`},
		{"right-to-left override", "CN=evil\u202egro.elpmaxe", `CN=evil\u202egro.elpmaxe`},
		{"bidi isolates", "a\u2066b\u2067c\u2068d\u2069", `a\u2066b\u2067c\u2068d\u2069`},
		{"bidi marks and embeddings", "\u200e\u200f\u061c\u202a\u202b\u202c\u202d", `\u200e\u200f\u061c\u202a\u202b\u202c\u202d`},
		{"zero width", "pay\u200bpal\u200c\u200d\u2060\ufeff", `pay\u200bpal\u200c\u200d\u2060\ufeff`},
		{"line and paragraph separators", "250 OK\u2028S: 250 fake\u2029", `250 OK\u2028S: 250 fake\u2029`},
		{"tag characters", "a\U000e0041\U000e007f", `a\U000e0041\U000e007f`},
		{"arabic and hebrew text kept", "שלום مرحبا", "שלום مرحبا"},
		{"mongolian vowel separator", "a\u180eb", `a\u180eb`},
		{"variation selectors", "pay\ufe0fpal\ufe00\U000e0100", `pay\ufe0fpal\ufe00\U000e0100`},
		{"mongolian free variation selectors", "a\u180bb\u180f", `a\u180bb\u180f`},
		{"hangul fillers", "CN=\u3164\u115f\u1160\uffa0", `CN=\u3164\u115f\u1160\uffa0`},
		{"combining grapheme joiner", "pay\u034fpal", `pay\u034fpal`},
		{"khmer inherent vowels", "a\u17b4\u17b5b", `a\u17b4\u17b5b`},
		{"unassigned default ignorable", "a\u2065b", `a\u2065b`},
		{"accents and korean text kept", "Cafe\u0301 한국어 e\u0308", "Cafe\u0301 한국어 e\u0308"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Quote(tt.in)
			if got != tt.want {
				t.Errorf("Quote(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if clean := IsClean(tt.in); clean != (got == tt.in) {
				t.Errorf("IsClean(%q) = %v, but Quote changed it: %v", tt.in, clean, got != tt.in)
			}
		})
	}
}

func TestLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"crlf", "250 OK\r\n", "250 OK"},
		{"lf", "250 OK\n", "250 OK"},
		{"none", "250 OK", "250 OK"},
		{"only ending", "\r\n", ""},
		{"several endings", "250 OK\r\n\r\n", "250 OK"},
		{"inner cr", "250 OK\rS: 250 forged\r\n", `250 OK\x0dS: 250 forged`},
		{"escape", "250-mx \x1b[31mred\r\n", `250-mx \x1b[31mred`},
		{"trailing tab kept", "250 OK\t\r\n", "250 OK\t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Line([]byte(tt.in)); got != tt.want {
				t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"clean", "450 4.2.1 mailbox busy", "450 4.2.1 mailbox busy"},
		{"multi-line reply", "450-first\r\n450 second\r\n", "450-first 450 second"},
		{"runs of spaces and tabs", "  a \t\t b  ", "a b"},
		{"escape kept quoted", "bad \x1b[31m reply", `bad \x1b[31m reply`},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OneLine(tt.in); got != tt.want {
				t.Errorf("OneLine(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// A clean string comes back as itself: same bytes, same backing array.
func TestQuoteCleanIsIdentity(t *testing.T) {
	s := strings.Repeat("CN=mx.example.org, O=Exämple ", 4)
	if got := Quote(s); got != s || unsafeData(got) != unsafeData(s) {
		t.Error("Quote copied a clean string")
	}
	if n := testing.AllocsPerRun(100, func() { _ = Quote(s) }); n != 0 {
		t.Errorf("Quote of a clean string: %v allocations, want 0", n)
	}
}

func unsafeData(s string) *byte { return unsafe.StringData(s) }

// hasUnsafe reports a character no terminal should receive from a peer.
func hasUnsafe(s string) (rune, bool) {
	for _, r := range s {
		if (r < 0x20 && r != '\t') || (r >= 0x7f && r < 0xa0) || r == utf8.RuneError || ignorable(r) {
			return r, true
		}
	}
	return 0, false
}

// ignorable reports a character Unicode says to render invisibly
// (Default_Ignorable_Code_Point, DerivedCoreProperties.txt: Cf, the
// variation selectors and Other_Default_Ignorable_Code_Point) or a line or
// paragraph separator.
func ignorable(r rune) bool {
	return r == 0x2028 || r == 0x2029 || unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "plain", "evil\x1b[2J\r\n    fix: trust me", "\u009b\xff\ufffd\t", "\xed\xa0\x80", "Ü東\x7f", "\u3164\ufe0f\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := Quote(s)
		if !utf8.ValidString(q) {
			t.Fatalf("Quote(%q) = %q: not valid UTF-8", s, q)
		}
		if r, bad := hasUnsafe(q); bad {
			t.Fatalf("Quote(%q) = %q: contains %U", s, q, r)
		}
		if IsClean(s) != (q == s) {
			t.Fatalf("IsClean(%q) disagrees with Quote", s)
		}
		if q2 := Quote(q); q2 != q {
			t.Fatalf("Quote is not idempotent: %q -> %q -> %q", s, q, q2)
		}
		if l := Line([]byte(s)); strings.ContainsAny(l, "\r\n") {
			t.Fatalf("Line(%q) = %q", s, l)
		}
	})
}

func BenchmarkQuote(b *testing.B) {
	cases := []struct{ name, s string }{
		{"clean-ascii", "250-mx.example.org Hello client.example.org [192.0.2.1], pleased to meet you"},
		{"clean-unicode", "CN=Exämple Zertifizierungsstelle 東京, O=Exämple GmbH, C=DE"},
		{"hostile", "evil\x1b[2J\r\n    fix: trust me \x9b\xff\ufffd"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.s)))
			for b.Loop() {
				_ = Quote(c.s)
			}
		})
	}
}
