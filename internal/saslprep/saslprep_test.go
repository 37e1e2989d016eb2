package saslprep

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/xdg-go/stringprep"
)

// The examples of RFC 4013 section 3, and a few more for each rule.
func TestPrepare(t *testing.T) {
	tests := []struct {
		name, in, want string
		reason         Reason
		index          int
		table          string
	}{
		{name: "RFC 4013 #1 soft hyphen mapped to nothing", in: "I\u00adX", want: "IX"},
		{name: "RFC 4013 #2 no transformation", in: "user", want: "user"},
		{name: "RFC 4013 #3 case preserved", in: "USER", want: "USER"},
		{name: "RFC 4013 #4 output is NFKC", in: "\u00aa", want: "a"},
		{name: "RFC 4013 #5 output is NFKC", in: "\u2168", want: "IX"},
		{name: "RFC 4013 #6 error: prohibited character", in: "\u0007", reason: Prohibited, index: 1, table: "C.2.1"},
		{name: "RFC 4013 #7 error: bidi check", in: "\u0627\u0031", reason: BidiEnds, index: 2},
		{name: "empty", in: "", want: ""},
		{name: "printable ASCII with space", in: "pass word!~", want: "pass word!~"},
		{name: "ASCII DEL", in: "abc\x7f", reason: Prohibited, index: 4, table: "C.2.1"},
		{name: "NUL after non-ASCII", in: "é\x00", reason: Prohibited, index: 2, table: "C.2.1"},
		{name: "non-ASCII spaces mapped to SPACE", in: "a\u00a0b\u2003c\u3000d", want: "a b c d"},
		{name: "zero width space mapped to nothing (B.1 before C.1.2)", in: "a\u200bb", want: "ab"},
		{name: "U+1806 is in B.1", in: "a\u1806b", want: "ab"},
		{name: "B.1 variation selectors and BOM", in: "\ufeffa\ufe0fb\u180b", want: "ab"},
		{name: "composition", in: "e\u0301", want: "\u00e9"},
		{name: "compatibility ligature", in: "\ufb01x", want: "fix"},
		{name: "fullwidth", in: "\uff30\uff37", want: "PW"},
		{name: "C.2.2 control", in: "a\u0085", reason: Prohibited, index: 2, table: "C.2.2"},
		{name: "C.2.2 line separator", in: "ab\u2028", reason: Prohibited, index: 3, table: "C.2.2"},
		{name: "C.3 private use", in: "é\ue000", reason: Prohibited, index: 2, table: "C.3"},
		{name: "C.3 plane 16 private use", in: "\U00100000", reason: Prohibited, index: 1, table: "C.3"},
		{name: "C.4 non-character", in: "x\ufdd0", reason: Prohibited, index: 2, table: "C.4"},
		{name: "C.4 non-character plane 1", in: "x\U0001fffe", reason: Prohibited, index: 2, table: "C.4"},
		{name: "C.6 replacement character", in: "x\ufffd", reason: Prohibited, index: 2, table: "C.6"},
		{name: "C.7 ideographic description", in: "x\u2ff0", reason: Prohibited, index: 2, table: "C.7"},
		{name: "C.8 left-to-right mark", in: "x\u200e", reason: Prohibited, index: 2, table: "C.8"},
		{name: "C.8 U+0341 normalizes to U+0301 first", in: "e\u0341", want: "\u00e9"},
		{name: "C.9 language tag", in: "x\U000e0001", reason: Prohibited, index: 2, table: "C.9"},
		{name: "index counts characters after mapped-away ones", in: "\u00ad\u00ada\u0001", reason: Prohibited, index: 4, table: "C.2.1"},
		{name: "invalid UTF-8", in: "ab\xff", reason: InvalidUTF8, index: 3},
		{name: "RandAL only", in: "\u05d0\u05d1", want: "\u05d0\u05d1"},
		{name: "RandAL with digits inside", in: "\u0627\u0031\u0628", want: "\u0627\u0031\u0628"},
		{name: "RandAL starting with a digit", in: "\u0031\u0627", reason: BidiEnds, index: 1},
		{name: "RandAL with LCat", in: "\u05d0a\u05d1", reason: BidiMixed, index: 2},
		{name: "unassigned code point allowed (query string)", in: "a\U0001fffa", want: "a\U0001fffa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Prepare(tt.in)
			if tt.reason == 0 {
				if err != nil || got != tt.want {
					t.Fatalf("Prepare(%+q) = %+q, %v; want %+q", tt.in, got, err, tt.want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Prepare(%+q) = %+q, %v; want a *Error", tt.in, got, err)
			}
			if e.Reason != tt.reason || e.Index != tt.index || e.Table != tt.table {
				t.Errorf("Prepare(%+q): error %+v (%v); want reason %d at %d, table %q", tt.in, *e, e, tt.reason, tt.index, tt.table)
			}
			if got != "" {
				t.Errorf("Prepare(%+q) returned %+q with its error", tt.in, got)
			}
			if msg := e.Error(); !strings.Contains(msg, fmt.Sprint("character ", tt.index)) {
				t.Errorf("message %q does not name position %d", msg, tt.index)
			}
		})
	}
}

// An error message never shows the string or the character: it may be a
// password.
func TestErrorHidesInput(t *testing.T) {
	for _, in := range []string{"s3cr\u00e9t\u0007", "s3cr\u00e9t\ue000", "\u05d0s3cr\u00e9t"} {
		_, err := Prepare(in)
		if err == nil {
			t.Fatalf("Prepare(%+q) succeeded", in)
		}
		msg := err.Error()
		for _, leak := range []string{"s3cr", "\u00e9", "\u0007", "\ue000", "\u05d0", "U+", "\\u"} {
			if strings.Contains(msg, leak) {
				t.Errorf("error %q shows %q of the input", msg, leak)
			}
		}
	}
}

// Printable ASCII takes the fast path: the input comes back, no allocation.
func TestASCIIDoesNotAllocate(t *testing.T) {
	in := strings.Repeat("Tr0ub4dor&3 ", 8)
	var out string
	allocs := testing.AllocsPerRun(100, func() { out, _ = Prepare(in) })
	if allocs != 0 || out != in {
		t.Errorf("Prepare(ASCII) allocated %v times, returned %q", allocs, out)
	}
}

// runePool is the varied set the property test draws from: every kind of
// character the profile treats specially, and ordinary ones around them.
var runePool = func() []rune {
	var pool []rune
	add := func(lo, hi rune) {
		for r := lo; r <= hi; r++ {
			pool = append(pool, r)
		}
	}
	add(0x00, 0x7f)       // ASCII, controls included
	add(0x80, 0x24f)      // C1 controls, Latin-1, Latin Extended
	add(0x300, 0x36f)     // combining marks (0340, 0341 in C.8)
	add(0x370, 0x3ff)     // Greek
	add(0x591, 0x5f4)     // Hebrew (R)
	add(0x600, 0x6ff)     // Arabic (AL, AN, 06DD)
	add(0x700, 0x74f)     // Syriac (070F)
	add(0x1680, 0x1680)   // Ogham space
	add(0x1800, 0x180f)   // Mongolian (B.1, C.2.2)
	add(0x1e00, 0x1eff)   // Latin Extended Additional
	add(0x2000, 0x206f)   // spaces, marks, controls
	add(0x2100, 0x218f)   // letterlike, Roman numerals
	add(0x2460, 0x24ff)   // enclosed alphanumerics
	add(0x2ff0, 0x2fff)   // ideographic description
	add(0x3000, 0x303f)   // CJK punctuation
	add(0x3040, 0x30ff)   // kana
	add(0x4e00, 0x4e3f)   // CJK
	add(0xac00, 0xac3f)   // Hangul syllables
	add(0x1100, 0x117f)   // Hangul jamo (compose)
	add(0xe000, 0xe00f)   // private use
	add(0xf900, 0xf93f)   // CJK compatibility
	add(0xfb00, 0xfb4f)   // ligatures, Hebrew presentation forms
	add(0xfdd0, 0xfdff)   // non-characters, Arabic ligatures
	add(0xfe00, 0xfe0f)   // variation selectors
	add(0xfe70, 0xfeff)   // Arabic presentation forms, BOM
	add(0xff00, 0xffef)   // half and fullwidth forms
	add(0xfff0, 0xffff)   // specials
	add(0x1d15e, 0x1d17f) // musical symbols (1D173-1D17A)
	add(0x1d400, 0x1d43f) // mathematical alphanumerics
	add(0x1fffe, 0x1ffff) // non-characters
	add(0xe0000, 0xe007f) // tags
	add(0xf0000, 0xf0003) // private use plane 15
	add(0x10fffc, 0x10ffff)
	return pool
}()

// The reference is xdg-go/stringprep's SASLprep, an independent
// implementation of the same RFC. It prepares stored strings, refusing code
// points unassigned in Unicode 3.2 (table A.1), which this package lets
// through: those are left out of the comparison.
func TestMatchesStringprep(t *testing.T) {
	rng := rand.New(rand.NewPCG(4013, 3454))
	var pool []rune
	for _, r := range runePool {
		// U+1806 is in RFC 3454 table B.1, but not in stringprep's copy.
		if !stringprep.TableA1.Contains(r) && r != 0x1806 {
			pool = append(pool, r)
		}
	}
	agreedErr, agreedOK := 0, 0
	for i := 0; i < 200000; i++ {
		n := 1 + rng.IntN(6)
		rs := make([]rune, n)
		for j := range rs {
			if rng.IntN(3) == 0 {
				rs[j] = rune('a' + rng.IntN(26))
			} else {
				rs[j] = pool[rng.IntN(len(pool))]
			}
		}
		in := string(rs)
		want, werr := stringprep.SASLprep.Prepare(in)
		got, gerr := Prepare(in)
		switch {
		case (werr == nil) != (gerr == nil):
			t.Errorf("Prepare(%+q) = %+q, %v; stringprep: %+q, %v", in, got, gerr, want, werr)
		case werr == nil && got != want:
			t.Errorf("Prepare(%+q) = %+q; stringprep: %+q", in, got, want)
		case werr == nil:
			agreedOK++
		default:
			agreedErr++
		}
		if t.Failed() && i > 0 && i%1000 == 0 {
			t.FailNow()
		}
	}
	// The comparison means something only if both outcomes were common.
	t.Logf("%d accepted and %d refused by both", agreedOK, agreedErr)
	if agreedOK < 10000 || agreedErr < 10000 {
		t.Errorf("only %d successes and %d refusals agreed: the rune pool does not exercise both", agreedOK, agreedErr)
	}
}

func BenchmarkPrepareASCII(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Prepare("correct horse battery staple")
	}
}

func BenchmarkPrepareUnicode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Prepare("Pässwörd\u00a0\u2168")
	}
}

// FuzzPrepare compares with xdg-go/stringprep on any input the two should
// agree on (valid UTF-8, no code point unassigned in Unicode 3.2, no
// U+1806), and checks that Prepare never panics and returns UTF-8.
func FuzzPrepare(f *testing.F) {
	for _, s := range []string{"user", "I\u00adX", "\u00aa", "\u2168", "\u0007", "\u0627\u0031", "\u05d0a\u05d1", "e\u0341", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Prepare(in)
		if err == nil && !utf8.ValidString(got) {
			t.Fatalf("Prepare(%+q) = %+q, not UTF-8", in, got)
		}
		if !utf8.ValidString(in) {
			if err == nil {
				t.Fatalf("Prepare(%+q) accepted invalid UTF-8", in)
			}
			return
		}
		for _, r := range in {
			if stringprep.TableA1.Contains(r) || r == 0x1806 {
				return
			}
		}
		want, werr := stringprep.SASLprep.Prepare(in)
		if (err == nil) != (werr == nil) || got != want {
			for _, r := range got {
				if stringprep.TableA1.Contains(r) {
					return // normalization made an unassigned code point
				}
			}
			t.Fatalf("Prepare(%+q) = %+q, %v; stringprep: %+q, %v", in, got, err, want, werr)
		}
	})
}

func ExamplePrepare() {
	for _, s := range []string{"I\u00adX", "\u2168", "user\u0007"} {
		p, err := Prepare(s)
		fmt.Printf("%q %v\n", p, err)
	}
	// Output:
	// "IX" <nil>
	// "IX" <nil>
	// "" character 5 is not allowed (an ASCII control character, RFC 3454 table C.2.1, prohibited by RFC 4013 section 2.3)
}
