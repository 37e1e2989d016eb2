package smtp

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tlsmail/tlsmail/internal/saslprep"
)

// Bounds on the iteration count a server may ask for (RFC 5802 section
// 5.1, "i="). The lower bound is RFC 7677 section 4's "at least 4096" for
// SCRAM-SHA-256: a server asking for fewer would make the client's proof,
// which it receives, cheaper to attack offline, so tlsmail refuses to
// compute it. The upper bound keeps a hostile server from making the client
// spin: a million rounds of PBKDF2-HMAC-SHA-256 take well under a second.
const (
	scramMinIterations = 4096
	scramMaxIterations = 1_000_000
)

// scramNonceBytes is how many random bytes make the client nonce (RFC 5802
// section 5.1, "r="): 24 bytes, 32 base64 characters, none of them ','.
const scramNonceBytes = 24

// scramClient is the client side of SCRAM-SHA-256 (RFC 7677), the SCRAM
// exchange of RFC 5802 section 3 with SHA-256, without channel binding
// (the GS2 header "n,,": the client does not support it, RFC 5802 section
// 6). It is a sasl.Client:
//
//	Start  client-first-message  n,,n=user,r=cnonce
//	Next   server-first-message  r=cnonce+snonce,s=salt,i=count
//	       client-final-message  c=biws,r=cnonce+snonce,p=proof
//	Next   server-final-message  v=signature (or e=error)
//	       empty response
//
// verified reports whether the server proved it knows the password-derived
// key; a 235 without that proof is not a success (the caller checks).
type scramClient struct {
	user, pass string // after SASLprep; user escaped for the n= attribute
	// nonce returns the client nonce; randomNonce but in tests.
	nonce func() (string, error)

	step            int
	clientNonce     string
	clientFirstBare string
	serverSignature []byte
	valid           bool
}

// newSCRAMClient prepares the username and password with SASLprep (RFC
// 5802 section 5.1; RFC 4013). A string SASLprep refuses is a
// configuration error, told without showing the password.
func newSCRAMClient(user, pass string) (*scramClient, error) {
	u, err := saslprep.Prepare(user)
	if err != nil {
		var pe *saslprep.Error
		if errors.As(err, &pe) && pe.Rune != 0 {
			return nil, &saslError{Mech: "SCRAM-SHA-256", Msg: fmt.Sprintf("this username cannot be used (SASLprep, RFC 4013; U+%04X)", pe.Rune), Err: err, Hint: fixPrepUser}
		}
		return nil, &saslError{Mech: "SCRAM-SHA-256", Msg: "this username cannot be used (SASLprep, RFC 4013)", Err: err, Hint: fixPrepUser}
	}
	p, err := saslprep.Prepare(pass)
	if err != nil {
		var pe *saslprep.Error
		if errors.As(err, &pe) {
			hidden := *pe
			hidden.Rune = 0 // the password's character stays out of the error
			err = &hidden
		}
		return nil, &saslError{Mech: "SCRAM-SHA-256", Msg: "this password cannot be used (SASLprep, RFC 4013)", Err: err,
			Hint: "change the password, or choose another authentication mechanism, such as PLAIN, which sends it as it is"}
	}
	return &scramClient{user: saslName(u), pass: p, nonce: randomNonce}, nil
}

// saslName encodes ',' and '=' in a username as "=2C" and "=3D": the
// saslname of RFC 5801 section 4 (GS2), written by SCRAM's "n=" (RFC 5802
// section 5.1) and OAUTHBEARER's "a=" (RFC 7628 section 3.1).
func saslName(s string) string {
	if !strings.ContainsAny(s, ",=") {
		return s
	}
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

// randomNonce is a client nonce from crypto/rand: printable, no ','.
func randomNonce() (string, error) {
	b := make([]byte, scramNonceBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

const (
	fixPrepUser = "choose another authentication mechanism, such as PLAIN, which sends the username as it is"
	fixBroken   = "the server does not follow RFC 5802; check the server, or choose another authentication mechanism"
)

// saslError is a SASL exchange the client refused or could not carry out:
// what happened (Error) and what to do about it (Fix), which the client
// puts in the *Error it returns.
type saslError struct {
	Mech string // the mechanism
	Msg  string // what happened
	Err  error  // the cause, if any
	Hint string // what to do
}

func (e *saslError) Error() string {
	if e.Err != nil {
		return e.Mech + ": " + e.Msg + ": " + e.Err.Error()
	}
	return e.Mech + ": " + e.Msg
}

func (e *saslError) Unwrap() error { return e.Err }

// Fix says what to do.
func (e *saslError) Fix() string { return e.Hint }

// saslFix is the fix an error from a SASL client carries, or a general one.
func saslFix(err error) string {
	var f interface{ Fix() string }
	if errors.As(err, &f) && f.Fix() != "" {
		return f.Fix()
	}
	return "check the credentials, or choose another authentication mechanism"
}

// Start returns the client-first-message (RFC 5802 section 7).
func (c *scramClient) Start() (string, []byte, error) {
	nonce, err := c.nonce()
	if err != nil {
		return "", nil, &saslError{Mech: "SCRAM-SHA-256", Msg: "no random nonce", Err: err, Hint: "the system's random source failed; check the system"}
	}
	c.clientNonce = nonce
	c.clientFirstBare = "n=" + c.user + ",r=" + nonce
	c.step = 1
	return "SCRAM-SHA-256", []byte("n,," + c.clientFirstBare), nil
}

// verified reports whether the server's final message carried a valid
// server signature (RFC 5802 section 3).
func (c *scramClient) verified() bool { return c.valid }

// Next answers the server-first-message with the client-final-message, and
// checks the server-final-message.
//
// A refused message ends the exchange: every later challenge is refused
// too, so that nothing can verify after a server-first-message that
// produced no keys.
func (c *scramClient) Next(challenge []byte) ([]byte, error) {
	step := c.step
	c.step = scramEnded
	switch step {
	case 1:
		resp, err := c.clientFinal(string(challenge))
		if err == nil {
			c.step = 2
		}
		return resp, err
	case 2:
		return []byte{}, c.checkServerFinal(string(challenge))
	case 0:
		return nil, &saslError{Mech: "SCRAM-SHA-256", Msg: "a challenge before the client's first message", Hint: fixBroken}
	}
	return nil, &saslError{Mech: "SCRAM-SHA-256", Msg: "the server sent a challenge after the exchange ended", Hint: fixBroken}
}

// scramEnded is the step after the server's final message, or after any
// refused message.
const scramEnded = 3

// scramServerFirst is a parsed server-first-message.
type scramServerFirst struct {
	nonce string
	salt  []byte
	iters int
}

// parseServerFirst parses a server-first-message strictly (RFC 5802
// section 7):
//
//	server-first-message = [reserved-mext ","] nonce "," salt ","
//	                       iteration-count ["," extensions]
//
// The nonce must extend ours; a mandatory extension (m=) is refused, as
// none is defined; other extensions after i= are ignored.
func parseServerFirst(msg, clientNonce string) (*scramServerFirst, error) {
	bad := func(format string, a ...any) error {
		return &saslError{Mech: "SCRAM-SHA-256", Msg: fmt.Sprintf("the server's first message "+format, a...), Hint: fixBroken}
	}
	if e, ok := strings.CutPrefix(msg, "e="); ok {
		return nil, &saslError{Mech: "SCRAM-SHA-256", Msg: fmt.Sprintf("the server refused the authentication: %q", scramBounded(e)),
			Hint: "check the username, or the server"}
	}
	if strings.HasPrefix(msg, "m=") {
		return nil, bad("requires an extension (m=) that tlsmail does not know")
	}
	attrs := strings.SplitN(msg, ",", 4)
	if len(attrs) < 3 {
		return nil, bad("lacks the nonce, salt or iteration count (%d attributes)", len(attrs))
	}
	var sf scramServerFirst
	for i, name := range []string{"r", "s", "i"} {
		v, ok := strings.CutPrefix(attrs[i], name+"=")
		if !ok {
			return nil, bad("has %q where %s= belongs", scramAttrName(attrs[i]), name)
		}
		switch name {
		case "r":
			if !strings.HasPrefix(v, clientNonce) || len(v) == len(clientNonce) {
				return nil, bad("has a nonce that does not extend the client's (a replay, or a broken server)")
			}
			for j := 0; j < len(v); j++ {
				if v[j] < 0x21 || v[j] > 0x7e {
					return nil, bad("has a nonce with a character that is not printable ASCII")
				}
			}
			sf.nonce = v
		case "s":
			salt, err := base64.StdEncoding.Strict().DecodeString(v)
			if err != nil || len(salt) == 0 {
				return nil, bad("has a salt that is not base64")
			}
			sf.salt = salt
		case "i":
			// posint = %x31-39 *DIGIT
			digits := v != "" && v[0] >= '1' && v[0] <= '9'
			for j := 0; digits && j < len(v); j++ {
				digits = v[j] >= '0' && v[j] <= '9'
			}
			if !digits {
				if len(v) > 20 {
					v = v[:20] + "..."
				}
				return nil, bad("has an iteration count that is not a positive integer (%q)", v)
			}
			n := scramMaxIterations + 1 // any count longer than 9 digits
			if len(v) <= 9 {
				n, _ = strconv.Atoi(v)
			}
			if n < scramMinIterations {
				return nil, &saslError{Mech: "SCRAM-SHA-256",
					Msg:  fmt.Sprintf("the server asks for %d iterations, fewer than the %d RFC 7677 section 4 requires, which would make the client's proof cheap to attack", n, scramMinIterations),
					Hint: "ask the server's administrator to raise the iteration count, or choose another authentication mechanism"}
			}
			if n > scramMaxIterations {
				return nil, &saslError{Mech: "SCRAM-SHA-256",
					Msg:  fmt.Sprintf("the server asks for %s iterations, more than the %d tlsmail computes", scramBounded(v), scramMaxIterations),
					Hint: "the server is hostile or misconfigured; check it, or choose another authentication mechanism"}
			}
			sf.iters = n
		}
	}
	return &sf, nil
}

// scramBounded is a server's word for an error, bounded.
func scramBounded(v string) string {
	if len(v) > 64 {
		return v[:64] + "..."
	}
	return v
}

// scramAttrName is the start of an attribute for an error, bounded: it
// comes from the server.
func scramAttrName(a string) string {
	if len(a) > 3 {
		return a[:3] + "..."
	}
	return a
}

// clientFinal computes the client-final-message (RFC 5802 section 3):
//
//	SaltedPassword  := Hi(Normalize(password), salt, i)
//	ClientKey       := HMAC(SaltedPassword, "Client Key")
//	StoredKey       := H(ClientKey)
//	AuthMessage     := client-first-message-bare + "," +
//	                   server-first-message + "," +
//	                   client-final-message-without-proof
//	ClientSignature := HMAC(StoredKey, AuthMessage)
//	ClientProof     := ClientKey XOR ClientSignature
//	ServerKey       := HMAC(SaltedPassword, "Server Key")
//	ServerSignature := HMAC(ServerKey, AuthMessage)
//
// Hi is PBKDF2 with HMAC-SHA-256 (RFC 7677). c=biws is base64("n,,"), the
// GS2 header of the first message.
func (c *scramClient) clientFinal(serverFirst string) ([]byte, error) {
	sf, err := parseServerFirst(serverFirst, c.clientNonce)
	if err != nil {
		return nil, err
	}
	salted, err := pbkdf2.Key(sha256.New, c.pass, sf.salt, sf.iters, sha256.Size)
	if err != nil {
		return nil, &saslError{Mech: "SCRAM-SHA-256", Msg: "deriving the key", Err: err, Hint: "choose another authentication mechanism"}
	}
	clientKey := scramHMAC(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	withoutProof := "c=biws,r=" + sf.nonce
	authMessage := c.clientFirstBare + "," + serverFirst + "," + withoutProof
	proof := scramHMAC(storedKey[:], authMessage)
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	c.serverSignature = scramHMAC(scramHMAC(salted, "Server Key"), authMessage)
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

func scramHMAC(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// checkServerFinal checks the server-final-message (RFC 5802 section 7):
//
//	server-final-message = (server-error / verifier) ["," extensions]
//
// The verifier is compared in constant time; a server-error is reported as
// the server's words.
func (c *scramClient) checkServerFinal(msg string) error {
	attr, _, _ := strings.Cut(msg, ",")
	if e, ok := strings.CutPrefix(attr, "e="); ok {
		fix := "check the server, or choose another authentication mechanism"
		switch e {
		case "invalid-proof", "unknown-user", "invalid-username-encoding":
			fix = "check the username and password"
		}
		return &saslError{Mech: "SCRAM-SHA-256", Msg: fmt.Sprintf("the server refused the authentication: %q", scramBounded(e)), Hint: fix}
	}
	v, ok := strings.CutPrefix(attr, "v=")
	if !ok {
		return &saslError{Mech: "SCRAM-SHA-256", Msg: "the server's final message has no verifier (v=): it did not prove that it knows the password", Hint: fixBroken}
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(v)
	// An empty expected signature would equal an empty "v=": there is
	// none unless the client-final-message was computed.
	if err != nil || len(c.serverSignature) != sha256.Size || !hmac.Equal(sig, c.serverSignature) {
		return &saslError{Mech: "SCRAM-SHA-256", Msg: "the server's proof did not verify: it does not know the password, or is not the server it claims to be",
			Hint: "check the server (its SCRAM credentials may be stale, or something is answering in its place)"}
	}
	c.valid = true
	return nil
}
