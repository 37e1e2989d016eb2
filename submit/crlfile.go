package submit

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/tlsmail/tlsmail/trust"
)

// MaxCRLFile bounds a CRL file (tls_crl_file). A CRL entry weighs 25 to 35
// bytes of DER (by the length of its serial), so 16 MiB holds about 480,000
// to 670,000 revoked certificates: several times the full CRLs of the large
// public CAs, which are a few MB (and CAs that revoke more split their CRLs
// into partitions, RFC 5280 section 5.2.5, each well under this). Parsing
// is done by crypto/x509, which builds every entry: for a 15.7 MiB file of
// 470,000 entries it took 2.4 s, allocated 516 MB and held a 237 MB peak,
// all short-lived and once per process (see CRLCache); what is kept is
// about twice the file's size until the CRL's signature is first checked,
// about its size after (trust.CRL). A larger file is refused with an error
// that says so, rather than holding gigabytes.
const MaxCRLFile = 16 << 20

// CRLCache keeps the CRL files read, parsed and reduced (trust.CRL), so
// that a process connecting again and again (a queue run, the worker, a
// library user) parses each file once: a file is read again only when its
// identity, size or modification time changed (or it was read within
// mtimeTick of that time, when it may have changed since under the same
// one), and one version per path is
// kept, shared by the names of the same file (at most maxCRLPaths names). It is safe for concurrent use; the zero value is ready.
type CRLCache struct {
	mu sync.Mutex
	m  map[string]*crlEntry
	// parses counts the files parsed (for tests).
	parses int
}

// crlEntry is one version of one file: ready is closed once crls or err
// is set.
type crlEntry struct {
	fi os.FileInfo
	// read is when fi was taken, before the file was read.
	read  time.Time
	ready chan struct{}
	crls  []*trust.CRL
	err   error
}

// maxCRLPaths bounds the file names a CRLCache keeps (a process has a
// few CRL files; the names of one file are endless, and a shared queue's
// item chooses its name).
const maxCRLPaths = 256

var defaultCRLCache = sync.OnceValue(func() *CRLCache { return &CRLCache{} })

// DefaultCRLCache returns the CRLCache used when Connector.CRLCache is
// nil: one per process.
func DefaultCRLCache() *CRLCache { return defaultCRLCache() }

func (c *Connector) crlCache() *CRLCache {
	if c.CRLCache != nil {
		return c.CRLCache
	}
	return DefaultCRLCache()
}

// LoadCRLFile reads the certificate revocation lists of path (PEM "X509
// CRL" blocks or one DER CRL, at most MaxCRLFile bytes), to check the
// server's chain against besides the online sources, through
// DefaultCRLCache. See CRLCache.Load.
func LoadCRLFile(path string) ([]*trust.CRL, error) { return DefaultCRLCache().Load(path) }

// Load returns the CRLs of path, parsing the file only when this version
// of it (the same file, size and modification time) was not parsed before.
// The file is opened, and checked, every time: running as root, one
// another user could have written is refused. A file that cannot be read
// is an *Error of Field "crl_file" (or "crl_file_owner"); one that is too
// large or holds no CRL, of Field "crl". A file that failed to parse is
// not parsed again until it changes.
func (c *CRLCache) Load(path string) ([]*trust.CRL, error) {
	read := time.Now()
	f, fi, err := openTrusted(path)
	if oe := ownerError("crl_file", "CRL file", "remove a revocation from it", err); oe != nil {
		return nil, oe
	}
	if err != nil {
		return nil, &Error{Field: "crl_file", Msg: fmt.Sprintf("cannot read the CRL file: %v", err), Err: err,
			Fix: "give the path of a file of certificate revocation lists (tls_crl_file), or remove the setting"}
	}
	defer f.Close()
	if fi.Size() > MaxCRLFile {
		return nil, tooLarge(path, fi.Size())
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*crlEntry{}
	}
	e := c.m[path]
	if e == nil || !e.sameVersion(fi) {
		// Another name of this version of the same file ("d/./f",
		// "d//f": a shared queue's item chooses the name) shares its
		// entry: one parse, one copy.
		e = nil
		for _, o := range c.m {
			if o.sameVersion(fi) {
				e = o
				break
			}
		}
		if len(c.m) >= maxCRLPaths {
			// Names without end: start again rather than keep them all.
			c.m = map[string]*crlEntry{}
		}
	}
	if e != nil && c.m[path] != e {
		c.m[path] = e
	}
	if e == nil {
		e = &crlEntry{fi: fi, read: read, ready: make(chan struct{})}
		c.m[path] = e
		c.parses++
		c.mu.Unlock()
		e.crls, e.err = parseCRLFile(f, path)
		close(e.ready)
	} else {
		c.mu.Unlock()
		<-e.ready
	}
	return e.crls, e.err
}

// mtimeTick is the coarsest modification time clock tlsmail expects of a
// file system (FAT's is 2 seconds; ext3, HFS+ and many network file
// systems count whole seconds).
const mtimeTick = 2 * time.Second

// sameVersion reports whether b describes the version of the file e holds:
// the same file (device and inode on Unix), size and modification time,
// and e read when that modification time was over: a file read within a
// tick of its modification time may have been written again since with
// the same size and time (an in-place rewrite within the same tick), so
// its entry is never reused, however old it is now.
func (e *crlEntry) sameVersion(b os.FileInfo) bool {
	a := e.fi
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime()) && !a.ModTime().IsZero() &&
		e.read.Sub(a.ModTime()) > mtimeTick
}

func parseCRLFile(f *os.File, path string) ([]*trust.CRL, error) {
	data, err := readAtMost(f, path, MaxCRLFile)
	if err != nil {
		return nil, &Error{Field: "crl", Msg: fmt.Sprintf("the CRL file %s: %v", path, err), Err: err,
			Fix: fmt.Sprintf("give a CRL file of at most %d MiB (split a larger one by issuer), or remove the setting and rely on the online revocation check", MaxCRLFile>>20)}
	}
	crls, err := trust.ParseCRLs(data)
	if err != nil {
		return nil, &Error{Field: "crl", Msg: fmt.Sprintf("the CRL file %s: %v", path, err), Err: err,
			Fix: "give a file of complete CRLs (-----BEGIN X509 CRL----- blocks, or one DER CRL): not a delta CRL nor an indirect CRL, which tlsmail does not read; or remove the setting"}
	}
	return crls, nil
}

func tooLarge(path string, size int64) error {
	return &Error{Field: "crl", Msg: fmt.Sprintf("the CRL file %s is %d bytes, more than the %d MiB tlsmail reads", path, size, MaxCRLFile>>20),
		Fix: fmt.Sprintf("give a CRL file of at most %d MiB (split a larger one by issuer), or remove the setting and rely on the online revocation check", MaxCRLFile>>20)}
}
