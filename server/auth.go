package server

import (
	"bytes"
	"crypto/subtle"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mechanisms offered when Config.Users is non-empty (RFC 4954 section 3),
// and when Config.Tokens is.
const (
	mechPlain       = "PLAIN"       // RFC 4616
	mechLogin       = "LOGIN"       // draft-murchison-sasl-login
	mechOAuthBearer = "OAUTHBEARER" // RFC 7628
	mechXOAuth2     = "XOAUTH2"     // Google's and Microsoft's pre-RFC 7628 form
)

// maxAuthLine is the longest line the server reads (RFC 4954 section 4:
// an AUTH command line may be 12288 octets, and a server must take the
// longest response its mechanisms produce, here a bearer token).
const maxAuthLine = 12288

var (
	// errAuthFailed is 535 5.7.8 (RFC 4954 section 6).
	errAuthFailed = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8},
		Message: "Authentication credentials invalid"}
	errAuthMalformed = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 2},
		Message: "Malformed SASL response"}
	errAuthIdentity = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8},
		Message: "Authorization identity must be empty or equal the user name"}
)

// checkFunc verifies a user name and password; it returns nil or an error
// the SMTP layer sends as the reply.
type checkFunc func(user, pass string) error

// passwordChecker returns a checkFunc over users that compares passwords in
// constant time and calls ok with the user name on success.
func passwordChecker(users map[string]string, ok func(user string)) checkFunc {
	return func(user, pass string) error {
		want, found := users[user]
		if !found {
			want = "\x00never matches\x00" + pass // same work for unknown users
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(pass)) != 1 || !found {
			return errAuthFailed
		}
		ok(user)
		return nil
	}
}

// plainServer is the server side of SASL PLAIN (RFC 4616 section 2): one
// message "[authzid] NUL authcid NUL passwd", sent as the initial response
// or after an empty challenge.
type plainServer struct {
	check checkFunc
	done  bool
}

func (p *plainServer) Next(resp []byte) (challenge []byte, done bool, err error) {
	if p.done {
		return nil, true, errAuthMalformed
	}
	if resp == nil { // no initial response: ask with an empty challenge
		return []byte{}, false, nil
	}
	p.done = true
	parts := bytes.Split(resp, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 {
		return nil, true, errAuthMalformed
	}
	authz, user, pass := string(parts[0]), string(parts[1]), string(parts[2])
	if authz != "" && authz != user {
		return nil, true, errAuthIdentity
	}
	return nil, true, p.check(user, pass)
}

// loginServer is the server side of the LOGIN mechanism: the challenges
// "Username:" and "Password:", each answered with the value. An initial
// response, if any, is the user name.
type loginServer struct {
	check checkFunc
	step  int // 0: want user, 1: want password, 2: done
	user  string
}

func (l *loginServer) Next(resp []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		if len(resp) == 0 {
			return nil, true, errAuthMalformed
		}
		l.user = string(resp)
		l.step = 1
		return []byte("Password:"), false, nil
	case 1:
		l.step = 2
		return nil, true, l.check(l.user, string(resp))
	default:
		return nil, true, errAuthMalformed
	}
}

// oauthServer is the server side of OAUTHBEARER (RFC 7628 section 3.1:
// "n,[a=USER]," then key=value pairs each ended by 0x01, with
// "auth=Bearer TOKEN", and a final 0x01) or of XOAUTH2
// ("user=USER" 0x01 "auth=Bearer TOKEN" 0x01 0x01). A refused token gets
// the error challenge of RFC 7628 section 3.2.2, a JSON object whose
// status is "invalid_token" (RFC 6750 section 3.1); the client's answer
// (0x01 for OAUTHBEARER, section 3.2.3; anything for XOAUTH2) then gets
// 535 5.7.8. A malformed message is 501 at once.
//
// The error challenge tells the client its token failed before the
// exchange ends, and a client may cancel it then ("*", RFC 4954 section
// 4) without the server seeing another response: a refusal is therefore
// counted through fail (session.authFailed: the delay, and 421 with a
// hang-up at the limit) when it is decided, not when the exchange ends.
// oauthServer is not wrapped in limitedSASL, which would count it twice.
type oauthServer struct {
	check   checkFunc
	fail    func(error) error // session.authFailed
	xoauth2 bool
	step    int // 0: want the client response, 1: want the answer to the error, 2: done
	err     error
}

// oauthError is the error challenge: status, and the scope a token needs.
const oauthError = `{"status":"invalid_token","scope":"smtp"}`

func (o *oauthServer) Next(resp []byte) (challenge []byte, done bool, err error) {
	switch o.step {
	case 0:
		if resp == nil { // no initial response: ask with an empty challenge
			return []byte{}, false, nil
		}
		o.step = 2
		user, token, ok := parseOAuth(resp, o.xoauth2)
		if !ok {
			return nil, true, o.fail(errAuthMalformed)
		}
		refused := o.check(user, token)
		if refused == nil {
			return nil, true, nil
		}
		if o.err = o.fail(refused); o.err == errAuthTooMany {
			return nil, true, o.err // the limit: no challenge, 421 and a hang-up
		}
		o.step = 1
		return []byte(oauthError), false, nil
	case 1:
		o.step = 2
		if !o.xoauth2 && !bytes.Equal(resp, []byte{0x01}) {
			return nil, true, errAuthMalformed // RFC 7628 section 3.2.3; already counted
		}
		return nil, true, o.err
	}
	return nil, true, errAuthMalformed
}

// parseOAuth reads the user and the bearer token of an OAUTHBEARER or
// XOAUTH2 client response.
func parseOAuth(resp []byte, xoauth2 bool) (user, token string, ok bool) {
	s := string(resp)
	if !xoauth2 {
		// gs2-header: "n,a=USER," or "n,,": no channel binding (RFC 7628
		// section 3.1 allows only n or y), the name with =2C and =3D.
		if len(s) < 3 || (s[0] != 'n' && s[0] != 'y') || s[1] != ',' {
			return "", "", false
		}
		hdr, rest, found := strings.Cut(s[2:], ",")
		if !found {
			return "", "", false
		}
		if hdr != "" {
			name, isName := strings.CutPrefix(hdr, "a=")
			if !isName {
				return "", "", false
			}
			user = strings.NewReplacer("=2C", ",", "=3D", "=").Replace(name)
		}
		s = rest
	}
	body, found := strings.CutSuffix(s, "\x01\x01")
	if !found || (!xoauth2 && !strings.HasPrefix(body, "\x01")) {
		return "", "", false
	}
	for _, kv := range strings.Split(strings.TrimPrefix(body, "\x01"), "\x01") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "auth":
			t, bearer := strings.CutPrefix(v, "Bearer ")
			if !bearer {
				return "", "", false
			}
			token = t
		case "user":
			if xoauth2 {
				user = v
			}
		}
	}
	return user, token, user != "" && token != ""
}

var _ sasl.Server = (*oauthServer)(nil)
var _ sasl.Server = (*plainServer)(nil)
var _ sasl.Server = (*loginServer)(nil)
