package schannel

import (
	"context"
	"crypto/tls"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// countedCred is a credentials handle of the fake SSPI that many Conns (each
// with its own fakeSSPI) may share: free zeroes the handle, so that a Conn
// still using it shows up in the fake's misuse list.
type countedCred struct {
	h     secHandle
	freed *atomic.Int32
}

func (c *countedCred) handle() *secHandle { return &c.h }
func (c *countedCred) free() {
	if c.h.isZero() {
		panic("credentials handle freed twice")
	}
	c.h = secHandle{}
	c.freed.Add(1)
}

// credCounter acquires countedCreds and counts acquisitions and frees.
type credCounter struct {
	acquired, freed atomic.Int32
}

func (n *credCounter) acquire() (credHandle, error) {
	n.acquired.Add(1)
	return &countedCred{h: secHandle{lower: fakeCredID}, freed: &n.freed}, nil
}

// sharedConn runs the fake handshake on a Conn whose credential comes from
// cache under key, as Provider.Client does with a shared credential.
func sharedConn(t *testing.T, cache *credCache, key credKey, n *credCounter) (*Conn, *fakeSSPI, net.Conn, bool) {
	t.Helper()
	c, f, peer := fakeConn(t)
	cred, reused, err := cache.get(key, n.acquire)
	if err != nil {
		t.Fatal(err)
	}
	c.cred = cred
	go func() {
		readRecords(peer, nil, func(recs [][]byte) bool { return len(recs) == 1 })
		peer.Write(fakeRecord('S', 0, ""))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	if err := c.handshake(ctx, nil); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.established = true
	c.state.Version = tls.VersionTLS13
	return c, f, peer, reused
}

// TestCredentialSharedAndReleased: two connections with the same settings
// and SessionCache use one credential (Schannel resumes only with the
// handle of the earlier connection), which stays valid for the second when
// the first closes (a TLS 1.3 ticket after that goes through
// InitializeSecurityContext with it), and is kept for a third connection
// made after both closed; it is freed once no connection uses it and the
// cache lets it go, never before. (TestCredentialInUseAfterPeerClose shows
// the second connection using it after the first closed.)
func TestCredentialSharedAndReleased(t *testing.T) {
	cache := newCredCache(maxIdleCredentials)
	var n credCounter
	key := credKey{sessions: tls.NewLRUClientSessionCache(4), min: tls.VersionTLS12}

	c1, _, _, reused1 := sharedConn(t, cache, key, &n)
	c2, _, _, reused2 := sharedConn(t, cache, key, &n)
	if got := n.acquired.Load(); got != 1 || reused1 || !reused2 {
		t.Fatalf("two connections, same settings: %d credentials acquired, reused %v, %v; want 1, false, true", got, reused1, reused2)
	}
	c1.Close()
	if n.freed.Load() != 0 {
		t.Fatal("the shared credential was freed when the first of its two connections closed")
	}
	c2.Close()
	if n.freed.Load() != 0 {
		t.Fatal("the credential was freed when its last connection closed: a later connection could not resume")
	}
	c3, _, _, reused3 := sharedConn(t, cache, key, &n)
	if got := n.acquired.Load(); got != 1 || !reused3 {
		t.Fatalf("a third connection after the first two closed: %d credentials acquired (reused %v); want the first one", got, reused3)
	}
	cache.closeIdle()
	if n.freed.Load() != 0 {
		t.Fatal("closeIdle freed a credential a connection uses")
	}
	c3.Close()
	if n.freed.Load() != 0 {
		t.Fatal("freed at the last Close although still cached")
	}
	cache.closeIdle()
	if got := n.freed.Load(); got != 1 {
		t.Fatalf("after the last Close and closeIdle: %d credentials freed, want 1", got)
	}
	c4, _, _, reused4 := sharedConn(t, cache, key, &n)
	if got := n.acquired.Load(); got != 2 || reused4 {
		t.Fatalf("after closeIdle: %d credentials acquired (reused %v); want a new one", got, reused4)
	}
	c4.Close()
}

// TestCredentialInUseAfterPeerClose drives a TLS 1.3 ticket through the
// second connection after the first closed: the shared handle must still be
// live when InitializeSecurityContext takes it (the fake reports a zeroed
// handle as misuse).
func TestCredentialInUseAfterPeerClose(t *testing.T) {
	cache := newCredCache(maxIdleCredentials)
	var n credCounter
	key := credKey{sessions: tls.NewLRUClientSessionCache(4)}
	c1, _, _, _ := sharedConn(t, cache, key, &n)
	c2, f2, peer, _ := sharedConn(t, cache, key, &n)
	c1.Close()
	before := f2.iscCalls.Load()
	sendRecords(t, peer, fakeRecord('T', 0, ""), fakeRecord('D', 0, "after the ticket"))
	c2.SetReadDeadline(time.Now().Add(hang))
	buf := make([]byte, 64)
	k, err := c2.Read(buf)
	if err != nil || string(buf[:k]) != "after the ticket" {
		t.Fatalf("Read after the ticket: %q, %v", buf[:k], err)
	}
	if f2.iscCalls.Load() == before {
		t.Fatal("the ticket did not go through InitializeSecurityContext: the test shows nothing")
	}
	c2.Close()
}

// TestCredentialNotSharedAcrossSettings: a credential is never shared
// between client identities, SessionCaches or protocol versions.
func TestCredentialNotSharedAcrossSettings(t *testing.T) {
	certA, certB := testCert(t, "client a"), testCert(t, "client b")
	idA, okA := tlsCertIdentity(certA)
	idB, okB := tlsCertIdentity(certB)
	if !okA || !okB || idA == idB {
		t.Fatalf("identities: %q %v, %q %v", idA, okA, idB, okB)
	}
	otherKey := certA
	otherKey.PrivateKey = certB.PrivateKey
	if id, _ := tlsCertIdentity(otherKey); id == idA {
		t.Fatal("the same certificate with another key has the same identity")
	}
	if id, ok := tlsCertIdentity(tls.Certificate{Certificate: certA.Certificate, PrivateKey: struct{}{}}); ok {
		t.Fatalf("a key that cannot be encoded has identity %q; want no sharing", id)
	}
	if again, _ := tlsCertIdentity(certA); again != idA {
		t.Fatal("the identity of one certificate changed between calls")
	}

	sc1, sc2 := tls.NewLRUClientSessionCache(4), tls.NewLRUClientSessionCache(4)
	base := credKey{sessions: sc1, client: idA, min: tls.VersionTLS12}
	for _, tc := range []struct {
		name  string
		other credKey
	}{
		{"another client identity", credKey{sessions: sc1, client: idB, min: tls.VersionTLS12}},
		{"no client certificate", credKey{sessions: sc1, min: tls.VersionTLS12}},
		{"another SessionCache", credKey{sessions: sc2, client: idA, min: tls.VersionTLS12}},
		{"another minimum version", credKey{sessions: sc1, client: idA, min: tls.VersionTLS13}},
		{"another maximum version", credKey{sessions: sc1, client: idA, min: tls.VersionTLS12, max: tls.VersionTLS12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := newCredCache(maxIdleCredentials)
			var n credCounter
			a, _, _, _ := sharedConn(t, cache, base, &n)
			b, _, _, reused := sharedConn(t, cache, tc.other, &n)
			if got := n.acquired.Load(); got != 2 || reused {
				t.Fatalf("%d credentials acquired (second reused: %v); want 2", got, reused)
			}
			if a.cred.handle() == b.cred.handle() {
				t.Fatal("both connections hold the same handle")
			}
			a.Close()
			b.Close()
			cache.closeIdle()
			if got := n.freed.Load(); got != 2 {
				t.Fatalf("%d credentials freed, want 2", got)
			}
		})
	}
}

// TestSessionScope: only a SessionCache that is a non-nil pointer scopes
// sharing; without one every connection gets its own credential.
func TestSessionScope(t *testing.T) {
	var nilLRU *nopCache
	for _, tc := range []struct {
		name  string
		sc    tls.ClientSessionCache
		share bool
	}{
		{"none", nil, false},
		{"LRU", tls.NewLRUClientSessionCache(1), true},
		{"typed nil pointer", nilLRU, false},
		{"value type", valueCache{}, false},
	} {
		if _, ok := sessionScope(tc.sc); ok != tc.share {
			t.Errorf("%s: shares %v, want %v", tc.name, ok, tc.share)
		}
	}
}

type nopCache struct{}

func (*nopCache) Get(string) (*tls.ClientSessionState, bool) { return nil, false }
func (*nopCache) Put(string, *tls.ClientSessionState)        {}

type valueCache struct{ m map[string]int } // not comparable: must never be a map key

func (valueCache) Get(string) (*tls.ClientSessionState, bool) { return nil, false }
func (valueCache) Put(string, *tls.ClientSessionState)        {}

// TestCredentialIdleBound: beyond maxIdle the least recently used idle
// credential is freed; one in use never is.
func TestCredentialIdleBound(t *testing.T) {
	cache := newCredCache(1)
	var n credCounter
	sc := tls.NewLRUClientSessionCache(1)
	held, _, _, _ := sharedConn(t, cache, credKey{sessions: sc, client: "held"}, &n)
	for _, id := range []string{"a", "b", "c"} {
		c, _, _, _ := sharedConn(t, cache, credKey{sessions: sc, client: id}, &n)
		c.Close()
	}
	if got := n.freed.Load(); got != 2 {
		t.Fatalf("3 idle credentials with room for 1: %d freed, want 2", got)
	}
	again, _, _, reused := sharedConn(t, cache, credKey{sessions: sc, client: "held"}, &n)
	if !reused {
		t.Fatal("the credential in use was evicted")
	}
	held.Close()
	again.Close()
}

func testCert(t *testing.T, name string) tls.Certificate {
	t.Helper()
	l, err := testpki.NewSelfSigned(testpki.Options{CommonName: name})
	if err != nil {
		t.Fatal(err)
	}
	return l.TLSCertificate()
}
