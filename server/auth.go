package server

import (
	"bytes"
	"crypto/subtle"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mechanisms offered when Config.Users is non-empty (RFC 4954 section 3).
const (
	mechPlain = "PLAIN" // RFC 4616
	mechLogin = "LOGIN" // draft-murchison-sasl-login
)

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

var _ sasl.Server = (*plainServer)(nil)
var _ sasl.Server = (*loginServer)(nil)
