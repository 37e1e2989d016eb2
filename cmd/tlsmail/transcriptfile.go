package main

import (
	"io"

	"github.com/tlsmail/tlsmail/maillog"
)

// openTranscript returns where --transcript sends the session log: nowhere
// for "", standard error for "-", else the regular file at path, created
// with mode 0600 or truncated (the log names the server, the user, the
// addresses and the server's replies, though never a secret), opened as
// maillog.OpenPrivate does: a FIFO, a device or a directory is refused
// (a FIFO nobody reads would hold the command forever), and an existing
// file that others may read is made mode 0600 first. done closes the file
// and is never nil. The error is a configuration error that says what to
// give instead.
func openTranscript(e *env, path string) (w io.Writer, done func(), err error) {
	switch path {
	case "":
		return nil, func() {}, nil
	case "-":
		return e.stderr, func() {}, nil
	}
	f, err := maillog.OpenPrivate(path)
	if err != nil {
		return nil, func() {}, configErrorf("cannot write the transcript: %v", err).wrapping(err).
			withFix("give --transcript a writable path to a regular file, or - for standard error")
	}
	return f, func() { f.Close() }, nil
}
