package main

import (
	"fmt"
	"io"
	"os"
)

// progressMinBytes is the message size from which `send` shows a progress
// bar (when standard error is a terminal): below it a send is over before
// a bar would be worth reading.
const progressMinBytes = 4 << 20

// progressReader counts the bytes read from r and redraws a one-line bar
// on w ("\r" and the line) whenever the whole percentage changes, so that a
// send draws at most 101 lines whatever its size. Done ends the line.
type progressReader struct {
	r     io.Reader
	w     io.Writer
	total int64 // > 0
	n     int64
	shown int // percentage last drawn; -1 before the first
}

func newProgressReader(r io.Reader, w io.Writer, total int64) *progressReader {
	return &progressReader{r: r, w: w, total: total, shown: -1}
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.add(n)
	return n, err
}

// WriteTo keeps the source's io.WriterTo fast path (a composed message
// writes itself into the SMTP stream without a pipe), counting as it goes.
func (p *progressReader) WriteTo(w io.Writer) (int64, error) {
	if wt, ok := p.r.(io.WriterTo); ok {
		return wt.WriteTo(progressWriter{w, p})
	}
	return io.Copy(w, struct{ io.Reader }{p})
}

// progressWriter counts what passes through it into its progressReader.
type progressWriter struct {
	w io.Writer
	p *progressReader
}

func (pw progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	pw.p.add(n)
	return n, err
}

// WriteCRLF passes on what message.Message.WriteTo writes through
// WriteCRLF (blocks of a base64 attachment, whose line breaks are all
// CRLF) when w takes it, so that the SMTP data writer's fast path is kept
// with a progress bar too.
func (pw progressWriter) WriteCRLF(b []byte) (int, error) {
	lw, ok := pw.w.(interface{ WriteCRLF([]byte) (int, error) })
	if !ok {
		return pw.Write(b)
	}
	n, err := lw.WriteCRLF(b)
	pw.p.add(n)
	return n, err
}

func (p *progressReader) add(n int) {
	p.n += int64(n)
	if pct := p.percent(); pct != p.shown {
		p.shown = pct
		p.draw()
	}
}

func (p *progressReader) percent() int {
	n := min(p.n, p.total)
	return int(n * 100 / p.total)
}

func (p *progressReader) draw() {
	const width = 30
	fill := p.shown * width / 100
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = '.'
		if i < fill {
			bar[i] = '#'
		}
	}
	fmt.Fprintf(p.w, "\rtlsmail: sending [%s] %3d%% %s of %s", bar, p.shown, mib(p.n), mib(p.total))
}

// Done ends the progress line so that what follows starts on a new line.
func (p *progressReader) Done() {
	if p.shown >= 0 {
		fmt.Fprintln(p.w)
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// withProgress wraps r in a progress bar on stderr when stderr is a
// terminal (the caller says so, with isTerminal(stderr)) and the message is
// at least progressMinBytes (size < 0: unknown, no bar). It returns r
// itself, and a no-op done, otherwise: nothing is written when stderr is a
// file or a pipe.
func withProgress(r io.Reader, stderr io.Writer, size int64, terminal bool) (io.Reader, func()) {
	if size < progressMinBytes || !terminal {
		return r, func() {}
	}
	p := newProgressReader(r, stderr, size)
	return p, p.Done
}

// isTerminal reports whether w is a character device (a terminal or a
// console), using only os.File.Stat.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && fi.Mode()&os.ModeDevice != 0
}

// messageSize is the size of the message to send, for the progress bar:
// the composed size, or the size of a --message file; -1 when unknown.
func messageSize(size int64, messageFile string) int64 {
	if size >= 0 || messageFile == "" || messageFile == "-" {
		return size
	}
	fi, err := os.Stat(messageFile)
	if err != nil || !fi.Mode().IsRegular() {
		return -1
	}
	return fi.Size()
}
