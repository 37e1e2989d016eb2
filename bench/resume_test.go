// Package bench holds tlsmail's benchmarks against other tools (run.sh) and
// the in-process benchmarks that need a live server.
package bench

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
)

func startServer(tb testing.TB) *server.Server {
	tb.Helper()
	srv, err := server.Start(context.Background(), server.Config{
		SMTPAddr:  "127.0.0.1:0",
		SMTPSAddr: "127.0.0.1:0",
		Dir:       tb.TempDir(),
		Users:     map[string]string{"bench": "secret-pw"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	return srv
}

// reconnect dials, completes TLS (and AUTH PLAIN, RFC 4954) and quits, and
// reports whether the TLS session was resumed (RFC 8446 section 2.2).
func reconnect(tb testing.TB, ctx context.Context, addr string, mode smtp.TLSMode, cfg *secchan.Config) bool {
	c, err := smtp.Dial(ctx, addr, &smtp.Config{
		Mode:    mode,
		TLS:     cfg,
		Auth:    &smtp.Auth{Mechanism: "PLAIN", Username: "bench", Password: "secret-pw"},
		Timeout: 30 * time.Second,
	})
	if err != nil {
		tb.Fatal(err)
	}
	st, ok := c.TLS()
	if !ok || !st.Verified {
		tb.Fatalf("session not verified TLS: %+v", st.Report)
	}
	if err := c.Quit(ctx); err != nil {
		tb.Fatal(err)
	}
	return st.Resumed
}

// TestResumption checks what BenchmarkReconnect relies on: with a session
// cache the second connection resumes, and is still verified; without one
// it never resumes.
func TestResumption(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		addr  string
		mode  smtp.TLSMode
		cache bool
	}{
		{"starttls/cache", srv.SMTPAddr(), smtp.StartTLS, true},
		{"starttls/no-cache", srv.SMTPAddr(), smtp.StartTLS, false},
		{"implicit/cache", srv.SMTPSAddr(), smtp.Implicit, true},
		{"implicit/no-cache", srv.SMTPSAddr(), smtp.Implicit, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &secchan.Config{ServerName: "127.0.0.1"}
			cfg.Trust.Roots = srv.CAPool()
			if tc.cache {
				cfg.SessionCache = tls.NewLRUClientSessionCache(8)
			}
			if reconnect(t, ctx, tc.addr, tc.mode, cfg) {
				t.Fatal("the first connection claims to be resumed")
			}
			if got := reconnect(t, ctx, tc.addr, tc.mode, cfg); got != tc.cache {
				t.Fatalf("second connection resumed = %v, want %v", got, tc.cache)
			}
		})
	}
}

// reconnectMode is a TLS mode and the server address that speaks it.
type reconnectMode struct {
	name string
	addr string
	mode smtp.TLSMode
}

func reconnectModes(srv *server.Server) []reconnectMode {
	return []reconnectMode{{"starttls", srv.SMTPAddr(), smtp.StartTLS}, {"implicit", srv.SMTPSAddr(), smtp.Implicit}}
}

// clientConfig is the TLS configuration of one kind of connection: with a
// TLS session cache (sessions) and a trust verdict cache (verdict), or not.
func clientConfig(srv *server.Server, sessions, verdict bool) *secchan.Config {
	cfg := &secchan.Config{ServerName: "127.0.0.1"}
	cfg.Trust.Roots = srv.CAPool()
	if sessions {
		cfg.SessionCache = tls.NewLRUClientSessionCache(8)
	}
	if verdict {
		cfg.Trust.Cache = &trust.Cache{}
	}
	return cfg
}

// BenchmarkReconnect measures a whole SMTP session setup (connect, greeting,
// EHLO, STARTTLS or implicit TLS, EHLO, AUTH PLAIN, QUIT): "full" is a
// first contact (full TLS handshake, chain verified), "resumed" uses TLS
// 1.3 resumption from secchan.Config.SessionCache (the chain is verified
// again, by design), "verdict-cached" a full handshake with a trust.Cache
// (the same verdict without redoing the work), and "reconnect" both, as a
// process that reconnects to the same server has them.
// The "resumed/op" metric is the fraction of connections that resumed;
// "cpu-ns/op" is the CPU time of the whole process (client and server) per
// connection, steadier than ns/op when other work shares the machine.
func BenchmarkReconnect(b *testing.B) {
	srv := startServer(b)
	ctx := context.Background()
	for _, mode := range reconnectModes(srv) {
		for _, v := range []struct {
			name              string
			sessions, verdict bool
		}{
			{"full", false, false},
			{"resumed", true, false},
			{"verdict-cached", false, true},
			{"reconnect", true, true},
		} {
			b.Run(mode.name+"/"+v.name, func(b *testing.B) {
				cfg := clientConfig(srv, v.sessions, v.verdict)
				if v.sessions || v.verdict {
					reconnect(b, ctx, mode.addr, mode.mode, cfg) // fill the caches
				}
				b.ReportAllocs()
				resumed := 0
				cpu0 := processCPU()
				for b.Loop() {
					if reconnect(b, ctx, mode.addr, mode.mode, cfg) {
						resumed++
					}
				}
				b.ReportMetric(float64(resumed)/float64(b.N), "resumed/op")
				// CPU time (client and server: one process) is steadier
				// than wall time on a shared machine.
				b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// BenchmarkReconnectInterleaved measures the same four kinds of connection
// as BenchmarkReconnect, but interleaved within one loop: each iteration
// makes one connection of each kind, starting with a different kind each
// time (full, resumed, verdict-cached, reconnect; then resumed, ...), and
// charges each connection's process CPU time and wall time to its kind.
// Drift on a shared machine (another process waking up, the CPU clocking
// down) then falls on all four alike, so their ratios are steadier than
// those of four benchmarks run one after the other; and the server's work
// that spills past a connection's end (its reply to QUIT) is spread
// evenly too. Metrics per connection: "KIND-cpu-ns", "KIND-ns", and
// "reconnect/full" and "resumed/full", "verdict/full" (CPU ratios).
func BenchmarkReconnectInterleaved(b *testing.B) {
	srv := startServer(b)
	ctx := context.Background()
	for _, mode := range reconnectModes(srv) {
		b.Run(mode.name, func(b *testing.B) {
			kinds := []struct {
				name              string
				sessions, verdict bool
				cfg               *secchan.Config
				cpu, wall         time.Duration
				resumed           int
			}{
				{name: "full"},
				{name: "resumed", sessions: true},
				{name: "verdict", verdict: true},
				{name: "reconnect", sessions: true, verdict: true},
			}
			for i := range kinds {
				k := &kinds[i]
				k.cfg = clientConfig(srv, k.sessions, k.verdict)
				reconnect(b, ctx, mode.addr, mode.mode, k.cfg) // fill the caches
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				for j := range kinds {
					k := &kinds[(n+j)%len(kinds)]
					cpu0, t0 := processCPU(), time.Now()
					if reconnect(b, ctx, mode.addr, mode.mode, k.cfg) {
						k.resumed++
					}
					k.wall += time.Since(t0)
					k.cpu += processCPU() - cpu0
				}
				n++
			}
			for i := range kinds {
				k := &kinds[i]
				if (k.sessions && k.resumed != n) || (!k.sessions && k.resumed != 0) {
					b.Fatalf("%s: %d of %d connections resumed", k.name, k.resumed, n)
				}
				b.ReportMetric(float64(k.cpu.Nanoseconds())/float64(n), k.name+"-cpu-ns")
				b.ReportMetric(float64(k.wall.Nanoseconds())/float64(n), k.name+"-ns")
				if i > 0 {
					b.ReportMetric(float64(k.cpu)/float64(kinds[0].cpu), k.name+"/full")
				}
			}
		})
	}
}
