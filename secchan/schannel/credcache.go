package schannel

// Session resumption with Schannel. Schannel keeps its client session cache
// itself and keys each entry by the credentials handle and the target name
// given to InitializeSecurityContext: a connection resumes only if it is made
// with the very handle an earlier connection to the same name used, and the
// entries go when the handle is freed. So a provider that acquires a fresh
// credential for every connection never resumes (curl keeps its credential
// in its session cache for this reason, .NET in its credentials cache).
//
// credCache shares handles between connections that asked for resumption
// (secchan.Config.SessionCache set), kept free of system calls and of a
// build tag so that the tests drive it with the record layer on every OS.

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"reflect"
	"sync"
)

// maxIdleCredentials is how many credentials no connection uses a
// credCache keeps for later connections (each one keeps Schannel's
// sessions made with it). Beyond that the least recently used is freed.
const maxIdleCredentials = 8

// credKey is what makes two connections' credentials interchangeable: the
// same opt-in to resumption (the Config's SessionCache, by identity), the
// same client identity and the same protocol versions. The flags are the
// same for every credential (acquireCredentials).
type credKey struct {
	sessions any    // Config.SessionCache; a pointer, compared by identity
	client   string // clientIdentity; "" for the NULL credential
	min, max uint16 // Config.MinVersion, Config.MaxVersion
}

// sessionScope returns the SessionCache as a credKey.sessions, and false when
// there is none (resumption is off: a credential for this connection only)
// or when it is not a pointer (two values could compare equal without being
// the same cache, or not compare at all).
func sessionScope(sc tls.ClientSessionCache) (any, bool) {
	if sc == nil || reflect.TypeOf(sc).Kind() != reflect.Pointer || reflect.ValueOf(sc).IsNil() {
		return nil, false
	}
	return sc, true
}

// tlsCertIdentity names a client certificate given as a tls.Certificate by
// a SHA-256 over its chain and its private key (so that the same certificate
// with another key, which would fail on its own, never borrows a credential
// that holds the right one). ok is false when the key cannot be encoded: the
// credential is then not shared.
func tlsCertIdentity(tc tls.Certificate) (id string, ok bool) {
	key, err := x509.MarshalPKCS8PrivateKey(tc.PrivateKey)
	if err != nil || len(tc.Certificate) == 0 {
		return "", false
	}
	h := sha256.New()
	for _, der := range tc.Certificate {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(der))))
		h.Write(der)
	}
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(key))))
	h.Write(key)
	return "file:" + hex.EncodeToString(h.Sum(nil)), true
}

// storeCertIdentity names a client certificate opened from a Windows store:
// the store and a SHA-256 of the certificate found there (not the query, so
// that a renewed certificate found by the same subject gets a credential of
// its own).
func storeCertIdentity(where string, der []byte) string {
	sum := sha256.Sum256(der)
	return "store:" + where + ":" + hex.EncodeToString(sum[:])
}

// credCache shares credentials handles between connections with the same
// credKey. A handle is freed when no connection uses it and the cache has
// let it go (evicted beyond maxIdle, or closeIdle); never while a
// connection uses it. Safe for concurrent use.
type credCache struct {
	maxIdle int

	mu      sync.Mutex
	entries map[credKey]*sharedCred
	idle    []*sharedCred // entries no connection uses, least recently used first
}

func newCredCache(maxIdle int) *credCache {
	return &credCache{maxIdle: maxIdle, entries: map[credKey]*sharedCred{}}
}

// sharedCred is one credential and its users.
type sharedCred struct {
	key    credKey
	cred   credHandle
	refs   int  // connections using it
	cached bool // in entries
}

// credRef is one connection's use of a sharedCred; free ends it.
type credRef struct {
	c    *credCache
	s    *sharedCred
	done bool // guarded by the Conn's hmu, as every credHandle call is
}

func (r *credRef) handle() *secHandle { return r.s.cred.handle() }

func (r *credRef) free() {
	if !r.done {
		r.done = true
		r.c.release(r.s)
	}
}

// get returns a reference to the credential for key, calling acquire when
// there is none (with the cache's lock held: two first connections with the
// same key get one credential). reused reports whether an earlier
// connection's credential was returned.
func (c *credCache) get(key credKey, acquire func() (credHandle, error)) (_ credHandle, reused bool, _ error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.entries[key]; s != nil {
		if s.refs == 0 {
			c.removeIdle(s)
		}
		s.refs++
		return &credRef{c: c, s: s}, true, nil
	}
	cred, err := acquire()
	if err != nil {
		return nil, false, err
	}
	s := &sharedCred{key: key, cred: cred, refs: 1, cached: true}
	c.entries[key] = s
	return &credRef{c: c, s: s}, false, nil
}

func (c *credCache) release(s *sharedCred) {
	var free []credHandle
	c.mu.Lock()
	s.refs--
	if s.refs == 0 {
		if s.cached {
			c.idle = append(c.idle, s)
			for len(c.idle) > c.maxIdle {
				old := c.idle[0]
				c.idle = c.idle[1:]
				delete(c.entries, old.key)
				old.cached = false
				free = append(free, old.cred)
			}
		} else {
			free = append(free, s.cred)
		}
	}
	c.mu.Unlock()
	for _, f := range free {
		f.free()
	}
}

func (c *credCache) removeIdle(s *sharedCred) {
	for i, e := range c.idle {
		if e == s {
			c.idle = append(c.idle[:i], c.idle[i+1:]...)
			return
		}
	}
}

// closeIdle frees the credentials no connection uses; those in use stay
// shared and are kept when their last connection ends.
func (c *credCache) closeIdle() {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	for _, s := range idle {
		delete(c.entries, s.key)
		s.cached = false
	}
	c.mu.Unlock()
	for _, s := range idle {
		s.cred.free()
	}
}

// sessionInfoReconnect is SSL_SESSION_RECONNECT in
// SecPkgContext_SessionInfo.dwFlags (SECPKG_ATTR_SESSION_INFO): the
// handshake resumed a cached session.
const sessionInfoReconnect = 1

// sessionInfo is SecPkgContext_SessionInfo.
type sessionInfo struct {
	dwFlags     uint32
	cbSessionID uint32
	sessionID   [32]byte
}
