package message

import (
	"bytes"
	"io"
	"strings"
	"testing"

	gomessage "github.com/emersion/go-message"
)

func TestSniffContentType(t *testing.T) {
	bin := []byte{0x00, 0x01, 0x02, 0xff, 0xfe, 0x80, 0x90}
	tarHead := make([]byte, 300)
	copy(tarHead[257:], "ustar\x0000")
	bmp := append([]byte("BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00"), bin...)
	utf8At512 := append(bytes.Repeat([]byte("a"), 511), "é"[0]) // "é" cut after its first byte
	tests := []struct {
		name  string
		head  []byte
		whole bool
		want  string
	}{
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), true, "application/pdf"},
		{"postscript", []byte("%!PS-Adobe-3.0\n"), true, "application/postscript"},
		{"rtf", []byte(`{\rtf1\ansi hello}`), true, "application/rtf"},
		{"png", append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bin...), true, "image/png"},
		{"jpeg", append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bin...), true, "image/jpeg"},
		{"gif87a", []byte("GIF87a\x01\x00\x01\x00"), true, "image/gif"},
		{"gif89a", []byte("GIF89a\x01\x00\x01\x00"), true, "image/gif"},
		{"webp", []byte("RIFF\x24\x00\x00\x00WEBPVP8 "), true, "image/webp"},
		{"tiff little-endian", []byte("II*\x00\x08\x00\x00\x00"), true, "image/tiff"},
		{"tiff big-endian", []byte("MM\x00*\x00\x00\x00\x08"), true, "image/tiff"},
		{"bmp", bmp, true, "image/bmp"},
		{"BM text is not bmp", []byte("BMW drivers club minutes"), true, "text/plain; charset=utf-8"},
		{"ico", []byte("\x00\x00\x01\x00\x01\x00\x10\x10"), true, "image/vnd.microsoft.icon"},
		{"mp4", []byte("\x00\x00\x00\x20ftypisom\x00\x00\x02\x00"), true, "video/mp4"},
		{"heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00"), true, "image/heic"},
		{"avif", []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00"), true, "image/avif"},
		{"m4a", []byte("\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00"), true, "audio/mp4"},
		{"quicktime", []byte("\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00"), true, "video/quicktime"},
		{"mp3 with ID3", []byte("ID3\x04\x00\x00\x00\x00\x00\x00"), true, "audio/mpeg"},
		{"ogg", []byte("OggS\x00\x02\x00\x00"), true, "application/ogg"},
		{"flac", []byte("fLaC\x00\x00\x00\x22"), true, "audio/flac"},
		{"wav", []byte("RIFF\x24\x08\x00\x00WAVEfmt "), true, "audio/wav"},
		{"avi", []byte("RIFF\x24\x08\x00\x00AVI LIST"), true, "video/x-msvideo"},
		{"webm", []byte("\x1a\x45\xdf\xa3\x9f\x42\x86\x81"), true, "video/webm"},
		{"midi", []byte("MThd\x00\x00\x00\x06\x00\x01"), true, "audio/midi"},
		{"zip", append([]byte("PK\x03\x04\x14\x00\x00\x00"), bin...), true, "application/zip"},
		{"empty zip", []byte("PK\x05\x06" + strings.Repeat("\x00", 18)), true, "application/zip"},
		{"gzip", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"), true, "application/gzip"},
		{"7z", []byte("7z\xbc\xaf\x27\x1c\x00\x04"), true, "application/x-7z-compressed"},
		{"rar", []byte("Rar!\x1a\x07\x01\x00"), true, "application/vnd.rar"},
		{"bzip2", []byte("BZh91AY&SY"), true, "application/x-bzip2"},
		{"BZh text is not bzip2", []byte("BZh is not a word"), true, "text/plain; charset=utf-8"},
		{"xz", []byte("\xfd7zXZ\x00\x00\x04"), true, "application/x-xz"},
		{"zstd", []byte("\x28\xb5\x2f\xfd\x24\x00"), true, "application/zstd"},
		{"tar", tarHead, true, "application/x-tar"},

		{"ascii text", []byte("Dear all,\r\n\tthe minutes.\n\f"), true, "text/plain; charset=utf-8"},
		{"utf-8 text", []byte("Grüße, 你好, ✓"), true, "text/plain; charset=utf-8"},
		{"empty", nil, true, "text/plain; charset=utf-8"},
		{"csv", []byte("a,b\n1,2\n"), true, "text/plain; charset=utf-8"},
		{"html stays text/plain", []byte("<!DOCTYPE html><html></html>"), true, "text/plain; charset=utf-8"},
		{"utf-8 BOM", []byte("\xef\xbb\xbfhello"), true, "text/plain; charset=utf-8"},
		{"utf-16be BOM", []byte("\xfe\xff\x00h\x00i"), true, "text/plain; charset=utf-16be"},
		{"utf-16le BOM", []byte("\xff\xfeh\x00i\x00"), true, "text/plain; charset=utf-16le"},
		{"character cut by the 512-byte window", utf8At512, false, "text/plain; charset=utf-8"},
		{"character cut at the end of the file", utf8At512, true, "application/octet-stream"},
		{"invalid utf-8 in the middle", []byte("abc\xc3(def"), false, "application/octet-stream"},
		{"latin-1 text", []byte("Gr\xfc\xdfe"), true, "application/octet-stream"},
		{"overlong encoding", []byte("a\xc0\xafb"), true, "application/octet-stream"},
		{"surrogate", []byte("a\xed\xa0\x80b"), true, "application/octet-stream"},
		{"NUL byte", []byte("text\x00more"), true, "application/octet-stream"},
		{"bell", []byte("ding\x07"), true, "application/octet-stream"},
		{"escape", []byte("\x1b[31mred"), true, "application/octet-stream"},
		{"DEL", []byte("rub\x7fout"), true, "application/octet-stream"},
		{"ELF binary", []byte("\x7fELF\x02\x01\x01\x00"), true, "application/octet-stream"},
		{"random binary", bin, true, "application/octet-stream"},
		{"short prefix of a signature", []byte("%PD"), true, "text/plain; charset=utf-8"},
		{"ftyp too short", []byte("\x00\x00\x00\x20ftyp"), true, "application/octet-stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sniffContentType(tt.head, tt.whole); got != tt.want {
				t.Errorf("sniffContentType(%q, %v) = %q, want %q", clipForLog(tt.head), tt.whole, got, tt.want)
			}
		})
	}
}

func clipForLog(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}

// TestComposeSniffs: an attachment whose name has no known extension gets
// the sniffed type on the wire; a known extension or an explicit type wins
// over the content.
func TestComposeSniffs(t *testing.T) {
	tests := []struct {
		name, file string
		data       []byte
		ctype      string // Attachment.ContentType
		want       string // media type on the wire
		charset    string
	}{
		{"pdf without extension", "report", []byte("%PDF-1.4\n\x00\x01\x02"), "", "application/pdf", ""},
		{"zip without extension", "bundle", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), "", "application/zip", ""},
		{"text without extension", "NOTES", []byte("meeting at 10\n"), "", "text/plain", "utf-8"},
		{"binary without extension", "blob", []byte{0, 1, 2, 3, 0xff}, "", "application/octet-stream", ""},
		{"long text, window cuts a character", "LONG", bytes.Repeat([]byte("é"), 600), "", "text/plain", "utf-8"},
		{"extension wins over content", "picture.png", []byte("%PDF-1.4\n"), "", "image/png", ""},
		{"explicit type wins", "report", []byte("%PDF-1.4\n"), "application/x-custom", "application/x-custom", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file, tt.data)
			s := Spec{From: "a@example.com", To: []string{"b@example.org"}, Date: testDate, Text: "see attached",
				Attachments: []Attachment{{Path: path, ContentType: tt.ctype}}}
			_, out := compose(t, s)
			e, err := gomessage.Read(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			err = e.Walk(func(_ []int, ent *gomessage.Entity, err error) error {
				if err != nil {
					return err
				}
				if d, _, _ := ent.Header.ContentDisposition(); d != "attachment" {
					return nil
				}
				found = true
				mt, params, _ := ent.Header.ContentType()
				if mt != tt.want || params["charset"] != tt.charset || params["name"] != tt.file {
					t.Errorf("Content-Type %q %v, want %q charset %q name %q", mt, params, tt.want, tt.charset, tt.file)
				}
				body, err := io.ReadAll(ent.Body)
				if err != nil || !bytes.Equal(body, tt.data) {
					t.Errorf("attachment body differs (err %v)", err)
				}
				return nil
			})
			if err != nil || !found {
				t.Fatalf("no attachment part (err %v)", err)
			}
		})
	}
}
