package message

import (
	"bytes"
	"unicode/utf8"
)

// sniffLen is how many leading bytes of an attachment sniffContentType
// looks at.
const sniffLen = 512

// sniffContentType guesses the MIME type (RFC 2046) of an attachment whose
// name gives none, from its first bytes: the magic numbers of the files
// people attach (documents, images, archives, audio and video), then
// "text/plain; charset=utf-8" for valid UTF-8 without control bytes, else
// "application/octet-stream". whole says head is the entire content, so
// that a multi-byte character cut at its end is an error, not a cut.
//
// The types are the IANA registered ones where one exists (application/gzip
// as RFC 6713 registers it, image/heic, audio/flac...).
func sniffContentType(head []byte, whole bool) string {
	if t := sniffMagic(head); t != "" {
		return t
	}
	if isText(head, whole) {
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// sniffMagic matches the leading bytes against known signatures; "" when
// none matches.
func sniffMagic(b []byte) string {
	has := func(prefix string) bool { return bytes.HasPrefix(b, []byte(prefix)) }
	at := func(off int, s string) bool { return len(b) >= off+len(s) && string(b[off:off+len(s)]) == s }
	switch {
	// Documents.
	case has("%PDF-"):
		return "application/pdf"
	case has("%!PS-Adobe-"):
		return "application/postscript"
	case has(`{\rtf`):
		return "application/rtf"

	// Images.
	case has("\x89PNG\r\n\x1a\n"):
		return "image/png"
	case has("\xff\xd8\xff"):
		return "image/jpeg"
	case has("GIF87a"), has("GIF89a"):
		return "image/gif"
	case has("RIFF") && at(8, "WEBPVP"):
		return "image/webp"
	case has("II*\x00"), has("MM\x00*"):
		return "image/tiff"
	case has("BM") && len(b) >= 14 && b[6] == 0 && b[7] == 0 && b[8] == 0 && b[9] == 0:
		// BITMAPFILEHEADER: "BM", size, two reserved zero words.
		return "image/bmp"
	case has("\x00\x00\x01\x00") && len(b) >= 6 && (b[4] != 0 || b[5] != 0):
		// ICONDIR: reserved 0, type 1 (icon), a non-zero image count.
		return "image/vnd.microsoft.icon"

	// ISO base media files (MP4, QuickTime, HEIF, AVIF): a box of type
	// "ftyp" first, whose major brand names the kind.
	case at(4, "ftyp") && len(b) >= 12:
		switch string(b[8:12]) {
		case "avif", "avis":
			return "image/avif"
		case "heic", "heix", "heim", "heis", "mif1", "msf1":
			return "image/heic"
		case "M4A ", "M4B ":
			return "audio/mp4"
		case "qt  ":
			return "video/quicktime"
		case "3gp4", "3gp5", "3gp6", "3g2a":
			return "video/3gpp"
		}
		return "video/mp4"

	// Audio and video.
	case has("ID3"):
		return "audio/mpeg"
	case has("OggS\x00"):
		return "application/ogg"
	case has("fLaC"):
		return "audio/flac"
	case has("RIFF") && at(8, "WAVE"):
		return "audio/wav"
	case has("RIFF") && at(8, "AVI "):
		return "video/x-msvideo"
	case has("\x1a\x45\xdf\xa3"):
		return "video/webm" // Matroska/WebM EBML header
	case has("MThd\x00\x00\x00\x06"):
		return "audio/midi"

	// Archives and compressed files.
	case has("PK\x03\x04"), has("PK\x05\x06"), has("PK\x07\x08"):
		return "application/zip"
	case has("\x1f\x8b\x08"):
		return "application/gzip"
	case has("7z\xbc\xaf\x27\x1c"):
		return "application/x-7z-compressed"
	case has("Rar!\x1a\x07"):
		return "application/vnd.rar"
	case has("BZh") && len(b) >= 4 && b[3] >= '1' && b[3] <= '9':
		return "application/x-bzip2"
	case has("\xfd7zXZ\x00"):
		return "application/x-xz"
	case has("\x28\xb5\x2f\xfd"):
		return "application/zstd"
	case at(257, "ustar"):
		return "application/x-tar"

	// Text with a byte order mark.
	case has("\xef\xbb\xbf"):
		return "text/plain; charset=utf-8"
	case has("\xfe\xff"):
		return "text/plain; charset=utf-16be"
	case has("\xff\xfe"):
		return "text/plain; charset=utf-16le"
	}
	return ""
}

// isText reports whether b is valid UTF-8 with no control byte other than
// tab, line feed, vertical tab, form feed and carriage return. Unless whole
// is set, a multi-byte character cut at the end of b is allowed.
func isText(b []byte, whole bool) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && (c < '\t' || c > '\r')) || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			// A cut character: a valid start whose continuation is missing
			// only because b ends.
			return !whole && !utf8.FullRune(b[i:])
		}
		i += size
	}
	return true
}
