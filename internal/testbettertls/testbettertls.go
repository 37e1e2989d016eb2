// Package testbettertls makes the Netflix BetterTLS test cases
// (github.com/Netflix/bettertls, suites "nameconstraints" and
// "pathbuilding") concrete for tlsmail's tests: for each case, the chain a
// server sends, its private key, the name the client asks for, the root the
// client trusts, and the verdict BetterTLS expects. It is for tests only.
//
// BetterTLS serves its cases from an HTTPS server and scores a client by
// whether it connects; here the cases are fed to package trust directly and
// through the TLS providers on loopback.
package testbettertls

import (
	"crypto"
	"crypto/x509"
	"fmt"

	"github.com/Netflix/bettertls/test-suites/certutil"
	"github.com/Netflix/bettertls/test-suites/nameconstraints"
	"github.com/Netflix/bettertls/test-suites/pathbuilding"
	testcase "github.com/Netflix/bettertls/test-suites/test-case"
)

// Suite names, as BetterTLS spells them.
const (
	NameConstraints = "nameconstraints"
	PathBuilding    = "pathbuilding"
)

// Want is the verdict BetterTLS expects of a client.
type Want int

const (
	// Fail: the client must refuse the connection.
	Fail Want = iota
	// Pass: the client must accept it.
	Pass
	// SoftFail: refusing is right, accepting is tolerated (BetterTLS
	// counts it as a warning): a name found only in the common name, or a
	// name constraint broken by a SAN other than the one asked for.
	SoftFail
	// SoftPass: accepting is right, refusing is tolerated: a common name
	// that breaks a name constraint while the SANs are fine.
	SoftPass
)

func (w Want) String() string {
	return [...]string{"FAIL", "PASS", "SOFT_FAIL", "SOFT_PASS"}[w]
}

// Accept reports whether a strict client accepts a case with this verdict:
// the soft verdicts are taken the strict way (SoftFail refused, SoftPass
// accepted), which is what crypto/x509 does.
func (w Want) Accept() bool { return w == Pass || w == SoftPass }

// Case is one BetterTLS case made concrete.
type Case struct {
	Suite string
	Index uint
	Want  Want
	// Host is the name or IP address the client connects to and verifies.
	Host string
	// Chain is what the server sends, leaf first, as DER. Some leaves are
	// deliberately malformed (crypto/x509 cannot parse them).
	Chain [][]byte
	// Key is the leaf's private key.
	Key crypto.Signer
	// Reason is, in the pathbuilding suite, why the certificates on the
	// invalid edges of the trust graph are invalid ("EXPIRED", "BAD_EKU",
	// ...); empty when the case has no invalid edge.
	Reason string
}

// reasonKinds maps a pathbuilding invalid reason to the problem kinds
// (package trust's names) that say it.
var reasonKinds = map[string][]string{
	"EXPIRED":                   {"expired"},
	"NAME_CONSTRAINTS":          {"name-constraints"},
	"BAD_EKU":                   {"wrong-usage"},
	"MISSING_BASIC_CONSTRAINTS": {"not-a-ca"},
	"NOT_A_CA":                  {"not-a-ca"},
	"DEPRECATED_CRYPTO":         {"weak-signature"},
}

// Kinds lists the problem kinds, as package trust names them, that say why
// the case is to be refused: in the pathbuilding suite the kind of the
// invalid reason (the only path to the trusted root goes through a
// certificate refused for it); in the nameconstraints suite the name
// checks, or the leaf that cannot be parsed. A refusal must name one of
// them and nothing else.
func (c Case) Kinds() []string {
	if c.Suite == NameConstraints {
		return []string{"name-mismatch", "name-constraints", "unparseable-certificate"}
	}
	return reasonKinds[c.Reason]
}

// String names the case for test output: "pathbuilding/117".
func (c Case) String() string { return fmt.Sprintf("%s/%d", c.Suite, c.Index) }

// Suites holds the two suites and the root every case chains to.
type Suites struct {
	// Root is the one certificate the client trusts.
	Root    *x509.Certificate
	rootKey crypto.Signer
	nc      *nameconstraints.TestCaseProvider
	pb      *pathbuilding.TestCaseProvider
}

// New makes the suites with a fresh root (ECDSA P-256).
func New() (*Suites, error) {
	root, key, err := certutil.GenerateSelfSignedCert("bettertls_trust_root")
	if err != nil {
		return nil, err
	}
	return &Suites{Root: root, rootKey: key,
		nc: nameconstraints.NewTestCaseProvider(), pb: pathbuilding.NewTestCaseProvider()}, nil
}

// Roots returns a pool holding Root.
func (s *Suites) Roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.Root)
	return p
}

// Ref names a case without making its certificates.
type Ref struct {
	Suite string
	Index uint
}

func (r Ref) String() string { return fmt.Sprintf("%s/%d", r.Suite, r.Index) }

// All lists every case of both suites, nameconstraints first.
func (s *Suites) All() []Ref {
	var out []Ref
	for _, name := range []string{NameConstraints, PathBuilding} {
		n, _ := s.provider(name).GetTestCaseCount()
		for i := uint(0); i < n; i++ {
			out = append(out, Ref{name, i})
		}
	}
	return out
}

// Sample returns about n cases, half from each suite, spread evenly within
// it: always the same ones, in the order of All.
func (s *Suites) Sample(n int) []Ref {
	var out []Ref
	for _, name := range []string{NameConstraints, PathBuilding} {
		total, _ := s.provider(name).GetTestCaseCount()
		k := uint(n / 2)
		if k > total {
			k = total
		}
		for i := uint(0); i < k; i++ {
			out = append(out, Ref{name, i * total / k})
		}
	}
	return out
}

func (s *Suites) provider(name string) testcase.TestCaseProvider {
	switch name {
	case NameConstraints:
		return s.nc
	case PathBuilding:
		return s.pb
	}
	return nil
}

// Case makes the certificates of case r. Each call makes new keys.
func (s *Suites) Case(r Ref) (Case, error) {
	p := s.provider(r.Suite)
	if p == nil {
		return Case{}, fmt.Errorf("testbettertls: no suite %q", r.Suite)
	}
	tc, err := p.GetTestCase(r.Index)
	if err != nil {
		return Case{}, err
	}
	cert, err := tc.GetCertificates(s.Root, s.rootKey)
	if err != nil {
		return Case{}, fmt.Errorf("testbettertls: %s: %w", r, err)
	}
	key, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		return Case{}, fmt.Errorf("testbettertls: %s: the leaf key is a %T", r, cert.PrivateKey)
	}
	c := Case{Suite: r.Suite, Index: r.Index, Want: Want(tc.ExpectedResult()), Host: tc.GetHostname(),
		Chain: cert.Certificate, Key: key}
	if pc, ok := tc.(*pathbuilding.TestCaseImpl); ok && len(pc.ExplicitTestCase.InvalidEdges) > 0 {
		c.Reason = pc.InvalidReason.String()
	}
	return c, nil
}
