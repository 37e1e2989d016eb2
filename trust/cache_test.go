package trust

import (
	"crypto/x509"
	"reflect"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// reparse returns new certificate objects with the same bytes, as a new
// TLS connection would hand over.
func reparse(t *testing.T, chain []*x509.Certificate) []*x509.Certificate {
	t.Helper()
	out := make([]*x509.Certificate, len(chain))
	for i, c := range chain {
		var err error
		if out[i], err = x509.ParseCertificate(c.Raw); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// sameVerdict fails unless a and b say the same thing.
func sameVerdict(t *testing.T, got, want Report) {
	t.Helper()
	if !reflect.DeepEqual(got.Problems, want.Problems) || got.Trusted != want.Trusted ||
		!reflect.DeepEqual(got.PathIndex, want.PathIndex) || !reflect.DeepEqual(got.Revocation, want.Revocation) ||
		len(got.Path) != len(want.Path) || (got.Anchor == nil) != (want.Anchor == nil) {
		t.Errorf("cached verdict differs:\n got %+v\nwant %+v", got, want)
	}
}

func namesRevocationSource(certs []*x509.Certificate) bool {
	for _, c := range certs {
		if len(c.OCSPServer) > 0 || len(c.CRLDistributionPoints) > 0 {
			return true
		}
	}
	return false
}

// For every broken kind and for a good chain, the Report a Cache returns
// the second time is the one VerifyContext returns, bound to the new
// certificate objects; it is reused unless revocation data is involved.
func TestCacheGivesTheSameVerdict(t *testing.T) {
	scenarios, err := testpki.BrokenScenarios()
	if err != nil {
		t.Fatal(err)
	}
	p, err := testpki.NewPKI(nil, testpki.LoopbackIPs())
	if err != nil {
		t.Fatal(err)
	}
	type tc struct {
		name  string
		chain []*x509.Certificate
		opts  Options
	}
	cases := []tc{{"good", p.Server.Chain, Options{Roots: p.Root.Pool(), Name: "127.0.0.1"}}}
	for _, s := range scenarios {
		cases = append(cases, tc{s.Variant, s.Chain, Options{Roots: s.Pool(), Name: s.Name, Pins: s.Pins}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Time = time.Now()
			want := Verify(c.chain, c.opts)
			cache := &Cache{}
			opts := c.opts
			opts.Cache = cache
			first := Verify(reparse(t, c.chain), opts)
			sameVerdict(t, first, want)
			again := reparse(t, c.chain)
			opts.Time = opts.Time.Add(time.Second)
			second := Verify(again, opts)
			sameVerdict(t, second, want)
			for i := range again {
				if second.Chain[i] != again[i] {
					t.Fatalf("the cached report's chain[%d] is not the certificate given", i)
				}
			}
			for i, c := range second.Path {
				if c != second.Certificates()[second.PathIndex[i]] {
					t.Fatalf("path[%d] is not certificates[PathIndex[%d]]", i, i)
				}
			}
			wantHit := !namesRevocationSource(want.Certificates())
			if got := cache.hits == 1; got != wantHit {
				t.Errorf("reused = %v, want %v", got, wantHit)
			}
		})
	}
}

// A verdict is not reused when anything it depends on differs: another
// name, other roots, pins, a time past a certificate's expiry or inside
// the expiry warning, a stapled OCSP response, or a certificate that
// names a revocation source (while revocation is checked).
func TestCacheMisses(t *testing.T) {
	p, err := testpki.NewPKI(nil, testpki.LoopbackIPs())
	if err != nil {
		t.Fatal(err)
	}
	other, err := testpki.NewPKI(nil, testpki.LoopbackIPs())
	if err != nil {
		t.Fatal(err)
	}
	withCRL, err := p.Intermediate.Issue(testpki.Options{CommonName: "crl", IPAddresses: testpki.LoopbackIPs(),
		CRLDistributionPoints: []string{"http://127.0.0.1:1/crl"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	base := Options{Roots: p.Root.Pool(), Name: "127.0.0.1", Time: now}
	leaf := p.Server.Chain[0]
	tests := []struct {
		name   string
		chain  []*x509.Certificate
		first  Options
		second func(Options) Options
		want   Kind // a problem the second verdict must have; "" for none
	}{
		{"other name", p.Server.Chain, base, func(o Options) Options { o.Name = "other.example"; return o }, KindNameMismatch},
		{"other roots", p.Server.Chain, base, func(o Options) Options { o.Roots = other.Root.Pool(); return o }, KindUntrustedRoot},
		{"pins", p.Server.Chain, base, func(o Options) Options {
			o.Pins = []string{"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
			return o
		}, KindPinMismatch},
		{"after expiry", p.Server.Chain, base, func(o Options) Options { o.Time = leaf.NotAfter.Add(time.Hour); return o }, KindExpired},
		{"inside the expiry warning", p.Server.Chain, base, func(o Options) Options { o.Time = leaf.NotAfter.Add(-24 * time.Hour); return o }, KindExpiringSoon},
		{"stapled OCSP", p.Server.Chain, func() Options { o := base; o.StapledOCSP = []byte("not OCSP"); return o }(),
			func(o Options) Options { return o }, ""},
		{"revocation source", withCRL.Chain, base, func(o Options) Options { return o }, KindRevocationUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := &Cache{}
			o1 := tt.first
			o1.Cache = cache
			Verify(tt.chain, o1)
			o2 := tt.second(o1)
			got := Verify(reparse(t, tt.chain), o2)
			if cache.hits != 0 {
				t.Errorf("a cached verdict was reused")
			}
			o2.Cache = nil
			sameVerdict(t, got, Verify(tt.chain, o2))
			if tt.want != "" && !got.Has(tt.want) {
				t.Errorf("want a %s problem, got %v", tt.want, got.Problems)
			}
		})
	}
}

// The cache keeps at most Size verdicts.
func TestCacheSize(t *testing.T) {
	cache := &Cache{Size: 2}
	p, err := testpki.NewPKI(nil, testpki.LoopbackIPs())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"127.0.0.1", "a.example", "b.example", "c.example"} {
		Verify(p.Server.Chain, Options{Roots: p.Root.Pool(), Name: name, Cache: cache})
	}
	if n := len(cache.m); n != 2 {
		t.Errorf("%d verdicts kept, want 2", n)
	}
}
