package main

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/tlsmail/tlsmail/internal/safetext"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/submit"
	"github.com/tlsmail/tlsmail/trust"
)

// jsonOutput is the one object `send --json` prints. Its field names are
// part of the interface: scripts read them.
type jsonOutput struct {
	OK       bool           `json:"ok"`
	Server   string         `json:"server,omitempty"`
	Mode     string         `json:"mode,omitempty"`
	TLS      *jsonTLS       `json:"tls"`
	Auth     string         `json:"auth"`
	Accepted []string       `json:"accepted"`
	Rejected []jsonRejected `json:"rejected"`
	Response string         `json:"response"`
	Error    *jsonError     `json:"error,omitempty"`
}

type jsonTLS struct {
	Version  string `json:"version"`
	Cipher   string `json:"cipher"`
	Verified bool   `json:"verified"`
	Provider string `json:"provider"`
	// ServerName is the name the certificate was verified for (and sent
	// in SNI unless it is an IP address).
	ServerName string `json:"server_name"`
	Resumed    bool   `json:"resumed"`
	// Chain lists the subjects of the verified path (leaf first), or of
	// the chain as sent when no path verified.
	Chain    []string        `json:"chain"`
	Problems []trust.Problem `json:"problems"`
}

type jsonRejected struct {
	Address string `json:"address"`
	Code    int    `json:"code"`
	Reply   string `json:"reply"`
}

type jsonError struct {
	Kind     string          `json:"kind"`
	Message  string          `json:"message"`
	Fix      string          `json:"fix"`
	Problems []trust.Problem `json:"problems"`
	ExitCode int             `json:"exit_code"`
}

// jsonOutputOf renders what a send learnt (o, nil when nothing) and its
// error, if any.
func jsonOutputOf(o *submit.Sent, err error) jsonOutput {
	j := jsonOutput{OK: err == nil, Accepted: []string{}, Rejected: []jsonRejected{}}
	if o == nil {
		o = &submit.Sent{}
	}
	j.Server, j.Mode, j.Auth = o.Addr, string(o.Mode), o.AuthMech
	if o.TLS != nil {
		j.TLS = tlsJSON(o.TLS, o.TLSName)
	}
	if r := o.Result; r != nil {
		j.Accepted = append(j.Accepted, r.Accepted...)
		for _, rj := range r.Rejected {
			j.Rejected = append(j.Rejected, jsonRejected{Address: rj.Addr, Code: rj.Reply.Code, Reply: rj.Reply.String()})
		}
		if r.Response != nil {
			j.Response = r.Response.String()
		}
	}
	if err != nil {
		j.Error = errorJSON(hintFailure("send", classify(err)))
	}
	return j
}

// failureOutput is the JSON object for an error found before any
// connection (a usage or configuration error).
func failureOutput(f failure) jsonOutput {
	return jsonOutput{Accepted: []string{}, Rejected: []jsonRejected{}, Error: errorJSON(f)}
}

func errorJSON(f failure) *jsonError {
	p := f.problems
	if p == nil {
		p = []trust.Problem{}
	}
	return &jsonError{Kind: f.kind, Message: f.message, Fix: f.fix, Problems: p, ExitCode: f.code}
}

func tlsJSON(st *secchan.State, name string) *jsonTLS {
	t := &jsonTLS{
		Version:    secchan.VersionName(st.Version),
		Cipher:     st.CipherName,
		Verified:   st.Verified,
		Provider:   st.Provider,
		ServerName: name,
		Resumed:    st.Resumed,
		Chain:      []string{},
		Problems:   hintProblems("send", st.Report.Problems),
	}
	for _, c := range chainOf(st) {
		t.Chain = append(t.Chain, c.Subject.String())
	}
	if t.Problems == nil {
		t.Problems = []trust.Problem{}
	}
	return t
}

// chainOf returns the verified path when there is one, else the chain as
// the server sent it.
func chainOf(st *secchan.State) []*x509.Certificate {
	if len(st.Report.Path) > 0 {
		return st.Report.Path
	}
	return st.PeerCertificates
}

// writeJSON prints v as indented JSON and a newline.
func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// printOutcome prints a send's result for people: the result on stdout,
// warnings on stderr. Server replies and other text the peer chose pass
// through safetext.Quote, so a server cannot write terminal escapes or
// forge lines; the JSON output needs no such step.
func printOutcome(stdout, stderr io.Writer, o *submit.Sent) {
	if o == nil {
		return
	}
	r := o.Result
	if r != nil && r.Response != nil && r.Response.Code == 250 {
		fmt.Fprintf(stdout, "sent:     %s\n", safetext.Quote(r.Response.String()))
	}
	fmt.Fprintf(stdout, "server:   %s (%s)\n", safetext.Quote(o.Addr), o.Mode.Name())
	if o.TLS != nil {
		printTLS(stdout, o.TLS, o.TLSName)
	} else {
		fmt.Fprintf(stdout, "tls:      none: the session was NOT encrypted\n")
	}
	if o.AuthMech != "" {
		fmt.Fprintf(stdout, "auth:     %s\n", o.AuthMech)
	}
	if r != nil {
		delivered := r.Response != nil && r.Response.Code == 250
		if len(r.Accepted) > 0 {
			if delivered {
				fmt.Fprintf(stdout, "accepted: %s\n", safetext.Quote(strings.Join(r.Accepted, ", ")))
			} else {
				// RCPT took them, the message did not get through
				// (a refused or broken DATA): "accepted" alone would
				// read as delivered.
				fmt.Fprintf(stdout, "not sent: %s (recipients accepted, but the message was not delivered)\n", safetext.Quote(strings.Join(r.Accepted, ", ")))
			}
		}
		for _, rj := range r.Rejected {
			fmt.Fprintf(stdout, "rejected: %s: %s\n", safetext.Quote(rj.Addr), safetext.Quote(rj.Reply.String()))
		}
		if len(r.Rejected) > 0 && len(r.Accepted) > 0 && delivered {
			fmt.Fprintf(stderr, "tlsmail: warning: %d recipient(s) refused; the message went to the others\n", len(r.Rejected))
		}
	}
	if r != nil && r.QuitErr != nil {
		fmt.Fprintf(stderr, "tlsmail: warning: the message was accepted, but closing the session failed: %s\n", safetext.Quote(r.QuitErr.Error()))
	}
}

// printTLS prints the TLS details of a session: version, cipher, the
// verdict for name, the chain and any problems, certificate text quoted.
func printTLS(w io.Writer, st *secchan.State, name string) {
	verdict := "certificate verified"
	if !st.Verified {
		verdict = "certificate NOT verified (--insecure)"
	}
	extra := ""
	if st.Group != "" {
		extra += ", " + st.Group
	}
	if st.Resumed {
		extra += ", resumed"
	}
	fmt.Fprintf(w, "tls:      %s, %s%s, %s provider, %s for %q\n",
		secchan.VersionName(st.Version), st.CipherName, extra, st.Provider, verdict, name)
	for i, c := range chainOf(st) {
		label := "chain:   "
		if i > 0 {
			label = "         "
		}
		fmt.Fprintf(w, "%s %d: %s\n", label, i, safetext.Quote(c.Subject.String()))
	}
	for _, p := range hintProblems("send", st.Report.Problems) {
		fmt.Fprintf(w, "problem:  %s\n", safetext.Quote(p.String()))
		if p.Fix != "" {
			fmt.Fprintf(w, "          fix: %s\n", safetext.Quote(p.Fix))
		}
	}
}

// printError prints a failure for people on stderr: what happened, what to
// do, and every certificate problem. Messages quote the server (replies,
// certificate names in x509 errors), so each line passes through
// safetext.Quote: a newline inside a message is shown as \x0a, never
// starts a line of its own.
func printError(w io.Writer, f failure) {
	fmt.Fprintf(w, "tlsmail: %s\n", safetext.Quote(f.message))
	if f.stderr != "" {
		fmt.Fprintf(w, "  the command's error output: %s\n", safetext.Quote(f.stderr))
	}
	for _, p := range f.problems {
		fmt.Fprintf(w, "  problem: %s\n", safetext.Quote(p.String()))
		if p.Fix != "" {
			fmt.Fprintf(w, "      fix: %s\n", safetext.Quote(p.Fix))
		}
	}
	if f.fix != "" && (len(f.problems) == 0 || f.fix != f.problems[0].Fix) {
		fmt.Fprintf(w, "  fix: %s\n", safetext.Quote(f.fix))
	}
	fmt.Fprintf(w, "  (error kind %s, exit code %d)\n", f.kind, f.code)
}

func sortStrings(s []string) []string {
	slices.Sort(s)
	return s
}
