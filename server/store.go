package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Envelope is what the server knows about a message besides its bytes: the
// SMTP envelope (RFC 5321 section 2.3.1) and the session it arrived on. It
// is stored as the JSON sidecar of each message.
type Envelope struct {
	// ID is the queue id, as sent in "250 2.0.0 Ok: queued as <ID>".
	ID   string   `json:"id"`
	From string   `json:"from"` // reverse-path, "" for the null sender <>
	To   []string `json:"to"`   // accepted recipients, in RCPT order
	// AuthUser is the user that authenticated, "" if none. Never a password.
	AuthUser string `json:"auth_user,omitempty"`
	// Helo is the EHLO/HELO argument.
	Helo string `json:"helo,omitempty"`
	// Body is the MAIL BODY= parameter (7BIT, 8BITMIME, BINARYMIME) if any.
	Body string `json:"body,omitempty"`
	// SMTPUTF8 is true when MAIL carried SMTPUTF8 (RFC 6531).
	SMTPUTF8 bool `json:"smtputf8,omitempty"`
	// DSNReturn and EnvelopeID are MAIL's RET= ("FULL" or "HDRS") and
	// ENVID= (RFC 3461 sections 4.3 and 4.4), "" when not given (and
	// always without Config.DSN, which refuses them).
	DSNReturn  string `json:"dsn_return,omitempty"`
	EnvelopeID string `json:"envelope_id,omitempty"`
	// Notify holds each recipient's NOTIFY= (RFC 3461 section 4.1), in
	// To's order: "NEVER", or some of "SUCCESS", "FAILURE", "DELAY" joined
	// by commas, "" for a recipient without one. Nil when no recipient
	// had one.
	Notify []string `json:"notify,omitempty"`
	// Listener is "smtp" (plain port, maybe STARTTLS) or "smtps" (implicit TLS).
	Listener string `json:"listener"`
	// TLS describes the TLS session; nil when the message came in the clear.
	TLS        *TLSInfo  `json:"tls,omitempty"`
	RemoteAddr string    `json:"remote_addr"`
	Received   time.Time `json:"received"`
	// Size is the number of bytes stored (the DATA bytes after dot-unstuffing).
	Size int64 `json:"size"`
}

// TLSInfo describes the TLS session a message arrived on.
type TLSInfo struct {
	Version     string `json:"version"` // e.g. "TLS 1.3"
	VersionID   uint16 `json:"version_id"`
	CipherSuite string `json:"cipher_suite"` // e.g. "TLS_AES_128_GCM_SHA256"
	CipherID    uint16 `json:"cipher_id"`
	// ServerName is the SNI the client sent, if any.
	ServerName string `json:"server_name,omitempty"`
	// STARTTLS is true when TLS was started with STARTTLS (RFC 3207) rather
	// than implicitly.
	STARTTLS bool `json:"starttls"`
	// ClientCertSubject is the subject DN of the verified client
	// certificate, "" when the client sent none.
	ClientCertSubject string `json:"client_cert_subject,omitempty"`
	// DidResume is true for a resumed session.
	DidResume bool `json:"did_resume,omitempty"`
}

// Summary says in one line how a message came: "STARTTLS, TLS 1.3,
// TLS_AES_128_GCM_SHA256", "implicit TLS, ..." or, for a nil TLSInfo (a
// message received in the clear), "no TLS".
func (t *TLSInfo) Summary() string {
	if t == nil {
		return "no TLS"
	}
	how := "implicit TLS"
	if t.STARTTLS {
		how = "STARTTLS"
	}
	return how + ", " + t.Version + ", " + t.CipherSuite
}

// Message is a stored message: its envelope and where its files are.
type Message struct {
	Envelope
	// Path is the .eml file holding exactly the DATA bytes received.
	Path string `json:"-"`
	// EnvelopePath is the .json sidecar.
	EnvelopePath string `json:"-"`
}

// Data reads the stored message bytes.
func (m Message) Data() ([]byte, error) { return os.ReadFile(m.Path) }

// store writes messages into dir/messages. Every file appears atomically:
// the bytes are written to a hidden temporary file and renamed, the .eml
// first and the .json last, so a listing (which looks for .json) never sees
// a partial message.
type store struct {
	dir  string // .../messages
	sync bool   // fsync files before renaming them (Config.Sync)
}

const (
	emlExt  = ".eml"
	jsonExt = ".json"
	tmpPref = ".tmp-"
)

func newStore(base string, sync bool) (*store, error) {
	dir := filepath.Join(base, "messages")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &store{dir: dir, sync: sync}, nil
}

// newID returns a random queue id: 16 upper-case hex digits.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// baseName is <received UTC, sortable>-<id>.
func baseName(received time.Time, id string) string {
	return received.UTC().Format("20060102T150405.000000000Z") + "-" + id
}

// pending is a message being received.
type pending struct {
	st   *store
	f    *os.File
	size int64
}

// begin opens a temporary file for the message bytes.
func (s *store) begin() (*pending, error) {
	f, err := os.CreateTemp(s.dir, tmpPref+"*"+emlExt)
	if err != nil {
		return nil, err
	}
	return &pending{st: s, f: f}, nil
}

// copyFrom streams r into the temporary file.
func (p *pending) copyFrom(r io.Reader) error {
	n, err := io.Copy(p.f, r)
	p.size += n
	return err
}

// abort removes the temporary file.
func (p *pending) abort() {
	name := p.f.Name()
	p.f.Close()
	os.Remove(name)
}

// commit makes the message visible under its final names.
func (p *pending) commit(env Envelope) (Message, error) {
	fail := func(err error) (Message, error) {
		p.abort()
		return Message{}, err
	}
	if p.st.sync {
		if err := p.f.Sync(); err != nil {
			return fail(err)
		}
	}
	if err := p.f.Close(); err != nil {
		return fail(err)
	}
	env.Size = p.size
	js, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return fail(err)
	}
	base := filepath.Join(p.st.dir, baseName(env.Received, env.ID))
	m := Message{Envelope: env, Path: base + emlExt, EnvelopePath: base + jsonExt}
	if err := os.Rename(p.f.Name(), m.Path); err != nil {
		return fail(err)
	}
	if err := writeFileAtomic(m.EnvelopePath, append(js, '\n'), p.st.sync); err != nil {
		os.Remove(m.Path)
		return Message{}, err
	}
	return m, nil
}

// writeFileAtomic writes data to a temporary file in path's directory
// (fsynced if sync) and renames it to path.
func writeFileAtomic(path string, data []byte, sync bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), tmpPref+"*"+filepath.Ext(path))
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// list reads every complete message in the store, oldest first.
func (s *store) list() ([]Message, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasSuffix(n, jsonExt) && !strings.HasPrefix(n, tmpPref) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]Message, 0, len(names))
	for _, n := range names {
		m, err := s.load(filepath.Join(s.dir, n))
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed by someone between ReadDir and now
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (s *store) load(jsonPath string) (Message, error) {
	js, err := os.ReadFile(jsonPath)
	if err != nil {
		return Message{}, err
	}
	var env Envelope
	if err := json.Unmarshal(js, &env); err != nil {
		return Message{}, fmt.Errorf("%s: %w", jsonPath, err)
	}
	return Message{
		Envelope:     env,
		Path:         strings.TrimSuffix(jsonPath, jsonExt) + emlExt,
		EnvelopePath: jsonPath,
	}, nil
}
