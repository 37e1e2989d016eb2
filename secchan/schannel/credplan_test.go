package schannel

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/secchan"
)

var (
	win7       = winVersion{6, 1, 7601}
	win10_1607 = winVersion{10, 0, 14393}
	win10_1809 = winVersion{10, 0, 17763} // Server 2019: SCH_CREDENTIALS, broken TLS 1.3
	win10_21H2 = winVersion{10, 0, 19044}
	server2022 = winVersion{10, 0, 20348}
	win11      = winVersion{10, 0, 22631}
	future     = winVersion{11, 0, 100}
)

// TestPlanCredentials: TLS 1.3 is offered from build 20348 only (never on
// the Windows 10 builds whose TLS 1.3 is broken), SCH_CREDENTIALS is used
// from build 17763, and the SCHANNEL_CRED fallback exists only where TLS 1.3
// is not offered anyway.
func TestPlanCredentials(t *testing.T) {
	const (
		v12 = tls.VersionTLS12
		v13 = tls.VersionTLS13
	)
	cases := []struct {
		name     string
		v        winVersion
		min, max uint16
		want     credPlan // note only checked for being empty or not
		wantNote bool
		wantErr  string
	}{
		{"win7 default", win7, 0, 0, credPlan{lo: v12, hi: v12}, false, ""},
		{"win10 1607 default", win10_1607, 0, 0, credPlan{lo: v12, hi: v12}, false, ""},
		{"server 2019 default", win10_1809, 0, 0, credPlan{schCredentials: true, fallback: true, lo: v12, hi: v12}, false, ""},
		{"win10 21H2 default", win10_21H2, 0, 0, credPlan{schCredentials: true, fallback: true, lo: v12, hi: v12}, false, ""},
		{"win10 21H2 max 1.3 asked", win10_21H2, 0, v13, credPlan{schCredentials: true, fallback: true, lo: v12, hi: v12}, true, ""},
		{"win10 21H2 1.3 only", win10_21H2, v13, v13, credPlan{}, false, "no supported TLS 1.3"},
		{"server 2019 1.3 only", win10_1809, v13, 0, credPlan{}, false, "build 20348"},
		{"server 2022 default", server2022, 0, 0, credPlan{schCredentials: true, lo: v12, hi: v13}, false, ""},
		{"server 2022 1.3 only", server2022, v13, v13, credPlan{schCredentials: true, lo: v13, hi: v13}, false, ""},
		{"win11 max 1.2", win11, 0, v12, credPlan{schCredentials: true, lo: v12, hi: v12}, false, ""},
		{"win11 1.0 to 1.3", win11, tls.VersionTLS10, v13, credPlan{schCredentials: true, lo: tls.VersionTLS10, hi: v13}, false, ""},
		{"future major", future, 0, 0, credPlan{schCredentials: true, lo: v12, hi: v13}, false, ""},
		{"min above max", win11, v13, v12, credPlan{}, false, "MinVersion is above MaxVersion"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := planCredentials(c.v, c.min, c.max)
			if c.wantErr != "" {
				var he *secchan.HandshakeError
				if !errors.As(err, &he) || !strings.Contains(he.Error(), c.wantErr) || he.Fix == "" {
					t.Fatalf("error %v, want a *secchan.HandshakeError with a fix saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (p.note != "") != c.wantNote {
				t.Errorf("note %q, want one: %v", p.note, c.wantNote)
			}
			p.note = ""
			if p != c.want {
				t.Errorf("plan %+v, want %+v", p, c.want)
			}
		})
	}
}

// TestCredStructUnsupported: only the statuses that mean "this structure is
// not understood" lead to the SCHANNEL_CRED fallback; a client key that
// cannot be used or no common protocol does not.
func TestCredStructUnsupported(t *testing.T) {
	for code, want := range map[uint32]bool{
		0x80090304: true,  // SEC_E_INTERNAL_ERROR
		0x80090302: true,  // SEC_E_UNSUPPORTED_FUNCTION
		0x8009035D: true,  // SEC_E_INVALID_PARAMETER
		0x8009030D: false, // SEC_E_UNKNOWN_CREDENTIALS
		0x8009030E: false, // SEC_E_NO_CREDENTIALS
		0x80090331: false, // SEC_E_ALGORITHM_MISMATCH
		0x80090300: false, // SEC_E_INSUFFICIENT_MEMORY
		0:          false,
	} {
		if got := credStructUnsupported(code); got != want {
			t.Errorf("credStructUnsupported(%s 0x%08X) = %v, want %v", CodeName(code), code, got, want)
		}
	}
}

// TestPlanClientKey: the key stays in memory except under Wine and where
// Schannel offers TLS 1.3.
func TestPlanClientKey(t *testing.T) {
	cases := []struct {
		wine bool
		v    winVersion
		want keyPlan
	}{
		{false, win7, keyInMemory},
		{false, win10_1809, keyInMemory},
		{false, win10_21H2, keyInMemory},
		{false, server2022, keyInContainer},
		{false, win11, keyInContainer},
		{true, win10_21H2, keyInContainer},
		{true, win7, keyInContainer},
	}
	for _, c := range cases {
		got, why := planClientKey(c.wine, c.v)
		if got != c.want || (got == keyInContainer) != (why != "") {
			t.Errorf("planClientKey(wine=%v, %s) = %v %q, want %v with a reason when not in memory", c.wine, c.v, got, why, c.want)
		}
	}
}
