//go:build windows

package schannel

import (
	"errors"
	"fmt"
	"testing"
	"unsafe"

	"github.com/tlsmail/tlsmail/secchan"
)

// acquireCall is what a fake AcquireCredentialsHandle saw.
type acquireCall struct {
	version  uint32 // 5: SCH_CREDENTIALS, 4: SCHANNEL_CRED
	flags    uint32
	enabled  uint32 // SCHANNEL_CRED's grbitEnabledProtocols, or the complement of SCH_CREDENTIALS' disabled ones
	tlsParms uint32 // SCH_CREDENTIALS' cTLSParameters
}

// TestAcquireCredentialsPlan drives acquireCredentials with Windows versions
// and AcquireCredentialsHandle answers that Wine never gives: the fallback
// to SCHANNEL_CRED happens only for a refusal that means "structure not
// understood" and only where TLS 1.3 is not offered, it keeps
// SCH_USE_STRONG_CRYPTO, and TLS 1.3 is enabled from build 20348 only.
func TestAcquireCredentialsPlan(t *testing.T) {
	const (
		ok              = secEOK
		internalError   = 0x80090304
		unknownCreds    = 0x8009030D
		tls12           = spProtTLS12Client
		tls12And13      = spProtTLS12Client | spProtTLS13Client
		allClientProtos = spProtSSL2Client | spProtSSL3Client | spProtTLS10Client | spProtTLS11Client | spProtTLS12Client | spProtTLS13Client
	)
	cases := []struct {
		name      string
		v         winVersion
		answers   []uint32 // the statuses of the successive calls
		wantCalls []uint32 // the structure versions tried
		wantProto []uint32 // protocols enabled in each call
		wantCode  uint32   // 0: success
	}{
		{"windows 7: SCHANNEL_CRED only", win7, []uint32{ok}, []uint32{4}, []uint32{tls12}, 0},
		{"windows 10 21H2: no TLS 1.3", win10_21H2, []uint32{ok}, []uint32{5}, []uint32{tls12}, 0},
		{"server 2022: TLS 1.3", server2022, []uint32{ok}, []uint32{5}, []uint32{tls12And13}, 0},
		{"windows 11: TLS 1.3", win11, []uint32{ok}, []uint32{5}, []uint32{tls12And13}, 0},
		{"structure not understood: fallback", win10_21H2, []uint32{internalError, ok}, []uint32{5, 4}, []uint32{tls12, tls12}, 0},
		{"structure not understood, fallback refused too", win10_21H2, []uint32{internalError, unknownCreds}, []uint32{5, 4}, []uint32{tls12, tls12}, unknownCreds},
		{"client key refused: no fallback", win10_21H2, []uint32{unknownCreds}, []uint32{5}, []uint32{tls12}, unknownCreds},
		{"server 2022 refusal: no fallback that would lose TLS 1.3", server2022, []uint32{internalError}, []uint32{5}, []uint32{tls12And13}, internalError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var calls []acquireCall
			env := credEnv{version: c.v, acquire: func(p unsafe.Pointer, h *secHandle) uint32 {
				var call acquireCall
				call.version = *(*uint32)(p)
				switch call.version {
				case schCredentialsV:
					sc := (*schCredentials)(p)
					call.flags, call.tlsParms = sc.dwFlags, sc.cTLSParameters
					if sc.pTLSParameters != nil {
						call.enabled = allClientProtos &^ sc.pTLSParameters.grbitDisabledProtocols
					}
				case schannelCredVersion:
					sc := (*schannelCred)(p)
					call.flags, call.enabled = sc.dwFlags, sc.grbitEnabledProtocols
				}
				calls = append(calls, call)
				if len(calls) > len(c.answers) {
					return internalError
				}
				return c.answers[len(calls)-1]
			}}
			cred, err := acquireCredentialsWith(env, &secchan.Config{}, nil)
			if c.wantCode == 0 {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				cred.free()
			} else {
				var he *secchan.HandshakeError
				if !errors.As(err, &he) || he.Code != c.wantCode {
					t.Fatalf("error %v, want a *secchan.HandshakeError with code 0x%08X", err, c.wantCode)
				}
			}
			if len(calls) != len(c.wantCalls) {
				t.Fatalf("%d calls %+v, want structures %v", len(calls), calls, c.wantCalls)
			}
			for i, call := range calls {
				if call.version != c.wantCalls[i] {
					t.Errorf("call %d: structure version %d, want %d", i, call.version, c.wantCalls[i])
				}
				if call.flags&schUseStrongCrypto == 0 {
					t.Errorf("call %d (version %d): SCH_USE_STRONG_CRYPTO missing (flags 0x%08X)", i, call.version, call.flags)
				}
				if call.flags&(schCredNoDefaultCreds|schCredManualCredValidation) != schCredNoDefaultCreds|schCredManualCredValidation {
					t.Errorf("call %d: flags 0x%08X lack NO_DEFAULT_CREDS or MANUAL_CRED_VALIDATION", i, call.flags)
				}
				if call.enabled != c.wantProto[i] {
					t.Errorf("call %d: protocols 0x%04X, want 0x%04X", i, call.enabled, c.wantProto[i])
				}
				if call.version == schCredentialsV && call.tlsParms != 1 {
					t.Errorf("call %d: %d TLS_PARAMETERS, want 1", i, call.tlsParms)
				}
			}
		})
	}
}

// TestAcquireCredentialsTLS13Only: asking for TLS 1.3 only on a Windows
// whose TLS 1.3 is not supported is refused before Schannel is called.
func TestAcquireCredentialsTLS13Only(t *testing.T) {
	called := false
	env := credEnv{version: win10_21H2, acquire: func(unsafe.Pointer, *secHandle) uint32 { called = true; return secEOK }}
	_, err := acquireCredentialsWith(env, &secchan.Config{MinVersion: 0x0304}, nil)
	var he *secchan.HandshakeError
	if !errors.As(err, &he) || called {
		t.Fatalf("error %v (Schannel called: %v), want a *secchan.HandshakeError before any call", err, called)
	}
	if s := fmt.Sprint(err); !contains(s, "TLS 1.3") {
		t.Errorf("error %q does not name TLS 1.3", s)
	}
}
