package certinfo

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/trust"
)

func allScenarios(t *testing.T) []*testpki.Scenario {
	t.Helper()
	out, err := testpki.BrokenScenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"revoked", "revoked-ocsp", "revocation-unknown"} {
		s, err := testpki.NewRevocationScenario(v)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		out = append(out, s)
	}
	return out
}

// lines returns the non-empty lines of out, trimmed.
func lines(out string) []string {
	var ls []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			ls = append(ls, l)
		}
	}
	return ls
}

func section(ls []string, title string) []string {
	var out []string
	in := false
	for _, l := range ls {
		switch {
		case l == title:
			in = true
		case strings.HasSuffix(l, ":") && !strings.Contains(l, " "):
			in = false
		case in:
			out = append(out, l)
		}
	}
	return out
}

// TestVerifyFileEveryKind runs every scenario through 'cert verify' as
// the CLI will: files on disk, flags as strings, then both renderings.
func TestVerifyFileEveryKind(t *testing.T) {
	for _, s := range allScenarios(t) {
		t.Run(s.Variant, func(t *testing.T) {
			dir := t.TempDir()
			ca, chain, _, err := s.WriteFiles(dir)
			if err != nil {
				t.Fatal(err)
			}
			res, err := verifyFiles(chain, ca, trust.Options{Name: s.Name, Pins: s.Pins})
			if err != nil {
				t.Fatal(err)
			}
			wantOK := s.Kind == string(trust.KindExpiringSoon) || s.Kind == string(trust.KindRevocationUnknown)
			if res.OK != wantOK {
				t.Errorf("OK = %v, want %v: %v", res.OK, wantOK, res.Problems)
			}
			var prob *trust.Problem
			for i := range res.Problems {
				if string(res.Problems[i].Kind) == s.Kind {
					prob = &res.Problems[i]
					break
				}
			}
			if prob == nil {
				t.Fatalf("no %s in %v", s.Kind, res.Problems)
			}

			var buf bytes.Buffer
			if err := res.WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			ls := lines(out)
			verdict := "FAIL: the certificate chain for " + s.Name + " is not trusted"
			if wantOK {
				verdict = "OK: the certificate chain for " + s.Name + " is trusted (1 warning)"
			}
			if ls[0] != verdict && !(wantOK && strings.HasPrefix(ls[0], "OK:")) {
				if !strings.HasPrefix(ls[0], verdict) {
					t.Errorf("verdict %q, want %q", ls[0], verdict)
				}
			}
			// The tree marks the certificate the problem is in.
			tree := section(ls, "Chain:")
			mark := MarkError
			if prob.Severity == trust.SeverityWarning {
				mark = MarkWarning
			}
			if prob.Cert >= 0 {
				re := regexp.MustCompile(regexp.QuoteMeta(mark) + ` \[` + string(rune('0'+prob.Cert)) + `\] .*` + regexp.QuoteMeta(s.Kind))
				found := false
				for _, l := range tree {
					found = found || re.MatchString(l)
				}
				if !found {
					t.Errorf("tree lacks %s on [%d] with %s:\n%s", mark, prob.Cert, s.Kind, strings.Join(tree, "\n"))
				}
			}
			probs := strings.Join(section(ls, "Problems:"), "\n")
			if !strings.Contains(probs, string(prob.Kind)) || !strings.Contains(probs, "fix: "+prob.Fix) {
				t.Errorf("problems section lacks %s and its fix:\n%s", prob.Kind, probs)
			}
			if details := section(ls, "Certificates:"); len(details) < 8*len(res.Certificates) {
				t.Errorf("details too short:\n%s", strings.Join(details, "\n"))
			}
			if testing.Verbose() {
				t.Log("\n" + out)
			}

			// JSON: the documented shape.
			buf.Reset()
			if err := res.WriteJSON(&buf); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				OK       *bool `json:"ok"`
				Problems []map[string]any
				Certs    []map[string]any `json:"certificates"`
			}
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.OK == nil || *doc.OK != (wantOK) || len(doc.Problems) != len(res.Problems) || len(doc.Certs) != len(res.Certificates) {
				t.Errorf("JSON document: %s", buf.String())
			}
			for _, p := range doc.Problems {
				for _, k := range []string{"kind", "severity", "certificate", "summary", "fix"} {
					if _, ok := p[k]; !ok {
						t.Errorf("problem lacks %q: %v", k, p)
					}
				}
			}
			for _, c := range doc.Certs {
				for _, k := range []string{"subject", "issuer", "sans", "not_before", "not_after", "key", "signature", "sha256", "spki_sha256"} {
					if _, ok := c[k]; !ok {
						t.Errorf("certificate lacks %q: %v", k, c)
					}
				}
			}
		})
	}
}

func TestGoodChainRendering(t *testing.T) {
	s, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca, chain, _, err := s.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := verifyFiles(chain, ca, trust.Options{Name: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || len(res.Certificates) != 3 {
		t.Fatalf("result %+v", res)
	}
	var buf bytes.Buffer
	res.WriteText(&buf)
	ls := lines(buf.String())
	if ls[0] != "OK: the certificate chain for 127.0.0.1 is trusted" {
		t.Errorf("verdict %q", ls[0])
	}
	tree := section(ls, "Chain:")
	want := []string{
		"✓ [0] CN=localhost",
		"└─ ✓ [1] CN=tlsmail Test Intermediate CA  (intermediate)",
		"└─ ✓ [2] CN=tlsmail Test Root CA  (root; trusted, not sent)",
	}
	if strings.Join(tree, "\n") != strings.Join(want, "\n") {
		t.Errorf("tree:\n%s\nwant:\n%s", strings.Join(tree, "\n"), strings.Join(want, "\n"))
	}
	if section(ls, "Problems:") != nil {
		t.Errorf("a clean chain has a problems section")
	}
	details := strings.Join(section(ls, "Certificates:"), "\n")
	leaf := res.Certificates[0]
	for _, w := range []string{"names       localhost, 127.0.0.1, ::1", "key         ECDSA P-256", "signature   ECDSA-SHA256",
		"spki pin    " + trust.SPKIPin(s.Chain[0]), "sha256      " + leaf.SHA256, "days left", "(root, from the trust store)"} {
		if !strings.Contains(details, w) {
			t.Errorf("details lack %q:\n%s", w, details)
		}
	}
	if !regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`).MatchString(leaf.SHA256) {
		t.Errorf("fingerprint %q", leaf.SHA256)
	}
	if leaf.DaysLeft < 88 || leaf.DaysLeft > 90 {
		t.Errorf("days left %d", leaf.DaysLeft)
	}
}

func TestMissingIssuerIsDrawn(t *testing.T) {
	s, err := testpki.NewBroken("missing-intermediate")
	if err != nil {
		t.Fatal(err)
	}
	opts := trust.Options{Roots: s.Pool(), Name: "localhost"}
	res := FromReport(trust.Verify(s.Chain, opts), opts)
	var buf bytes.Buffer
	res.WriteText(&buf)
	tree := section(lines(buf.String()), "Chain:")
	if len(tree) != 2 || tree[1] != "└─ ? CN=tlsmail Test Intermediate CA  (not sent, not trusted)" {
		t.Errorf("tree:\n%s", strings.Join(tree, "\n"))
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	s, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := testpki.KeyPEM(s.Key)
	if err != nil {
		t.Fatal(err)
	}
	damaged := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})
	files := map[string][]byte{
		"empty.pem":   {},
		"garbage.pem": []byte("hello\n"),
		"key.pem":     keyPEM,
		"damaged.pem": damaged,
		"csr.pem":     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1}}),
		"leaf.der":    s.Chain[0].Raw,
		"chain.pem":   testpki.CertsPEM(s.Chain...),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		file  string
		want  string // in the error; empty for success
		certs int
	}{
		{"missing.pem", "does not exist", 0},
		{"empty.pem", "no PEM data found", 0},
		{"garbage.pem", "no PEM data found", 0},
		{"key.pem", "looks like a private key", 0},
		{"damaged.pem", "certificate 0 cannot be parsed", 0},
		{"csr.pem", "only CERTIFICATE REQUEST", 0},
		{".", "is a directory", 0},
		{"leaf.der", "", 1},
		{"chain.pem", "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			certs, err := LoadChain(filepath.Join(dir, tt.file))
			if tt.want == "" {
				if err != nil || len(certs) != tt.certs {
					t.Fatalf("got %d certificates, %v", len(certs), err)
				}
				return
			}
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want an InputError with %q", err, tt.want)
			}
		})
	}
}

// verifyFiles is VerifyFile with the roots of the PEM file ca.
func verifyFiles(chain, ca string, opts trust.Options) (Result, error) {
	roots, err := LoadRoots(ca)
	if err != nil {
		return Result{}, err
	}
	opts.Roots = roots
	return VerifyFile(context.Background(), chain, opts)
}

// isInputError reports whether err is an *InputError.
func isInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// TestVerifyAt: Options.Time moves the reference time.
func TestVerifyAt(t *testing.T) {
	s, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	ca, chain, _, err := s.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	at := s.Chain[0].NotAfter.AddDate(0, 0, 1)
	res, err := verifyFiles(chain, ca, trust.Options{Time: at})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || !hasKind(res, trust.KindExpired) || res.Certificates[0].DaysLeft >= 0 {
		t.Errorf("at %s: %+v", at, res.Problems)
	}
}

func hasKind(r Result, k trust.Kind) bool {
	for _, p := range r.Problems {
		if p.Kind == k {
			return true
		}
	}
	return false
}
