package trust

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// writerEnv makes the test binary a cache writer for
// TestCacheConcurrentWriters ("DIR ID").
const writerEnv = "TLSMAIL_TEST_REVCACHE_WRITER"

func TestMain(m *testing.M) {
	if w := os.Getenv(writerEnv); w != "" {
		dir, id, _ := strings.Cut(w, " ")
		n, _ := strconv.Atoi(id)
		os.Exit(writeMany(dir, n))
	}
	// Checkers without a CacheDir (the tests' &Checker{} and the process
	// default) find no usable cache directory: the tests never touch the
	// user's cache, and each keeps its in-memory semantics. The tests of
	// the disk cache name their own directories.
	tmp, err := os.MkdirTemp("", "trust-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	blocker := filepath.Join(tmp, "not-a-dir")
	os.WriteFile(blocker, nil, 0o600)
	os.Setenv("XDG_CACHE_HOME", filepath.Join(blocker, "cache"))
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// cacheFileOf is the file that holds the CRL of url as issued by issuer.
func cacheFileOf(dir, url string, issuer *x509.Certificate) string {
	return filepath.Join(dir, fileName(crlQuery(url, issuer).key))
}

// goodCRLScenario is a chain whose leaf names one CRL (valid for a day),
// and a fresh cache directory.
func goodCRLScenario(t *testing.T) (s *testpki.Scenario, dir, file string) {
	t.Helper()
	s = revocationScenario(t, "revocation-good")
	dir = t.TempDir()
	return s, dir, cacheFileOf(dir, s.Responder.CRLURL, s.Chain[1])
}

// verifyGood verifies s with c and fails unless the leaf's status is good
// from its CRL.
func verifyGood(t *testing.T, s *testpki.Scenario, c *Checker) Report {
	t.Helper()
	opts := Options{Roots: s.Pool(), Name: s.Name, Checker: c}
	r := Verify(s.Chain, opts)
	checkInvariants(t, s.Chain, opts, r)
	if len(r.Problems) != 0 || len(r.Revocation) == 0 || r.Revocation[0].Status != StatusGood {
		t.Fatalf("want a good status, got %v %+v", r.Problems, r.Revocation)
	}
	return r
}

// TestCacheAcrossCheckers: an answer one Checker fetched serves another
// Checker with the same CacheDir (another process) without a fetch, for
// a good status and for a revocation alike.
func TestCacheAcrossCheckers(t *testing.T) {
	s, dir, file := goodCRLScenario(t)
	verifyGood(t, s, &Checker{CacheDir: dir})
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("no cache file: %v", err)
	}
	for i := 0; i < 3; i++ {
		verifyGood(t, s, &Checker{CacheDir: dir})
	}
	if n := s.Responder.Hits("/crl"); n != 1 {
		t.Errorf("%d fetches by four checkers sharing a cache, want 1", n)
	}
	// Without the disk cache, a new Checker fetches again.
	verifyGood(t, s, &Checker{NoDiskCache: true})
	if n := s.Responder.Hits("/crl"); n != 2 {
		t.Errorf("NoDiskCache: %d fetches, want 2", n)
	}

	rv := revocationScenario(t, "revoked-ocsp")
	for i := 0; i < 2; i++ {
		r := Verify(rv.Chain, Options{Roots: rv.Pool(), Checker: &Checker{CacheDir: dir}})
		if !r.Has(KindRevoked) || !strings.HasPrefix(r.Revocation[0].Source, "OCSP responder") {
			t.Fatalf("round %d: %v %+v", i, r.Problems, r.Revocation)
		}
	}
	if n := rv.Responder.Hits("/ocsp"); n != 1 {
		t.Errorf("revoked: %d OCSP requests, want 1", n)
	}
}

// TestCacheExpiry: an answer is not used past its nextUpdate, even when
// the file claims a later end, and is then fetched again.
func TestCacheExpiry(t *testing.T) {
	s, dir, file := goodCRLScenario(t)
	verifyGood(t, s, &Checker{CacheDir: dir})
	// The file says "reuse for ten years"; the CRL's nextUpdate (a day)
	// decides.
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	e, err := parseEntry(b, filepath.Base(file))
	if err != nil {
		t.Fatal(err)
	}
	e.until = time.Now().Add(10 * 365 * 24 * time.Hour)
	if err := os.WriteFile(file, formatEntry(e, filepath.Base(file)), 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(23 * time.Hour)
	verifyGood(t, s, &Checker{CacheDir: dir, now: func() time.Time { return later }})
	if n := s.Responder.Hits("/crl"); n != 1 {
		t.Fatalf("before nextUpdate: %d fetches, want 1", n)
	}
	past := time.Now().Add(25 * time.Hour)
	verifyGood(t, s, &Checker{CacheDir: dir, now: func() time.Time { return past }})
	if n := s.Responder.Hits("/crl"); n != 2 {
		t.Errorf("past nextUpdate: %d fetches, want 2 (refetched)", n)
	}
}

// TestCacheCorruption: a garbled, truncated, empty or forged cache file is
// ignored (no crash, no wrong answer) and the answer fetched again.
func TestCacheCorruption(t *testing.T) {
	other, err := testpki.NewRoot(testpki.Options{CommonName: "Other CA"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		corrupt func(t *testing.T, b []byte, name string) []byte
	}{
		{"garbage", func(*testing.T, []byte, string) []byte { return []byte("\x00\xffnot a cache file at all") }},
		{"empty", func(*testing.T, []byte, string) []byte { return nil }},
		{"truncated", func(_ *testing.T, b []byte, _ string) []byte { return b[:len(b)-10] }},
		{"header only", func(_ *testing.T, b []byte, _ string) []byte { return b[:bytes.Index(b, []byte("\n\n"))+2] }},
		{"body flipped", func(_ *testing.T, b []byte, _ string) []byte {
			c := bytes.Clone(b)
			c[len(c)-20] ^= 0x55
			return c
		}},
		{"another query's file", func(_ *testing.T, b []byte, _ string) []byte {
			return bytes.Replace(b, []byte("name "), []byte("name 0"), 1)
		}},
		{"forged CRL", func(t *testing.T, b []byte, name string) []byte {
			// A well-formed file whose CRL names the right issuer but
			// is signed by another CA: the signature is checked again.
			e, err := parseEntry(b, name)
			if err != nil {
				t.Fatal(err)
			}
			rl, err := x509.ParseRevocationList(e.body)
			if err != nil {
				t.Fatal(err)
			}
			impostor := *other.Cert
			impostor.RawSubject = rl.RawIssuer
			impostor.Subject = rl.Issuer
			der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(9),
				ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(time.Hour)}, &impostor, other.Key)
			if err != nil {
				t.Fatal(err)
			}
			e.body = der
			return formatEntry(e, name)
		}},
		{"failure text as answer", func(_ *testing.T, b []byte, name string) []byte {
			e, _ := parseEntry(b, name)
			e.kind = entryAnswer
			e.body = []byte("fetching http://x: HTTP 503")
			return formatEntry(e, name)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir, file := goodCRLScenario(t)
			verifyGood(t, s, &Checker{CacheDir: dir})
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, tt.corrupt(t, b, filepath.Base(file)), 0o600); err != nil {
				t.Fatal(err)
			}
			verifyGood(t, s, &Checker{CacheDir: dir})
			if n := s.Responder.Hits("/crl"); n != 2 {
				t.Errorf("%d fetches, want 2 (the corrupted file ignored)", n)
			}
			// The fetch replaced the file with a good one.
			b, err = os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parseEntry(b, filepath.Base(file)); err != nil {
				t.Errorf("the file was not replaced: %v", err)
			}
		})
	}
}

// TestCacheHostileFile: a cache file that is a symbolic link, that group
// or others may write, or that another user owns, is ignored; so is the
// whole cache when its directory is such.
func TestCacheHostileFile(t *testing.T) {
	tests := []struct {
		name   string
		attack func(t *testing.T, dir, file string)
	}{
		{"mode 0666", func(t *testing.T, _, file string) {
			if err := os.Chmod(file, 0o666); err != nil {
				t.Fatal(err)
			}
		}},
		{"mode 0620", func(t *testing.T, _, file string) {
			if err := os.Chmod(file, 0o620); err != nil {
				t.Fatal(err)
			}
		}},
		{"symlink", func(t *testing.T, _, file string) {
			elsewhere := filepath.Join(t.TempDir(), "planted")
			if err := os.Rename(file, elsewhere); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, file); err != nil {
				t.Fatal(err)
			}
		}},
		{"another owner", func(t *testing.T, _, file string) {
			if os.Geteuid() != 0 {
				t.Skip("changing a file's owner needs root")
			}
			if err := os.Chown(file, 4242, 4242); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir, file := goodCRLScenario(t)
			verifyGood(t, s, &Checker{CacheDir: dir})
			tt.attack(t, dir, file)
			verifyGood(t, s, &Checker{CacheDir: dir})
			if n := s.Responder.Hits("/crl"); n != 2 {
				t.Errorf("%d fetches, want 2 (the hostile file ignored)", n)
			}
		})
	}

	dirTests := []struct {
		name   string
		attack func(t *testing.T, dir string) string // returns the CacheDir to use
	}{
		{"directory mode 0777", func(t *testing.T, dir string) string {
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			return dir
		}},
		{"directory symlink", func(t *testing.T, dir string) string {
			link := filepath.Join(t.TempDir(), "link")
			if err := os.Symlink(dir, link); err != nil {
				t.Fatal(err)
			}
			return link
		}},
		{"directory of another owner", func(t *testing.T, dir string) string {
			if os.Geteuid() != 0 {
				t.Skip("changing a directory's owner needs root")
			}
			if err := os.Chown(dir, 4242, 4242); err != nil {
				t.Fatal(err)
			}
			return dir
		}},
	}
	for _, tt := range dirTests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir, _ := goodCRLScenario(t)
			dir = filepath.Join(dir, "cache")
			verifyGood(t, s, &Checker{CacheDir: dir})
			use := tt.attack(t, dir)
			c := &Checker{CacheDir: use}
			verifyGood(t, s, c)
			if n := s.Responder.Hits("/crl"); n != 2 {
				t.Errorf("%d fetches, want 2 (the hostile directory ignored)", n)
			}
			if c.disk != nil {
				t.Errorf("the cache in %s was used", use)
			}
			// The reason is surfaced, typed, naming the directory.
			var ce *CacheDirError
			if err := c.DiskCacheError(); !errors.As(err, &ce) || !ce.Unsafe || ce.Dir != use || !strings.Contains(err.Error(), use) {
				t.Errorf("DiskCacheError() = %v, want an unsafe *CacheDirError naming %s", err, use)
			}
			t.Log(c.DiskCacheError())
		})
	}
}

// TestCacheNegative: a responder that fails is asked once within the
// failure window, by every Checker sharing the cache, and again after it.
func TestCacheNegative(t *testing.T) {
	srv := newRawHTTP(t, reply("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"))
	root, err := testpki.NewRoot(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := root.Issue(testpki.Options{DNSNames: []string{"localhost"}, CRLDistributionPoints: []string{srv.URL + "/crl"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	check := func(c *Checker) RevocationResult {
		t.Helper()
		r := Verify(leaf.Chain, Options{Roots: root.Pool(), Name: "localhost", Checker: c})
		if !r.Has(KindRevocationUnknown) || len(r.Revocation) != 1 || !strings.Contains(r.Revocation[0].Detail, "503") {
			t.Fatalf("want an unknown status naming the 503, got %v %+v", r.Problems, r.Revocation)
		}
		return r.Revocation[0]
	}
	check(&Checker{CacheDir: dir})
	for i := 0; i < 3; i++ {
		res := check(&Checker{CacheDir: dir})
		if !strings.Contains(res.Detail, "remembered") {
			t.Errorf("detail %q does not say the failure is remembered", res.Detail)
		}
	}
	if n := len(srv.requests()); n != 1 {
		t.Errorf("the dead responder was asked %d times within the window, want 1", n)
	}
	later := time.Now().Add(failureTTL + time.Second)
	check(&Checker{CacheDir: dir, now: func() time.Time { return later }})
	if n := len(srv.requests()); n != 2 {
		t.Errorf("after the window: %d requests, want 2", n)
	}
}

// TestCacheBounded: the cache keeps at most CacheEntries files and
// CacheBytes bytes, dropping the oldest.
func TestCacheBounded(t *testing.T) {
	dir := t.TempDir()
	d, err := openDiskCache(dir, 3, 1<<20, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour)
	for i := 0; i < 5; i++ {
		key := fmt.Sprintf("k%d", i)
		d.put(key, diskEntry{kind: entryAnswer, fetched: time.Now(), until: time.Now().Add(time.Hour), body: []byte(key)})
		// Distinct ages, whatever the file system's clock resolution.
		os.Chtimes(filepath.Join(dir, fileName(key)), base.Add(time.Duration(i)*time.Minute), base.Add(time.Duration(i)*time.Minute))
	}
	d.evict(time.Now())
	for i := 0; i < 5; i++ {
		_, ok := d.get(fmt.Sprintf("k%d", i))
		if want := i >= 2; ok != want {
			t.Errorf("k%d kept %v, want %v", i, ok, want)
		}
	}
	d.maxBytes = 500 // each file is about 200 bytes
	d.evict(time.Now())
	if list, _ := os.ReadDir(dir); len(list) != 2 {
		t.Errorf("%d files under a 500-byte bound, want 2", len(list))
	}
	// A leftover temporary file of a dead writer goes once it is stale.
	tmp := filepath.Join(dir, ".tmp-123")
	os.WriteFile(tmp, []byte("partial"), 0o600)
	d.evict(time.Now())
	if _, err := os.Stat(tmp); err != nil {
		t.Errorf("a fresh temporary file was removed: %v", err)
	}
	d.evict(time.Now().Add(2 * staleTemp))
	if _, err := os.Stat(tmp); err == nil {
		t.Error("a stale temporary file was kept")
	}
}

// writerBody is what writer id writes: its own byte, at its own length, so
// that a torn or interleaved file cannot pass for any writer's.
func writerBody(id int) []byte {
	return bytes.Repeat([]byte{byte('a' + id)}, 1000+id*337)
}

const (
	sharedKey      = "ocsp http://shared.test/ key"
	writesPerRound = 50
)

// writeMany writes the shared key writesPerRound times (a writer process).
func writeMany(dir string, id int) int {
	d, err := openDiskCache(dir, 100, 1<<20, 1<<20)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := 0; i < writesPerRound; i++ {
		d.put(sharedKey, diskEntry{kind: entryAnswer, fetched: time.Now(), until: time.Now().Add(time.Hour), body: writerBody(id)})
	}
	return 0
}

// TestCacheConcurrentWriters: goroutines and two other processes write the
// same key while readers read it: every read finds one writer's whole
// entry, and no temporary file is left behind.
func TestCacheConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	d, err := openDiskCache(dir, 100, 1<<20, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var procs []*exec.Cmd
	for id := 10; id < 12; id++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", writerEnv, dir, id))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
	}
	valid := map[string]bool{}
	for id := 0; id < 12; id++ {
		valid[string(writerBody(id))] = true
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var reads, bad int
	var mu sync.Mutex
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				e, ok := d.get(sharedKey)
				mu.Lock()
				if ok {
					reads++
					if !valid[string(e.body)] {
						bad++
					}
				}
				mu.Unlock()
			}
		}()
	}
	var writers sync.WaitGroup
	for id := 0; id < 6; id++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := 0; i < writesPerRound; i++ {
				d.put(sharedKey, diskEntry{kind: entryAnswer, fetched: time.Now(), until: time.Now().Add(time.Hour), body: writerBody(id)})
			}
		}()
	}
	writers.Wait()
	for _, p := range procs {
		if err := p.Wait(); err != nil {
			t.Errorf("writer process: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	if bad != 0 {
		t.Errorf("%d of %d reads found a torn or mixed entry", bad, reads)
	}
	if reads == 0 {
		t.Error("no read found an entry")
	}
	e, ok := d.get(sharedKey)
	if !ok || !valid[string(e.body)] {
		t.Errorf("the final entry is not one writer's")
	}
	list, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range list {
		if de.Name() != fileName(sharedKey) {
			t.Errorf("left behind: %s", de.Name())
		}
	}
	t.Logf("%d reads while 6 goroutines and 2 processes wrote %d times each", reads, writesPerRound)
}

// TestRevocationSourcesConcurrent: the CRL and OCSP URLs of a certificate,
// and the URLs of the chain's certificates, are asked at the same time:
// the responder sees every request before it answers any.
func TestRevocationSourcesConcurrent(t *testing.T) {
	t.Setenv("http_proxy", "")
	t.Setenv("HTTP_PROXY", "")
	root, err := testpki.NewRoot(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const want = 3 // the leaf's CRL and OCSP, the intermediate's CRL
	var (
		mu       sync.Mutex
		arrived  int
		all      = make(chan struct{})
		answered bool
	)
	var ia *testpki.Authority
	var leafSerial *big.Int
	var srv *rawHTTP
	srv = newRawHTTP(t, func(c net.Conn, r *seenRequest) {
		mu.Lock()
		if arrived++; arrived == want {
			close(all)
		}
		early := answered
		mu.Unlock()
		if early {
			t.Errorf("request %q arrived after an answer was sent", r.line)
		}
		select {
		case <-all:
		case <-time.After(3 * time.Second):
			t.Errorf("request %q waited in vain for the others: the sources are asked one after the other", r.line)
		}
		mu.Lock()
		answered = true
		mu.Unlock()
		var der []byte
		var err error
		now := time.Now()
		switch {
		case strings.HasPrefix(r.line, "GET /int-crl "):
			der, err = x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
				ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour)}, root.Cert, root.Key)
		case strings.HasPrefix(r.line, "GET /leaf-crl "):
			der, err = x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
				ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour)}, ia.Cert, ia.Key)
		case strings.HasPrefix(r.line, "POST /leaf-ocsp "):
			der, err = ocsp.CreateResponse(ia.Cert, ia.Cert, ocsp.Response{Status: ocsp.Good, SerialNumber: leafSerial,
				ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour)}, ia.Key)
		default:
			io.WriteString(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
			return
		}
		if err != nil {
			t.Error(err)
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(der))
		c.Write(der)
	})
	ia, err = root.NewIntermediate(testpki.Options{CRLDistributionPoints: []string{srv.URL + "/int-crl"}})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ia.Issue(testpki.Options{DNSNames: []string{"localhost"},
		CRLDistributionPoints: []string{srv.URL + "/leaf-crl"}, OCSPServer: []string{srv.URL + "/leaf-ocsp"}})
	if err != nil {
		t.Fatal(err)
	}
	leafSerial = leaf.Cert.SerialNumber
	opts := Options{Roots: root.Pool(), Name: "localhost", Revocation: RevocationStrict, Checker: &Checker{NoDiskCache: true}}
	r := Verify(leaf.Chain, opts)
	checkInvariants(t, leaf.Chain, opts, r)
	if len(r.Problems) != 0 || len(r.Revocation) != 2 {
		t.Fatalf("want two good statuses, got %v %+v", r.Problems, r.Revocation)
	}
	for _, res := range r.Revocation {
		if res.Status != StatusGood {
			t.Errorf("%+v", res)
		}
	}
	// The leaf's CRL and OCSP both answered; whichever came first was
	// taken, the other's request was still made.
	if n := len(srv.requests()); n != want {
		t.Errorf("%d requests, want %d", n, want)
	}
}

// TestRevocationFirstAnswerWins: a responder that never answers does not
// hold up a certificate whose other source answers.
func TestRevocationFirstAnswerWins(t *testing.T) {
	t.Setenv("http_proxy", "")
	t.Setenv("HTTP_PROXY", "")
	s := revocationScenario(t, "revoked-ocsp")
	stalled := newRawHTTP(t, stall(""))
	// The same issuer, one more leaf: a stalled CRL URL first, then the
	// working OCSP responder that says revoked.
	ia := s.Responder.CA
	leaf, err := ia.Issue(testpki.Options{DNSNames: []string{"localhost"},
		CRLDistributionPoints: []string{stalled.URL + "/crl"}, OCSPServer: []string{s.Responder.OCSPURL}})
	if err != nil {
		t.Fatal(err)
	}
	s.Responder.Revoke(leaf.Cert, ocsp.KeyCompromise)
	began := time.Now()
	r := Verify(leaf.Chain, Options{Roots: s.Pool(), Name: "localhost", Checker: &Checker{NoDiskCache: true, Timeout: time.Minute}})
	// An upper bound against waiting for the stalled URL's minute.
	if took := time.Since(began); took > 30*time.Second {
		t.Errorf("took %v: the stalled CRL URL held up the OCSP answer", took)
	}
	if !r.Has(KindRevoked) || r.Revocation[0].Source != "OCSP responder at "+s.Responder.OCSPURL {
		t.Errorf("%v %+v", r.Problems, r.Revocation)
	}
}

// TestStapleFirst: a good stapled response settles the leaf without a
// fetch.
func TestStapleFirst(t *testing.T) {
	s := revocationScenario(t, "revocation-good")
	staple, err := s.Responder.OCSPResponse(s.Chain[0])
	if err != nil {
		t.Fatal(err)
	}
	r := Verify(s.Chain, Options{Roots: s.Pool(), Name: s.Name, StapledOCSP: staple, Checker: &Checker{NoDiskCache: true}})
	if len(r.Problems) != 0 || r.Revocation[0].Source != "stapled OCSP response" {
		t.Fatalf("%v %+v", r.Problems, r.Revocation)
	}
	if n := s.Responder.Hits("/crl"); n != 0 {
		t.Errorf("%d CRL fetches despite a good staple", n)
	}
}

// TestCheckerContextCancelNotCached is TestRevocationHonoursContext for the
// disk: a cancelled attempt writes nothing.
func TestCheckerContextCancelNotCached(t *testing.T) {
	s, dir, file := goodCRLScenario(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	VerifyContext(ctx, s.Chain, Options{Roots: s.Pool(), Checker: &Checker{CacheDir: dir}})
	if _, err := os.Stat(file); err == nil {
		t.Error("a cancelled fetch was written to the cache")
	}
	verifyGood(t, s, &Checker{CacheDir: dir})
}

// TestCheckerMemoryBounded: the in-memory cache (the process's default
// Checker lives as long as the program) holds at most maxMemEntries
// answers, dropping expired ones first.
func TestCheckerMemoryBounded(t *testing.T) {
	c := &Checker{NoDiskCache: true}
	now := time.Now()
	c.now = func() time.Time { return now }
	c.remember("old", &fetched{until: now.Add(-time.Second)})
	c.remember("fresh", &fetched{until: now.Add(time.Hour)})
	for i := 0; i < 3*maxMemEntries; i++ {
		c.remember(fmt.Sprintf("k%d", i), &fetched{until: now.Add(time.Hour)})
		if n := len(c.cache); n > maxMemEntries {
			t.Fatalf("%d entries after %d answers, want at most %d", n, i+3, maxMemEntries)
		}
		if i == maxMemEntries-3 {
			// The cache just filled up: the next answer evicts the expired one.
			c.remember("next", &fetched{until: now.Add(time.Hour)})
			if _, ok := c.cache["old"]; ok {
				t.Error("an expired entry was kept while a fresh one was dropped")
			}
			if _, ok := c.cache["fresh"]; !ok {
				t.Error("a fresh entry was dropped while an expired one could go")
			}
		}
	}
}

// TestDiskCacheErrorOnlyWhenRefused: DiskCacheError is nil while the cache
// is used, before any check needed it, and when it is off (NoDiskCache,
// RevocationCacheEnv=off); a directory that cannot be made (its parent is
// a file) is a *CacheDirError that is not Unsafe. Every verdict is good.
func TestDiskCacheErrorOnlyWhenRefused(t *testing.T) {
	s, dir, _ := goodCRLScenario(t)
	c := &Checker{CacheDir: dir}
	if err := c.DiskCacheError(); err != nil {
		t.Errorf("before any check: %v", err)
	}
	verifyGood(t, s, c)
	if err := c.DiskCacheError(); err != nil || c.disk == nil {
		t.Errorf("a private directory: %v (in use: %v)", err, c.disk != nil)
	}
	c = &Checker{CacheDir: dir, NoDiskCache: true}
	verifyGood(t, s, c)
	if err := c.DiskCacheError(); err != nil {
		t.Errorf("NoDiskCache: %v", err)
	}
	t.Setenv(RevocationCacheEnv, "off")
	c = &Checker{}
	verifyGood(t, s, c)
	if err := c.DiskCacheError(); err != nil {
		t.Errorf("%s=off: %v", RevocationCacheEnv, err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c = &Checker{CacheDir: filepath.Join(file, "cache")}
	verifyGood(t, s, c)
	var ce *CacheDirError
	if err := c.DiskCacheError(); !errors.As(err, &ce) || ce.Unsafe || ce.Dir != c.CacheDir || ce.Fix() == "" {
		t.Errorf("a directory that cannot be made: %v, want a *CacheDirError that is not Unsafe", err)
	}
}
