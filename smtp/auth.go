package smtp

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-sasl"

	"github.com/tlsmail/tlsmail/internal/safetext"
)

// Auth configures SMTP authentication (RFC 4954).
type Auth struct {
	// Mechanism is "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256",
	// "OAUTHBEARER", "XOAUTH2", or "" / "auto" for the strongest the
	// server offers.
	Mechanism string
	Username  string
	// Password is the password, or the OAuth 2.0 access token for
	// OAUTHBEARER and XOAUTH2.
	Password string
	// AllowPlaintext permits authentication on a connection without TLS.
	// Only for a user who asked for it by name (--tls none and --auth).
	AllowPlaintext bool
}

// preference is the order "auto" tries, strongest first. OAUTHBEARER and
// XOAUTH2 are never chosen automatically: they need a token, not a
// password.
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

// saslClient returns the client side of mechanism mech. host and port are
// the server's, as OAUTHBEARER names them (port 0: not known).
func (a *Auth) saslClient(mech, host string, port int) (sasl.Client, error) {
	switch mech {
	case "PLAIN":
		return sasl.NewPlainClient("", a.Username, a.Password), nil
	case "LOGIN":
		return &loginClient{user: a.Username, pass: a.Password}, nil
	case "CRAM-MD5":
		return &cramMD5Client{user: a.Username, pass: a.Password}, nil
	case "OAUTHBEARER", "XOAUTH2":
		if err := checkOAuth(mech, a.Username, a.Password); err != nil {
			return nil, err
		}
		if mech == "XOAUTH2" {
			return &oauthClient{mech: mech, ir: []byte("user=" + a.Username + "\x01auth=Bearer " + a.Password + "\x01\x01")}, nil
		}
		return &oauthClient{mech: mech, ir: oauthBearerMessage(a.Username, host, port, a.Password)}, nil
	case "SCRAM-SHA-256":
		return newSCRAMClient(a.Username, a.Password) // scram.go
	}
	return nil, fmt.Errorf("unsupported mechanism %q (use PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256, OAUTHBEARER or XOAUTH2)", mech)
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

// oauthBearerMessage is OAUTHBEARER's client response (RFC 7628 section
// 3.1): the GS2 header "n,a=USER," (RFC 5801 section 4, the name written
// by saslName), then the key/value pairs host, port
// (section 3.1 lists them; msmtp sends them too) and auth, each ended by
// 0x01, and a final 0x01.
func oauthBearerMessage(user, host string, port int, token string) []byte {
	var b strings.Builder
	b.WriteString("n,a=")
	b.WriteString(saslName(user))
	b.WriteString(",\x01")
	if host != "" {
		b.WriteString("host=" + host + "\x01")
	}
	if port > 0 {
		b.WriteString("port=" + strconv.Itoa(port) + "\x01")
	}
	b.WriteString("auth=Bearer " + token + "\x01\x01")
	return []byte(b.String())
}

// checkOAuth refuses a user name or token that would break the message's
// framing: 0x01 separates its fields, and a bearer token (RFC 6750 section
// 2.1, b64token) holds no blank or control character, so one that does is
// not a token (a password command printing more than the token, say).
func checkOAuth(mech, user, token string) error {
	bad := func(s string, blank bool) bool {
		return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || (blank && r == ' ') })
	}
	switch {
	case token == "" || bad(token, true):
		return &saslError{Mech: mech, Msg: "the access token is empty or holds blanks or control characters",
			Hint: "the password source must give the OAuth 2.0 access token alone, on one line"}
	case bad(user, false):
		return &saslError{Mech: mech, Msg: "the user name holds control characters", Hint: "give the user name alone"}
	}
	return nil
}

// maxAuthLine is the longest AUTH command line, CRLF included, that the
// client sends with an initial response (RFC 4954 section 4: 12288
// octets); a longer initial response goes after an empty challenge.
const maxAuthLine = 12288

// oauthClient is OAUTHBEARER (RFC 7628) or Google's and Microsoft's
// XOAUTH2: the token goes in the initial response. A server that refuses
// it answers with a 334 challenge holding a JSON error (RFC 7628 section
// 3.2.2: status, scope, openid-configuration), and the client must then
// answer with a lone 0x01 (OAUTHBEARER, section 3.2.3) or an empty
// response (XOAUTH2) before the server sends its final failure reply. The
// JSON error is kept for the error message; it never holds the token.
type oauthClient struct {
	mech     string
	ir       []byte
	answered bool
	status   string // the JSON error's status, "" when none came
	scope    string
}

func (c *oauthClient) Start() (string, []byte, error) { return c.mech, c.ir, nil }

func (c *oauthClient) Next(challenge []byte) ([]byte, error) {
	if c.answered {
		return nil, &saslError{Mech: c.mech, Msg: "the server sent a second challenge after its error",
			Hint: "the server does not follow RFC 7628 section 3.2.2; try another mechanism, or report it to the server's operator"}
	}
	c.answered = true
	var e struct {
		Status string `json:"status"`
		Scope  string `json:"scope"`
	}
	if json.Unmarshal(challenge, &e) == nil {
		c.status, c.scope = e.Status, e.Scope
	}
	if c.status == "" {
		c.status = "no status given"
	}
	if c.mech == "XOAUTH2" {
		return []byte{}, nil
	}
	return []byte{0x01}, nil
}

// refusal says why the server refused the token, from its JSON error
// challenge; "" when it sent none (a plain 535).
func (c *oauthClient) refusal() string {
	if c.status == "" {
		return ""
	}
	s := `the server refused the OAuth 2.0 token (status "` + safetext.Quote(c.status) + `"`
	if c.scope != "" {
		s += `, scope "` + safetext.Quote(c.scope) + `"`
	}
	return s + ")"
}
