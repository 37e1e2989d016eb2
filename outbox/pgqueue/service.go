package pgqueue

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/jackc/pgservicefile"
)

// ErrService is returned (wrapped) by ParseConfig, and so Open, when the
// service a queue URL or PGSERVICE names is defined in no service file,
// or a service file cannot be read: a configuration error, which retrying
// does not heal.
var ErrService = errors.New("no usable PostgreSQL service definition")

// serviceError is a service's problem: its text, and ErrService.
type serviceError struct{ err error }

func (e serviceError) Error() string   { return e.err.Error() }
func (e serviceError) Unwrap() []error { return []error{ErrService, e.err} }

// connParams reads the parameters sslmode, service, servicefile,
// default_query_exec_mode and the password ones of a
// connection string, a postgres:// URL (its query) or libpq's key=value
// form, by libpq's rules as pgx applies them (section 32.1.1 of
// PostgreSQL's documentation): in a URL, parameters are &-separated and
// percent-encoded; in key=value form, a value is a run of non-space
// characters or single-quoted, with backslash escapes in both. ok is false
// when the string cannot be read so (pgx refuses it too, or it is read as
// something else: the caller then refuses it rather than guess).
func connParams(connString string) (params map[string]string, ok bool) {
	params = map[string]string{}
	keep := func(k, v string) {
		switch k {
		case "sslmode", "service", "servicefile", "password", "sslpassword", "default_query_exec_mode":
			params[k] = v
		}
	}
	if isURL(connString) {
		q := urlQuery(connString)
		if q < 0 {
			return params, true
		}
		// &-separated pairs, as pgx reads them: a trailing '&' ends the
		// query, an empty pair elsewhere is refused.
		for query := connString[q+1:]; query != ""; {
			var pair string
			pair, query, _ = strings.Cut(query, "&")
			k, v, found := strings.Cut(pair, "=")
			if !found {
				return nil, false
			}
			k, err1 := url.PathUnescape(k)
			v, err2 := url.PathUnescape(v)
			if err1 != nil || err2 != nil {
				return nil, false
			}
			keep(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		return params, true
	}
	s := connString
	space := " \t\n\r\v\f"
	for {
		s = strings.TrimLeft(s, space)
		if s == "" {
			return params, true
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return nil, false
		}
		key := strings.TrimRight(s[:eq], space)
		if key == "" || strings.ContainsAny(key, space) {
			return nil, false
		}
		s = strings.TrimLeft(s[eq+1:], space)
		var val strings.Builder
		quoted := strings.HasPrefix(s, "'")
		if quoted {
			s = s[1:]
		}
		i := 0
		for ; i < len(s); i++ {
			c := s[i]
			if quoted && c == '\'' || !quoted && strings.IndexByte(space, c) >= 0 {
				break
			}
			if c == '\\' {
				i++
				if i == len(s) {
					break // a trailing backslash escapes the end: dropped
				}
				c = s[i]
			}
			val.WriteByte(c)
		}
		if quoted {
			if i >= len(s) {
				return nil, false // unterminated
			}
			i++ // the closing quote
		}
		s = s[min(i, len(s)):]
		keep(key, val.String())
	}
}

// URLHasPassword reports whether connString, a postgres:// URL, holds a
// password where pgx and libpq read one: in its user part, which ends at
// the first '@' before any '/' (so "postgres://u:p?x@host/db" and
// "postgres://u:p#x@host/db" hold the password "p?x" and "p#x", where
// net/url sees no user part at all), or a password parameter of its query
// (password, or sslpassword: a client key's passphrase).
func URLHasPassword(connString string) bool {
	if !isURL(connString) {
		return false
	}
	p := connString[strings.Index(connString, "://")+len("://"):]
	if i := strings.IndexAny(p, "@/"); i >= 0 && p[i] == '@' {
		if _, pw, found := strings.Cut(p[:i], ":"); found && pw != "" {
			return true
		}
	}
	params, ok := connParams(connString)
	_, has := params["password"]
	_, hasSSL := params["sslpassword"]
	return ok && (has || hasSSL)
}

// isURL reports whether pgx reads connString as a URL (else as key=value).
func isURL(connString string) bool {
	return strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://")
}

// urlQuery is the index of the '?' that starts the query of the URL
// connString, or -1 when it has none. As libpq and pgx read a URL, an '@'
// before the first '/' ends the user information, which may hold a '?'
// (a password's): that one does not start the query.
func urlQuery(connString string) int {
	start := strings.Index(connString, "://") + len("://")
	rest := connString[start:]
	if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
		start += i + 1
	}
	q := strings.IndexByte(connString[start:], '?')
	if q < 0 {
		return -1
	}
	return start + q
}

// service is a named service's entry and the file it was found in.
type service struct {
	file     string
	settings map[string]string
}

// findService finds the service named as libpq does (section 32.17 of
// PostgreSQL's documentation, "The Connection Service File"): in the
// user's service file (the connection string's servicefile, which pgx
// accepts and libpq does not, else PGSERVICEFILE, else ~/.pg_service.conf;
// on Windows %APPDATA%\postgresql\.pg_service.conf, or
// ~/.pg_service.conf when that is missing, as pgx), else in
// pg_service.conf of the directory PGSYSCONFDIR names. Files are parsed by
// pgx's own reader (pgservicefile), so the entry is the one pgx uses.
// A service that none of the files defines is an error saying where it
// was looked for.
func findService(name, fileParam string) (*service, error) {
	var files []string
	switch {
	case fileParam != "":
		files = append(files, fileParam)
	case os.Getenv("PGSERVICEFILE") != "":
		files = append(files, os.Getenv("PGSERVICEFILE"))
	default:
		if f := userServiceFile(); f != "" {
			files = append(files, f)
		}
	}
	if dir := os.Getenv("PGSYSCONFDIR"); dir != "" {
		files = append(files, filepath.Join(dir, "pg_service.conf"))
	}
	for _, f := range files {
		// A FIFO (or a device) would hang the open or the read for
		// ever, and pgx reads the file again after: only a regular file
		// of a sane size is read.
		if fi, err := os.Stat(f); err == nil && (!fi.Mode().IsRegular() || fi.Size() > maxServiceFile) {
			why := fmt.Sprintf("not a regular file (mode %s)", fi.Mode())
			if fi.Mode().IsRegular() {
				why = fmt.Sprintf("%d bytes, over %d KiB", fi.Size(), maxServiceFile>>10)
			}
			return nil, &Error{Op: "open", Msg: fmt.Sprintf("the PostgreSQL service file %s is not read", f), Err: serviceError{errors.New(why)},
				Fix: "name a service file (PGSERVICEFILE, or servicefile= in the URL) that is a regular file of a few lines"}
		}
		sf, err := pgservicefile.ReadServicefile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, &Error{Op: "open", Msg: fmt.Sprintf("cannot read the PostgreSQL service file %s", f), Err: serviceError{err},
				Fix: "correct the file (sections [name] followed by key=value lines), or name another with PGSERVICEFILE"}
		}
		if s, err := sf.GetService(name); err == nil {
			return &service{file: f, settings: s.Settings}, nil
		}
	}
	where := "no service file exists"
	if len(files) > 0 {
		where = "it is not in " + strings.Join(files, " nor ")
	}
	return nil, &Error{Op: "open", Err: serviceError{errors.New(where)}, Msg: fmt.Sprintf("the PostgreSQL service %q is not defined", name),
		Fix: "define it in ~/.pg_service.conf (or the file PGSERVICEFILE names, or pg_service.conf in the directory PGSYSCONFDIR names), or correct its name"}
}

// maxServiceFile bounds the service files findService reads (libpq's
// examples are a few lines; one is read whole into memory).
const maxServiceFile = 1 << 20

// userServiceFile is where pgx reads a service when neither the
// connection string nor PGSERVICEFILE names a file ("" when there is no
// home directory).
func userServiceFile() string {
	home, err := os.UserHomeDir()
	inHome := ""
	if err == nil {
		inHome = filepath.Join(home, ".pg_service.conf")
	}
	if runtime.GOOS == "windows" {
		if appData := os.Getenv("APPDATA"); appData != "" {
			f := filepath.Join(appData, "postgresql", ".pg_service.conf")
			if _, err := os.Stat(f); err == nil || inHome == "" {
				return f
			}
			if _, err := os.Stat(inHome); err != nil {
				return f
			}
		}
	}
	return inHome
}

// withParam adds key=value to a connection string, in its own form.
func withParam(connString, key, value string) string {
	if isURL(connString) {
		sep := "&"
		switch {
		case urlQuery(connString) < 0:
			sep = "?"
		case strings.HasSuffix(connString, "?") || strings.HasSuffix(connString, "&"):
			sep = "" // an empty query, or one ending in '&'
		}
		return connString + sep + key + "=" + percentEncode(value)
	}
	quoted := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(value)
	return connString + " " + key + "='" + quoted + "'"
}

// percentEncode encodes every byte of s but letters, digits and -._~
// (RFC 3986's unreserved characters), which pgx decodes back.
func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
