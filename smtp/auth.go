package smtp

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/emersion/go-sasl"
)

// Auth configures SMTP authentication (RFC 4954).
type Auth struct {
	// Mechanism is "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256",
	// "XOAUTH2", or "" / "auto" for the strongest the server offers.
	Mechanism string
	Username  string
	// Password is the password, or the OAuth 2.0 access token for XOAUTH2.
	Password string
	// AllowPlaintext permits authentication on a connection without TLS.
	// Only for a user who asked for it by name (--tls none and --auth).
	AllowPlaintext bool
}

// preference is the order "auto" tries, strongest first. XOAUTH2 is never
// chosen automatically: it needs a token, not a password.
var preference = []string{"SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"}

// chooseMechanism picks the mechanism to use from the server's AUTH list.
func (a *Auth) chooseMechanism(offered string) (string, error) {
	have := map[string]bool{}
	for _, m := range strings.Fields(strings.ToUpper(offered)) {
		have[m] = true
	}
	want := strings.ToUpper(a.Mechanism)
	if want == "" || want == "AUTO" {
		for _, m := range preference {
			if have[m] {
				return m, nil
			}
		}
		return "", fmt.Errorf("the server offers no mechanism tlsmail supports (offered: %q)", offered)
	}
	if !have[want] {
		return "", fmt.Errorf("the server does not offer %s (offered: %q)", want, offered)
	}
	return want, nil
}

// saslClient returns the client side of mechanism mech.
func (a *Auth) saslClient(mech string) (sasl.Client, error) {
	switch mech {
	case "PLAIN":
		return sasl.NewPlainClient("", a.Username, a.Password), nil
	case "LOGIN":
		return &loginClient{user: a.Username, pass: a.Password}, nil
	case "CRAM-MD5":
		return &cramMD5Client{user: a.Username, pass: a.Password}, nil
	case "XOAUTH2":
		return &xoauth2Client{user: a.Username, token: a.Password}, nil
	case "SCRAM-SHA-256":
		return newSCRAMClient(a.Username, a.Password) // scram.go
	}
	return nil, fmt.Errorf("unsupported mechanism %q (use PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256 or XOAUTH2)", mech)
}

// loginClient is the LOGIN mechanism (draft-murchison-sasl-login): the
// server prompts for "Username:" and "Password:". No initial response, as
// some servers reject one.
type loginClient struct {
	user, pass string
	step       int
}

func (c *loginClient) Start() (string, []byte, error) { return "LOGIN", nil, nil }

func (c *loginClient) Next(challenge []byte) ([]byte, error) {
	c.step++
	ch := strings.ToLower(string(challenge))
	switch {
	case strings.Contains(ch, "user"):
		return []byte(c.user), nil
	case strings.Contains(ch, "pass"):
		return []byte(c.pass), nil
	case c.step == 1:
		return []byte(c.user), nil
	case c.step == 2:
		return []byte(c.pass), nil
	}
	return nil, fmt.Errorf("LOGIN: unexpected challenge %q", challenge)
}

// cramMD5Client is CRAM-MD5 (RFC 2195).
type cramMD5Client struct{ user, pass string }

func (c *cramMD5Client) Start() (string, []byte, error) { return "CRAM-MD5", nil, nil }

func (c *cramMD5Client) Next(challenge []byte) ([]byte, error) {
	m := hmac.New(md5.New, []byte(c.pass))
	m.Write(challenge)
	return []byte(c.user + " " + hex.EncodeToString(m.Sum(nil))), nil
}

// xoauth2Client is Google's and Microsoft's XOAUTH2. On failure the server
// sends a JSON error as a challenge and expects an empty response.
type xoauth2Client struct{ user, token string }

func (c *xoauth2Client) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

func (c *xoauth2Client) Next(challenge []byte) ([]byte, error) { return []byte{}, nil }
