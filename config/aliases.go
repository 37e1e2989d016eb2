package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/mail"
	"strings"

	"github.com/tlsmail/tlsmail/internal/regfile"
)

// Aliases is an msmtp aliases file (the `aliases` command): it maps local
// recipients, addresses without an '@' such as "root" or "postmaster", to
// the addresses mail for them goes to. Only the envelope changes; the
// message's To and Cc fields are left as written.
//
// The format, as msmtp 1.8 reads it: one mapping per line,
//
//	local: someone@example.com, person@domain.example
//
// with the replacement addresses separated by commas. '#' starts a comment
// that runs to the end of the line; blank lines are ignored. Names are
// compared exactly (case-sensitively, "ROOT" is not "root"). The name
// "default" matches every local recipient the file does not name. A
// replacement that is itself local is expanded again (default included),
// up to MaxAliasDepth levels. A local recipient that neither its name nor
// a default matches is left as it is: the server decides (msmtp does the
// same).
type Aliases struct {
	// File is the file's name, for error messages.
	File    string
	entries map[string]aliasEntry
}

type aliasEntry struct {
	addrs []string
	line  int
}

// MaxAliasDepth bounds how many aliases one recipient may pass through; a
// longer chain is taken for a loop. msmtp 1.8.23 accepts a chain of 17
// expansions and refuses one of 18, as this does.
const MaxAliasDepth = 17

// maxAliasesFile bounds the size of an aliases file read by LoadAliases.
const maxAliasesFile = 4 << 20

// maxAliasLine bounds one line of an aliases file.
const maxAliasLine = 64 << 10

// IsLocal reports whether addr is a local address in msmtp's sense: one
// without an '@'.
func IsLocal(addr string) bool { return !strings.Contains(addr, "@") }

// LoadAliases reads the aliases file at path. A problem with the file (it
// cannot be read, a line is not "name: addresses") is a *Error; msmtp
// exits with EX_CONFIG on both.
func LoadAliases(path string) (*Aliases, error) {
	// A regular file only, opened without blocking (a named pipe would
	// wait for a writer).
	f, fi, err := regfile.Open(path, nil)
	if err != nil {
		fix := "fix the path given to the aliases command, or remove the command"
		var nr *regfile.NotRegularError
		switch {
		case errors.As(err, &nr):
			fix = "name a text file of \"name: address, ...\" lines"
		case errors.Is(err, fs.ErrPermission):
			fix = "make the file readable by the user sending mail, or remove the aliases command"
		}
		return nil, &Error{File: path, Key: "aliases", Msg: "cannot read the aliases file: " + errText(err), Fix: fix, Err: err}
	}
	defer f.Close()
	if why := untrusted(fi); why != "" {
		return nil, &Error{File: path, Key: "aliases", Msg: "refusing the aliases file: it " + why +
			", so another user could send the mail elsewhere",
			Fix: untrustedFix(path)}
	}
	a, err := ParseAliases(io.LimitReader(f, maxAliasesFile+1), path)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// ParseAliases reads an aliases file from r; name is used in errors.
func ParseAliases(r io.Reader, name string) (*Aliases, error) {
	a := &Aliases{File: name, entries: map[string]aliasEntry{}}
	br := bufio.NewReaderSize(r, 4096)
	total := 0
	for lineNo := 1; ; lineNo++ {
		line, err := readAliasLine(br)
		total += len(line) + 1
		if total > maxAliasesFile {
			return nil, &Error{File: name, Key: "aliases", Msg: fmt.Sprintf("the aliases file is larger than %d bytes", maxAliasesFile),
				Fix: "an aliases file maps a few local names; check that the aliases command names the right file"}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, errLongAliasLine) {
				return nil, &Error{File: name, Line: lineNo, Key: "aliases", Msg: fmt.Sprintf("line longer than %d bytes", maxAliasLine),
					Fix: "split the addresses over several aliases"}
			}
			return nil, &Error{File: name, Key: "aliases", Msg: "cannot read the aliases file: " + errText(err), Err: err}
		}
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if strings.TrimSpace(line) != "" {
			if perr := a.addLine(line, lineNo); perr != nil {
				return nil, perr
			}
		}
		if err != nil {
			return a, nil
		}
	}
}

var errLongAliasLine = errors.New("line too long")

// readAliasLine returns the next line without its line end; err is io.EOF
// after the last line.
func readAliasLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxAliasLine {
			return "", errLongAliasLine
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		s := strings.TrimRight(string(b), "\r\n")
		if err == nil {
			return s, nil
		}
		return s, err
	}
}

func (a *Aliases) addLine(line string, lineNo int) error {
	fail := func(msg string) error {
		return &Error{File: a.File, Line: lineNo, Key: "aliases", Msg: msg,
			Fix: "write each line as \"name: address, address\" (one ':' per line)"}
	}
	if strings.Count(line, ":") != 1 {
		return fail("single ':' delimiter expected")
	}
	name, list, _ := strings.Cut(line, ":")
	name = strings.TrimSpace(name)
	if name == "" {
		return fail("no name before ':'")
	}
	var addrs []string
	for _, s := range strings.Split(list, ",") {
		// msmtp sends an empty element as RCPT TO:<>; an empty element
		// is skipped here, and an alias with no address at all is an
		// error rather than a message to nobody.
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		// msmtp sends what is written; an address that does not parse
		// is refused here rather than sent as a garbled RCPT TO.
		addr, ok := aliasAddress(s)
		if !ok {
			return &Error{File: a.File, Line: lineNo, Key: "aliases", Msg: fmt.Sprintf("alias %s: %q is not an address", name, s),
				Fix: "write addresses as user@example.com, or a local name such as root"}
		}
		addrs = append(addrs, addr)
	}
	if len(addrs) == 0 {
		return &Error{File: a.File, Line: lineNo, Key: "aliases", Msg: fmt.Sprintf("alias %s has no address", name),
			Fix: "add the addresses after the ':', or remove the line"}
	}
	// A later line for the same name wins, as in msmtp.
	a.entries[name] = aliasEntry{addrs: addrs, line: lineNo}
	return nil
}

// aliasAddress checks one replacement address: user@example.com (also
// accepted as "Name <user@example.com>", which becomes the bare address),
// a local name such as root, or a program or file target of aliases(5)
// ("|cmd args", /path), which Expand refuses when it is used.
func aliasAddress(s string) (string, bool) {
	if t := strings.Trim(s, `"`); strings.HasPrefix(t, "|") || strings.HasPrefix(t, "/") {
		// A program or a file (aliases(5)): kept, refused when used.
		return t, true
	}
	if IsLocal(s) {
		return s, !strings.ContainsAny(s, " \t<>()[]\\,;:\"") && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", false
	}
	return a.Address, true
}

// Expand returns the addresses mail for addr goes to: addr itself when it
// holds an '@' or when no alias (and no default) matches it, else the
// alias's addresses with every local one expanded again. The result holds
// each address once, in the order first met. A chain longer than
// MaxAliasDepth is a *Error (a loop in the file). A nil *Aliases expands
// nothing.
//
// The cost is bounded by the size of the file, not by the number of
// paths through it: aliases that fan out over many levels (each name
// mapping to several names that map to several more) are walked once per
// name, and the longest chain below each name is computed once.
func (a *Aliases) Expand(addr string) ([]string, error) {
	x := &expansion{a: a, height: map[string]int{}, active: map[string]bool{}, walked: map[string]bool{}, seen: map[string]bool{}}
	if key, e, ok := a.lookup(addr); ok && x.chain(key, e) > MaxAliasDepth {
		return nil, &Error{File: a.File, Line: e.line, Key: "aliases",
			Msg: fmt.Sprintf("too many redirects when expanding alias %s (more than %d: a loop?)", addr, MaxAliasDepth),
			Fix: "make every chain of aliases end in full addresses (user@example.com)"}
	}
	if err := x.walk(addr); err != nil {
		return nil, err
	}
	return x.out, nil
}

// lookup returns the entry that matches addr and its key (the name, or
// "default"); ok is false when addr is not local or nothing matches.
func (a *Aliases) lookup(addr string) (key string, e aliasEntry, ok bool) {
	if a == nil || !IsLocal(addr) {
		return "", aliasEntry{}, false
	}
	if e, ok = a.entries[addr]; ok {
		return addr, e, true
	}
	e, ok = a.entries["default"]
	return "default", e, ok
}

// expansion is the state of one Expand.
type expansion struct {
	a      *Aliases
	height map[string]int  // longest chain of entries from a key, capped
	active map[string]bool // keys on the chain being measured (a loop)
	walked map[string]bool // keys whose addresses are already collected
	seen   map[string]bool // addresses already in out
	out    []string
}

// chain returns how many entries the longest chain starting at the entry
// e (whose key is key) passes through, or MaxAliasDepth+1 when it is
// longer than that or loops: msmtp counts the same chains, one expansion
// per entry, and refuses a chain of more than MaxAliasDepth.
func (x *expansion) chain(key string, e aliasEntry) int {
	if h, ok := x.height[key]; ok {
		return h
	}
	if x.active[key] {
		return MaxAliasDepth + 1
	}
	x.active[key] = true
	h := 1
	for _, r := range e.addrs {
		if ck, ce, ok := x.a.lookup(r); ok {
			h = max(h, 1+x.chain(ck, ce))
			if h > MaxAliasDepth {
				h = MaxAliasDepth + 1
				break
			}
		}
	}
	delete(x.active, key)
	x.height[key] = h
	return h
}

// walk collects the addresses of addr, each entry's once.
func (x *expansion) walk(addr string) error {
	key, e, ok := x.a.lookup(addr)
	if !ok {
		if !x.seen[addr] {
			x.seen[addr] = true
			x.out = append(x.out, addr)
		}
		return nil
	}
	if x.walked[key] {
		// Every address below it is in out already.
		return nil
	}
	x.walked[key] = true
	for _, r := range e.addrs {
		if strings.HasPrefix(r, "|") || strings.HasPrefix(r, "/") {
			// sendmail's and Postfix's aliases(5) deliver to programs
			// and files; a relay client cannot (msmtp would send the
			// text as an address). (":include:" has a second ':' and
			// is refused when the file is read, as msmtp refuses it.)
			return &Error{File: x.a.File, Line: e.line, Key: "aliases",
				Msg: fmt.Sprintf("alias %s: %q is a program or a file, which only a local mail server can deliver to", addr, r),
				Fix: "map the name to an address (user@example.com) in the aliases file tlsmail reads"}
		}
		if err := x.walk(r); err != nil {
			return err
		}
	}
	return nil
}

// AliasExpander returns a function that expands one recipient through the
// aliases file at path (see Aliases.Expand), suited to
// message.PrepareOptions.ExpandRecipient. The file is read at the first
// local recipient, not before: as in msmtp, mail to full addresses never
// depends on it. With path "" every recipient is kept as it is (a local
// name goes to the server unchanged, as msmtp sends it).
func AliasExpander(path string) func(addr string) ([]string, error) {
	var (
		loaded *Aliases
		err    error
		done   bool
	)
	return func(addr string) ([]string, error) {
		if path == "" || !IsLocal(addr) {
			return []string{addr}, nil
		}
		if !done {
			loaded, err = LoadAliases(path)
			done = true
		}
		if err != nil {
			return nil, err
		}
		return loaded.Expand(addr)
	}
}
