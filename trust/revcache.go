package trust

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file is the on-disk half of the Checker's cache: CRLs and OCSP
// responses that were fetched and verified, and brief notes of fetches that
// failed, kept in files that the user's other processes (the next `tlsmail
// send`, a queue worker, a library user) read instead of asking the network
// again. A CRL or OCSP response is signed data with its own validity
// (thisUpdate/nextUpdate, RFC 5280 section 5.1.2.5, RFC 6960 section
// 4.2.2.1), so keeping it is what the RFCs intend (RFC 5019 section 6 says
// as much for OCSP). The files are untrusted input all the same: every
// answer read from one is parsed and authenticated again (signature,
// issuer, certificate) exactly as one from the network, and its lifetime
// is recomputed from its own dates, never taken from the file.

// Defaults of the on-disk cache.
const (
	// DefaultCacheEntries bounds the files in the revocation cache.
	DefaultCacheEntries = 2000
	// DefaultCacheBytes bounds the bytes in the revocation cache.
	DefaultCacheBytes = 64 << 20
	// maxAnswerAge bounds how long any fetched answer is reused, whatever
	// nextUpdate it names.
	maxAnswerAge = 7 * 24 * time.Hour
	// maxFailText bounds the error text kept for a failed fetch.
	maxFailText = 1 << 10
	// staleTemp is the age at which a leftover temporary file (a writer
	// that died between create and rename) is removed.
	staleTemp = time.Minute
	// clockSkew is how far in the future a file may say it was written.
	clockSkew = 5 * time.Minute
)

// RevocationCacheEnv names the environment variable that overrides the
// default cache directory: a directory to use instead, or "off" to keep
// the answers of Checkers without a CacheDir (the process's
// DefaultChecker among them) in memory only. Tests set it so that `go
// test` never writes into the user's cache.
const RevocationCacheEnv = "TLSMAIL_REVOCATION_CACHE"

// DefaultRevocationCacheDir is the directory a Checker keeps answers in
// when Checker.CacheDir is empty: $TLSMAIL_REVOCATION_CACHE when set (an
// error when it is "off"), else tlsmail/revocation under
// os.UserCacheDir() ($XDG_CACHE_HOME or ~/.cache on Linux,
// ~/Library/Caches on macOS, %LocalAppData% on Windows).
func DefaultRevocationCacheDir() (string, error) {
	switch env := os.Getenv(RevocationCacheEnv); env {
	case "":
	case "off":
		return "", fmt.Errorf("the on-disk revocation cache is off (%s=off)", RevocationCacheEnv)
	default:
		return env, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "tlsmail", "revocation"), nil
}

// diskCache is a directory of cache files, one per query, named by the
// SHA-256 of the query's key. Every file operation goes through root, the
// directory opened (and checked) once: whoever renames the directory or
// replaces it by a symbolic link afterwards (the owner of a parent
// directory) cannot redirect the reads, writes and evictions elsewhere.
type diskCache struct {
	dir        string
	root       *os.Root
	maxEntries int
	maxBytes   int64
	// maxFile bounds one file (the Checker's MaxSize plus the header).
	maxFile int64
}

// entryKind says what a cache file holds.
type entryKind string

const (
	entryAnswer    entryKind = "answer"     // a verified CRL or OCSP response
	entryFetchFail entryKind = "fetch-fail" // the fetch failed (the text of its error)
	entryCheckFail entryKind = "check-fail" // the answer did not verify (the text of why)
)

// diskEntry is one cache file's content.
type diskEntry struct {
	kind    entryKind
	fetched time.Time // when the answer was fetched
	until   time.Time // the writer's idea of its end; the reader bounds it again
	body    []byte    // DER for an answer, error text for a failure
}

const entryMagic = "tlsmail revocation cache 1\n"

// openDiskCache makes (or checks) dir and returns the cache, or a
// *CacheDirError saying why the directory cannot be used: not a directory,
// a symbolic link, another user's, or writable by group or others (any of
// which would let someone else plant answers). On Windows, who may write it
// is read from its owner and DACL (dirSecurityProblem), not from mode bits.
func openDiskCache(dir string, maxEntries int, maxBytes, maxFile int64) (*diskCache, error) {
	if dir == "" {
		return nil, &CacheDirError{Err: errors.New("no cache directory")}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, &CacheDirError{Dir: dir, Err: err}
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, &CacheDirError{Dir: dir, Err: err}
	}
	if err := safeMode(fi, true); err != nil {
		return nil, &CacheDirError{Dir: dir, Unsafe: true, Err: err}
	}
	if err := dirSecurityProblem(dir, fi); err != nil {
		return nil, &CacheDirError{Dir: dir, Unsafe: true, Err: err}
	}
	// The directory opened must be the one checked (not something
	// swapped in between the two).
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, &CacheDirError{Dir: dir, Err: err}
	}
	if ofi, err := root.Stat("."); err != nil || !os.SameFile(fi, ofi) {
		root.Close()
		return nil, &CacheDirError{Dir: dir, Unsafe: true, Err: errors.New("changed while it was opened")}
	}
	if maxEntries <= 0 {
		maxEntries = DefaultCacheEntries
	}
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	return &diskCache{dir: dir, root: root, maxEntries: maxEntries, maxBytes: maxBytes, maxFile: maxFile + 4096}, nil
}

// CacheDirError is why a Checker does not use its on-disk revocation cache
// (see Checker.DiskCacheError): the directory could not be made or opened,
// or it is not this user's alone (a symbolic link, another user's, or
// writable by group or others: its files could be someone else's answers,
// and the cache would leak which servers this user checks). Verification
// goes on without it, from memory.
type CacheDirError struct {
	Dir string
	// Unsafe is set when the directory is there but not this user's
	// alone; otherwise it could not be made or opened.
	Unsafe bool
	Err    error
}

func (e *CacheDirError) Error() string {
	if e.Unsafe {
		return fmt.Sprintf("the revocation cache directory %s %v, so it is not used: revocation answers are fetched again by each run", e.Dir, e.Err)
	}
	return fmt.Sprintf("the revocation cache directory %s cannot be used (%v): revocation answers are fetched again by each run", e.Dir, e.Err)
}

func (e *CacheDirError) Unwrap() error { return e.Err }

// Fix says what to do about the directory.
func (e *CacheDirError) Fix() string {
	if e.Unsafe {
		how := "(chmod 700)"
		if !groupOtherBitsMeaningful {
			// Windows: the DACL says who may write (dirSecurityProblem).
			how = "(no other user's access control entry may let them add, replace or delete files in it; icacls " + e.Dir + " lists them)"
		}
		return fmt.Sprintf("make %s a directory of this user's own that only this user can write %s, or remove it so that it is made again; set %s to another directory, or to off to keep answers in memory only", e.Dir, how, RevocationCacheEnv)
	}
	return fmt.Sprintf("check that this user can create and open %s; set %s to another directory, or to off to keep answers in memory only", e.Dir, RevocationCacheEnv)
}

// safeMode says why fi is not something the cache may trust, or nil.
func safeMode(fi os.FileInfo, wantDir bool) error {
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return errors.New("is a symbolic link")
	case wantDir && !fi.IsDir():
		return errors.New("is not a directory")
	case !wantDir && !fi.Mode().IsRegular():
		return errors.New("is not a regular file")
	case !ownedByUser(fi):
		return errors.New("belongs to another user")
	case fi.Mode().Perm()&0o022 != 0 && groupOtherBitsMeaningful:
		return fmt.Errorf("is writable by group or others (mode %v)", fi.Mode().Perm())
	}
	return nil
}

// fileName is the file that holds key.
func fileName(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// get reads the entry of key. ok is false when there is none, or when the
// file cannot be trusted or parsed (it is then ignored, and replaced by the
// next write).
func (d *diskCache) get(key string) (e diskEntry, ok bool) {
	name := fileName(key)
	// The name must not be a symbolic link (the Root would follow one
	// that stays inside the directory), and the file read must be the one
	// checked.
	lfi, err := d.root.Lstat(name)
	if err != nil || safeMode(lfi, false) != nil {
		return e, false
	}
	f, err := d.root.Open(name)
	if err != nil {
		return e, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !os.SameFile(lfi, fi) || safeMode(fi, false) != nil || fi.Size() > d.maxFile {
		return e, false
	}
	// Windows: the file's own owner and DACL (the directory's were
	// checked when the cache was opened; a file keeps the DACL it got).
	if fileSecurityProblem(f) != nil {
		return e, false
	}
	b, err := io.ReadAll(io.LimitReader(f, d.maxFile+1))
	if err != nil || int64(len(b)) > d.maxFile {
		return e, false
	}
	e, err = parseEntry(b, name)
	return e, err == nil
}

// put writes the entry of key atomically: a temporary file in the same
// directory, renamed over the old one, so that a reader sees the old file
// or the new one, never a part. Errors are ignored: the cache only saves
// time.
func (d *diskCache) put(key string, e diskEntry) {
	if int64(len(e.body))+512 > d.maxFile {
		return
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := ".tmp-" + hex.EncodeToString(rnd[:])
	f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return
	}
	_, werr := f.Write(formatEntry(e, fileName(key)))
	if cerr := f.Close(); werr != nil || cerr != nil {
		d.root.Remove(tmp)
		return
	}
	if err := d.root.Rename(tmp, fileName(key)); err != nil {
		d.root.Remove(tmp)
		return
	}
	d.evict(time.Now())
}

// evict removes the oldest files (by modification time) until at most
// maxEntries files and maxBytes bytes remain, and temporary files left by
// writers that died.
func (d *diskCache) evict(now time.Time) {
	df, err := d.root.Open(".")
	if err != nil {
		return
	}
	list, err := df.ReadDir(-1)
	df.Close()
	if err != nil {
		return
	}
	type file struct {
		name string
		size int64
		mod  time.Time
	}
	var files []file
	var total int64
	for _, de := range list {
		fi, err := d.root.Lstat(de.Name())
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if strings.HasPrefix(de.Name(), ".tmp-") {
			if now.Sub(fi.ModTime()) > staleTemp {
				d.root.Remove(de.Name())
			}
			continue
		}
		if len(de.Name()) != 2*sha256.Size {
			continue
		}
		files = append(files, file{de.Name(), fi.Size(), fi.ModTime()})
		total += fi.Size()
	}
	if len(files) <= d.maxEntries && total <= d.maxBytes {
		return
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod.Before(files[j].mod) })
	for i := 0; i < len(files) && (len(files)-i > d.maxEntries || total > d.maxBytes); i++ {
		if d.root.Remove(files[i].name) == nil {
			total -= files[i].size
		}
	}
}

// formatEntry encodes e: a header of text lines, then the body.
//
//	tlsmail revocation cache 1
//	name <the file's own name>
//	kind answer|fetch-fail|check-fail
//	fetched <Unix nanoseconds>
//	until <Unix nanoseconds>
//	size <body length>
//	<empty line>
//	<body>
func formatEntry(e diskEntry, name string) []byte {
	var b bytes.Buffer
	b.WriteString(entryMagic)
	fmt.Fprintf(&b, "name %s\nkind %s\nfetched %d\nuntil %d\nsize %d\n\n", name, e.kind, e.fetched.UnixNano(), e.until.UnixNano(), len(e.body))
	b.Write(e.body)
	return b.Bytes()
}

// parseEntry decodes a file written by formatEntry, strictly: the name
// must be the file's own (a file copied under another name is not another
// query's answer), and the body exactly as long as it says (a truncated
// file is refused).
func parseEntry(b []byte, name string) (diskEntry, error) {
	var e diskEntry
	rest, ok := bytes.CutPrefix(b, []byte(entryMagic))
	if !ok {
		return e, errors.New("not a cache file")
	}
	field := func(label string) (string, error) {
		line, after, ok := bytes.Cut(rest, []byte{'\n'})
		v, found := bytes.CutPrefix(line, []byte(label+" "))
		if !ok || !found || len(v) > 128 {
			return "", fmt.Errorf("no %s line", label)
		}
		rest = after
		return string(v), nil
	}
	num := func(label string) (int64, error) {
		s, err := field(label)
		if err != nil {
			return 0, err
		}
		return strconv.ParseInt(s, 10, 64)
	}
	if n, err := field("name"); err != nil || n != name {
		return e, errors.New("the file is not the one for this query")
	}
	kind, err := field("kind")
	if err != nil {
		return e, err
	}
	switch e.kind = entryKind(kind); e.kind {
	case entryAnswer, entryFetchFail, entryCheckFail:
	default:
		return e, fmt.Errorf("unknown kind %q", kind)
	}
	fetched, err := num("fetched")
	if err != nil {
		return e, err
	}
	until, err := num("until")
	if err != nil {
		return e, err
	}
	size, err := num("size")
	if err != nil {
		return e, err
	}
	body, ok := bytes.CutPrefix(rest, []byte{'\n'})
	if !ok || size < 0 || int64(len(body)) != size {
		return e, errors.New("truncated or overlong")
	}
	if e.kind != entryAnswer && size > maxFailText {
		return e, errors.New("failure text too long")
	}
	e.fetched, e.until, e.body = time.Unix(0, fetched), time.Unix(0, until), body
	return e, nil
}
