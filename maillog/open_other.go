//go:build !unix

package maillog

// openNonblock: see open_unix.go; nothing outside Unix.
const openNonblock = 0
