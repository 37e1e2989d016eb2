package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/tlsmail/tlsmail/internal/certinfo"
	"github.com/tlsmail/tlsmail/trust"
)

// Exit status 1 of the certificate commands (probe, cert verify, cert
// check): the check ran and found at least one error-level problem. It is
// not a sysexits code: like diff(1) and grep(1), 1 means "the answer is no".
const exitProblems = 1

// JSON error kinds of the certificate commands.
const (
	kindInput    = "input"    // an input file is missing or unreadable (66)
	kindProblems = "problems" // error-level certificate problems (1)
)

// exitError is an outcome of the certificate commands that carries its
// own exit status and JSON kind: problems found (1), a missing input file
// (66), an unusable flag value (64). classify maps it as it says.
type exitError struct {
	code int
	kind string
	msg  string
	fix  string
	err  error
}

func (e *exitError) Error() string {
	if e.msg == "" && e.err != nil {
		return e.err.Error()
	}
	return e.msg
}

func (e *exitError) Unwrap() error { return e.err }

// certError turns an error of the certificate flags (certFlags), package
// certinfo or trust into an *exitError: a bad flag value exits 64, an input
// file that is missing or unreadable 66, anything else 70; cmd names the
// command for the usage fix.
func certError(err error, cmd string) *exitError {
	xe := &exitError{err: err, msg: err.Error()}
	var ie *certinfo.InputError
	var fe *flagError
	var pe *trust.PinError
	switch {
	case errors.As(err, &fe):
		xe.code, xe.kind, xe.fix = exitUsage, kindUsage, fmt.Sprintf("see '%s --help'", cmd)
	case errors.As(err, &pe):
		xe.code, xe.kind, xe.fix = exitUsage, kindUsage, "write a pin as sha256/ followed by the base64 of the SHA-256 of the SubjectPublicKeyInfo (44 characters)"
	case errors.As(err, &ie):
		xe.code, xe.kind, xe.msg, xe.fix = exitNoInput, kindInput, fmt.Sprintf("%s: %s", ie.Path, ie.Reason), ie.Fix
		if xe.fix == "" {
			xe.fix = "check the path and the file's permissions"
		}
	default:
		xe.kind, xe.code = kindInternal, exitSoftware
		xe.fix = "this is a bug in tlsmail; please report it with the command line"
	}
	return xe
}

// problemsFound is the error a certificate command returns, after printing
// its report, when the report holds an error-level problem: run exits 1
// and prints nothing more.
func problemsFound(res certinfo.Result) error {
	return &reported{&exitError{code: exitProblems, kind: kindProblems, msg: res.Verdict(),
		fix: "see the problems listed above"}}
}

// certFailureJSON is the JSON object of a certificate command that could
// not produce a report (usage or input error): the report's fields, empty,
// and the error.
type certFailureJSON struct {
	OK           bool       `json:"ok"`
	Problems     []any      `json:"problems"`
	Certificates []any      `json:"certificates"`
	Error        *jsonError `json:"error"`
}

// finishCert prints the outcome of cert verify or cert check and returns
// what run needs for the exit status.
func finishCert(w io.Writer, asJSON bool, cmd string, res certinfo.Result, err error) error {
	if err != nil {
		xe := certError(err, cmd)
		if !asJSON {
			return xe
		}
		writeJSON(w, certFailureJSON{Problems: []any{}, Certificates: []any{}, Error: errorJSON(hintFailure(hintCommand(cmd), classify(xe)))})
		return &reported{xe}
	}
	res.Problems = hintProblems(hintCommand(cmd), res.Problems)
	if asJSON {
		writeJSON(w, res)
	} else if werr := res.WriteText(w); werr != nil {
		return werr
	}
	if !res.OK {
		return problemsFound(res)
	}
	return nil
}

func newCertCommand(e *env, st *runState) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Verify a certificate chain or a server's certificate and key files",
		Long: `Check certificates on disk and explain what is wrong with them.

  tlsmail cert verify CHAIN.pem           the chain a server sends (like openssl verify)
  tlsmail cert check --cert F --key F     a server's certificate and private key files

Both print a verdict line, the chain drawn as a tree with a mark on each
certificate (` + certinfo.MarkOK + ` fine, ` + certinfo.MarkError + ` error, ` + certinfo.MarkWarning + ` warning, ` + certinfo.MarkMissing + ` missing), every problem
found with what to do about it, then the details of each certificate.

Exit codes: 0 no error-level problem (warnings allowed), 1 problems found,
64 usage error, 66 an input file is missing or unreadable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st.started = true
			return cmd.Help()
		},
	}
	cmd.AddCommand(newCertVerifyCommand(e, st), newCertCheckCommand(e, st))
	return cmd
}

// certJSONHelp documents the --json object of the certificate commands.
const certJSONHelp = `--json prints one JSON object on standard output:
  {"ok": true|false, "name": "...", "time": "...",
   "problems": [{"kind": "expired", "severity": "error"|"warning",
                 "certificate": 0, "subject": "...", "summary": "...", "fix": "..."}],
   "certificates": [{"index": 0, "role": "leaf", "sent": true, "subject": "...",
                     "issuer": "...", "sans": [...], "not_before": "...",
                     "not_after": "...", "days_left": 89, "key": "ECDSA P-256",
                     "signature": "ECDSA-SHA256", "sha256": "AB:CD:...",
                     "spki_sha256": "sha256/..."}],
   "path": [0, 1, 2], "trusted": true, "revocation": [...]}
"certificate" in a problem is an index into "certificates" (-1: the chain
as a whole). When no report can be made (usage or input error), "error"
holds {"kind", "message", "fix", "exit_code"}.

Problem kinds: expired, not-yet-valid, name-mismatch, self-signed,
untrusted-root, missing-intermediate, revoked, revocation-unknown,
weak-signature, weak-key, wrong-usage, not-a-ca, path-length,
name-constraints, malformed, pin-mismatch, expiring-soon (a warning within
14 days of expiry), no-certificate, unparseable-certificate (crypto/x509
cannot parse it: listed with "unparsed": true and its sha256 only).`

type certVerifyOptions struct {
	certFlags
	json bool
}

func newCertVerifyCommand(e *env, st *runState) *cobra.Command {
	o := &certVerifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify [flags] CHAIN.pem",
		Short: "Verify a certificate chain on disk and explain every problem",
		Long: `Verify a certificate chain from a file, as a client would when a server
presents it, and explain every problem found: which certificate, what is
wrong with the concrete values, and what to do.

CHAIN.pem holds PEM certificates, leaf first, then any intermediates (the
file a server is configured with, e.g. fullchain.pem); a single DER
certificate is accepted too. Without --name no name is checked; revocation
is checked through the CRL and OCSP URLs in the certificates.

@flags name at ca revocation

` + certJSONHelp + `

Exit codes: 0 no error-level problem, 1 problems found (a certificate that
cannot be parsed included), 64 usage error, 66 a file is missing,
unreadable, or holds no certificate.`,
		Example: `  tlsmail cert verify --name mail.example.com /etc/ssl/mail/fullchain.pem
  tlsmail cert verify --ca internal-ca.pem --name 10.0.0.5 --json chain.pem
  tlsmail cert verify --at 2030-01-01T00:00:00Z chain.pem   # still valid then?`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st.started = true
			st.json = o.json
			opts, err := o.options(e.revocationChecker())
			var res certinfo.Result
			if err == nil {
				res, err = certinfo.VerifyFile(cmd.Context(), args[0], opts)
			}
			return finishCert(e.stdout, o.json, cmd.CommandPath(), res, err)
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	o.register(fs, "the leaf", "verify at `TIME` (RFC 3339, e.g. 2030-01-01T00:00:00Z) instead of now")
	fs.BoolVar(&o.json, "json", false, "print one JSON object on standard output")
	cmd.Long = helpFlags(cmd.Long, fs)
	return cmd
}

type certCheckOptions struct {
	certFlags
	cert, key string
	json      bool
}

func newCertCheckCommand(e *env, st *runState) *cobra.Command {
	o := &certCheckOptions{}
	cmd := &cobra.Command{
		Use:   "check --cert FILE --key FILE [flags]",
		Short: "Check a server's certificate and private key files before the server uses them",
		Long: `Check the certificate and key files a mail server is configured with, and
say what to change for each problem:

  - the key file is readable (a permission problem is named, with the path,
    the mode and the owner) and not readable by every user;
  - the key is not encrypted with a passphrase the server cannot enter;
  - the key matches the certificate (and which certificate it matches when
    the file lists them in the wrong order);
  - the chain in --cert is complete (leaf first, then the intermediates)
    and reaches a trusted root (the system's, or --ca FILE);
  - the name given with --name is in the subject alternative names;
  - the dates, the key strength and the signature algorithms;
  - with --pin, that the key still matches the SPKI pin clients hold (a
    renewal with a new key breaks pinned clients).

` + certJSONHelp + `
cert check adds "private_key": {"path", "mode", "type", "matches_certificate"}
and the kinds key-mismatch, key-encrypted (errors) and key-permissions (a
warning).

Exit codes: 0 no error-level problem, 1 problems found, 64 usage error,
66 a file is missing or unreadable (a permission problem included).`,
		Example: `  tlsmail cert check --cert /etc/postfix/fullchain.pem --key /etc/postfix/privkey.pem \
      --name mail.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st.started = true
			st.json = o.json
			opts, err := o.options(e.revocationChecker())
			var res certinfo.Result
			if err == nil {
				res, err = certinfo.CheckKeyPair(cmd.Context(), o.cert, o.key, opts)
			}
			return finishCert(e.stdout, o.json, cmd.CommandPath(), res, err)
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	fs.StringVar(&o.cert, "cert", "", "the server's certificate chain PEM `FILE` (leaf first)")
	fs.StringVar(&o.key, "key", "", "the server's private key PEM `FILE`")
	o.register(fs, "the certificate", "check at `TIME` (RFC 3339) instead of now")
	fs.BoolVar(&o.json, "json", false, "print one JSON object on standard output")
	cmd.MarkFlagRequired("cert")
	cmd.MarkFlagRequired("key")
	return cmd
}
