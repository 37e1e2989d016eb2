package main

import (
	"io"
	"os"
)

// openTranscript returns where --transcript sends the session log: nowhere
// for "", standard error for "-", else the file at path, created or
// truncated with mode 0600 (the log names the server and the user, though
// never a secret). done closes the file and is never nil. The error is a
// configuration error that says what to give instead.
func openTranscript(e *env, path string) (w io.Writer, done func(), err error) {
	switch path {
	case "":
		return nil, func() {}, nil
	case "-":
		return e.stderr, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, func() {}, configErrorf("cannot write the transcript: %v", err).wrapping(err).
			withFix("give --transcript a writable path, or - for standard error")
	}
	return f, func() { f.Close() }, nil
}
