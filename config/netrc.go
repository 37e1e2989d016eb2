package config

import (
	"bufio"
	"errors"
	"io"
	"path/filepath"
	"runtime"
	"strings"
)

// NetrcEntry is one machine of a netrc file (ftp(1)'s ~/.netrc), as msmtp
// reads it.
type NetrcEntry struct {
	// Machine is the host name, "" for the "default" entry.
	Machine string
	// Login is the user name; Password its password ("" when the entry
	// has none).
	Login, Password string
}

// MaxNetrcBytes bounds what ParseNetrc reads: a netrc file is a few lines
// per machine.
const MaxNetrcBytes = 1 << 20

// errNetrcTooLarge is a netrc file over MaxNetrcBytes.
var errNetrcTooLarge = errors.New("the netrc file is larger than 1 MiB")

// ParseNetrc reads a netrc file as msmtp does (its netrc.c, from
// fetchmail): words are separated by blanks and line ends; a word may be
// quoted with " or ' (no escapes); a word starting with '#' begins a
// comment to the end of the line. "machine NAME" starts an entry and
// "default" an entry for any machine; "login" (or "user"), "password" (or
// "passwd") and "account" take the next word; "macdef NAME" skips the
// rest of its line and the lines after it up to a blank line. An entry
// without a login is dropped, as msmtp drops it. Other words are ignored.
// At most MaxNetrcBytes are read.
func ParseNetrc(r io.Reader) ([]NetrcEntry, error) {
	var (
		entries []NetrcEntry
		cur     *NetrcEntry
		want    string // the keyword whose value comes next, "" for none
		inMacro bool
	)
	finish := func() {
		if cur != nil && cur.Login != "" {
			entries = append(entries, *cur)
		}
		cur = nil
	}
	lr := &io.LimitedReader{R: r, N: MaxNetrcBytes + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 4096), MaxNetrcBytes+1)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\r\n\v\f")
		if inMacro {
			if line == "" {
				inMacro = false
			}
			continue
		}
		for _, w := range netrcWords(line) {
			if want != "" {
				switch want {
				case "machine":
					finish()
					cur = &NetrcEntry{Machine: w}
				case "login":
					if cur != nil {
						cur.Login = w
					}
				case "password":
					if cur != nil {
						cur.Password = w
					}
				}
				want = ""
				continue
			}
			switch w {
			case "default":
				finish()
				cur = &NetrcEntry{}
			case "machine", "account", "macdef":
				want = w
			case "login", "user":
				want = "login"
			case "password", "passwd":
				want = "password"
			}
			if want == "macdef" {
				// Its name and the rest of the line are skipped too.
				want, inMacro = "", true
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, errNetrcTooLarge
		}
		return nil, err
	}
	if lr.N <= 0 {
		return nil, errNetrcTooLarge
	}
	finish()
	return entries, nil
}

// netrcWords splits a netrc line into words: blanks separate them, " or '
// quote (the quotes are removed), and a word that starts with '#' ends
// the line.
func netrcWords(line string) []string {
	var words []string
	i := 0
	for i < len(line) {
		for i < len(line) && isNetrcBlank(line[i]) {
			i++
		}
		if i >= len(line) || line[i] == '#' {
			break
		}
		var w strings.Builder
		var quote byte
		for i < len(line) && (quote != 0 || !isNetrcBlank(line[i])) {
			c := line[i]
			i++
			switch {
			case quote != 0 && c == quote:
				quote = 0
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
			default:
				w.WriteByte(c)
			}
		}
		words = append(words, w.String())
	}
	return words
}

func isNetrcBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// LookupNetrc returns the first entry, in file order, for machine host
// and login user (both compared exactly, as msmtp does); the "default"
// entry never matches, as in msmtp. ok is false when there is none.
func LookupNetrc(entries []NetrcEntry, host, user string) (e NetrcEntry, ok bool) {
	for _, e := range entries {
		if e.Machine != "" && e.Machine == host && e.Login == user {
			return e, true
		}
	}
	return NetrcEntry{}, false
}

// NetrcFiles lists where msmtp looks for a password an account does not
// give (auth and user set, no password, no passwordeval), in order: the
// user's netrc in home (~/.netrc; netrc.txt on Windows), then "netrc"
// (netrc.txt) beside the system configuration file systemFile (msmtp's
// SYSCONFDIR, /etc on Debian). An empty home or systemFile leaves that
// file out.
func NetrcFiles(home, systemFile string) []string {
	user, sys := ".netrc", "netrc"
	if runtime.GOOS == "windows" {
		user, sys = "netrc.txt", "netrc.txt"
	}
	var files []string
	if home != "" {
		files = append(files, filepath.Join(home, user))
	}
	if systemFile != "" {
		files = append(files, filepath.Join(filepath.Dir(systemFile), sys))
	}
	return files
}
