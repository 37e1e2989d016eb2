package main

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"regexp"
	"strings"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/message"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
	"github.com/tlsmail/tlsmail/trust"
)

// The packages below the CLI say what to change in words ("add its
// certificate to the trusted roots", "use implicit TLS on port 465"): a
// library user has no flags. This file is the one place that says which
// flag of which command makes that change. It works in two steps: what an
// error or a certificate problem asks the user to change (a setting, found
// from its kind and typed fields, never from its text), then the flags of
// the command that ran for that setting (the flagHints table).

// setting is one thing a fix asks the user to change.
type setting string

const (
	setCA             setting = "ca"               // the trusted roots
	setPin            setting = "pin"              // SPKI pins
	setName           setting = "name"             // the name the certificate is verified for
	setRevocation     setting = "revocation"       // the revocation check mode
	setTLSMode        setting = "tls-mode"         // STARTTLS, implicit TLS or none
	setImplicitOrNone setting = "implicit-or-none" // no STARTTLS: implicit TLS, or plaintext
	setTLSFirst       setting = "tls-first"        // the server wants TLS: STARTTLS or implicit
	setImplicit       setting = "implicit"         // implicit TLS (a port that waits for a handshake)
	setTimeout        setting = "timeout"
	setServer         setting = "server"        // host and port
	setAuthMech       setting = "auth-mech"     // the SASL mechanism
	setCredentials    setting = "credentials"   // user name and password source
	setPasswordEnv    setting = "password-env"  // the password's environment variable
	setPasswordFile   setting = "password-file" // the password's file
	setPasswordCmd    setting = "password-cmd"  // the password's command
	setUser           setting = "user"          // authenticate at all
	setEHLO           setting = "ehlo"          // the EHLO name
	setClientCert     setting = "client-cert"   // a client certificate and key
	setPFX            setting = "pfx"           // a client certificate from a PKCS#12 file (Windows)
	setCertStore      setting = "cert-store"    // a client certificate from a certificate store (Windows)
	setProvider       setting = "provider"      // the TLS implementation
	setVersions       setting = "versions"      // which TLS versions the server takes
	setTranscript     setting = "transcript"    // the session log
	setConfig         setting = "config"        // the configuration file
	setFrom           setting = "from"
	setRecipients     setting = "recipients"
	setSubject        setting = "subject"
	setInspect        setting = "inspect" // look at the server's certificate report (chain, pins)
)

// flagHint is one row of the table: with command cmd ("send", "probe",
// "cert" for cert verify and cert check), setting s is changed by flags.
type flagHint struct {
	cmd   string
	s     setting
	flags string
}

// flagHints is the table. A command with no row for a setting gets no hint
// (probe has no client certificate, cert no TLS mode); the fix text stands
// alone. TestFlagHintsNameRealFlags checks that every flag named here is a
// flag of its command.
var flagHints = []flagHint{
	{"send", setCA, "--ca FILE"},
	{"send", setPin, "--pin sha256/..."},
	{"send", setName, "--tls-name NAME"},
	{"send", setRevocation, "--revocation off|soft|strict"},
	{"send", setTLSMode, "--tls starttls|implicit|none"},
	{"send", setImplicitOrNone, "--tls implicit, or --tls none"},
	{"send", setTLSFirst, "--tls starttls or --tls implicit"},
	{"send", setImplicit, "--tls implicit"},
	{"send", setTimeout, "--timeout DURATION"},
	{"send", setServer, "--server HOST[:PORT]"},
	{"send", setAuthMech, "--auth MECH"},
	{"send", setCredentials, "--user NAME with --password-env, --password-file or --password-cmd"},
	{"send", setPasswordEnv, "--password-env VAR"},
	{"send", setPasswordFile, "--password-file FILE"},
	{"send", setPasswordCmd, "--password-cmd CMD"},
	{"send", setUser, "--user"},
	{"send", setEHLO, "--ehlo NAME"},
	{"send", setClientCert, "--cert FILE and --key FILE"},
	{"send", setProvider, "--tls-provider NAME"},
	{"send", setVersions, "tlsmail probe --versions"},
	{"send", setTranscript, "--transcript -"},
	{"send", setConfig, "--config FILE or TLSMAIL_CONFIG"},
	{"send", setFrom, "--from ADDRESS"},
	{"send", setRecipients, "--to, --cc or --bcc"},
	{"send", setSubject, "--subject"},
	{"send", setInspect, "tlsmail probe HOST[:PORT]"},

	{"probe", setCA, "--ca FILE"},
	{"probe", setPin, "--pin sha256/..."},
	{"probe", setName, "--name NAME"},
	{"probe", setRevocation, "--revocation off|soft|strict"},
	{"probe", setTLSMode, "--tls starttls|implicit"},
	{"probe", setImplicitOrNone, "--tls implicit"},
	{"probe", setTLSFirst, "--tls starttls or --tls implicit"},
	{"probe", setImplicit, "--tls implicit"},
	{"probe", setTimeout, "--timeout DURATION"},
	{"probe", setEHLO, "--ehlo NAME"},
	{"probe", setVersions, "--versions"},
	{"probe", setTranscript, "--transcript -"},

	{"cert", setCA, "--ca FILE"},
	{"cert", setPin, "--pin sha256/..."},
	{"cert", setName, "--name NAME"},
	{"cert", setRevocation, "--revocation off|soft|strict"},
}

// flagsFor returns the flags of cmd for s, or "".
func flagsFor(cmd string, s setting) string {
	for _, h := range platformFlagHints() {
		if h.cmd == cmd && h.s == s {
			return h.flags
		}
	}
	for _, h := range flagHints {
		if h.cmd == cmd && h.s == s {
			return h.flags
		}
	}
	return ""
}

// hintCommand is the table's name for the command at path (cobra's
// CommandPath, "tlsmail cert verify"), or "" for a command without hints.
func hintCommand(path string) string {
	words := strings.Fields(path)
	if len(words) < 2 {
		return ""
	}
	switch words[1] {
	case "send", "probe", "cert":
		return words[1]
	}
	return ""
}

// namesFlag matches a fix that already names a flag: the CLI's own fixes
// do, and get no second hint.
var namesFlag = regexp.MustCompile(`(^|[^A-Za-z0-9-])--[A-Za-z]`)

// withHint appends the flags of cmd for settings to fix, in parentheses.
func withHint(cmd, fix string, settings []setting) string {
	if fix == "" || cmd == "" || namesFlag.MatchString(fix) {
		return fix
	}
	var flags []string
	for _, s := range settings {
		if f := flagsFor(cmd, s); f != "" {
			flags = append(flags, f)
		}
	}
	if len(flags) == 0 {
		return fix
	}
	return fix + " (" + strings.Join(flags, "; ") + ")"
}

// hintProblems returns a copy of ps with the flags of cmd added to each
// fix.
func hintProblems(cmd string, ps []trust.Problem) []trust.Problem {
	if ps == nil || cmd == "" {
		return ps
	}
	out := make([]trust.Problem, len(ps))
	for i, p := range ps {
		p.Fix = withHint(cmd, p.Fix, problemSettings(p.Kind))
		out[i] = p
	}
	return out
}

// hintFailure adds the flags of cmd to f's fix and to its problems' fixes.
func hintFailure(cmd string, f failure) failure {
	if cmd == "" {
		return f
	}
	hinted := hintProblems(cmd, f.problems)
	for i, p := range f.problems {
		// A certificate error's fix is its first problem's: it gets
		// the same hint, and printError still prints it once.
		if f.fix == p.Fix {
			f.fix = hinted[i].Fix
			f.problems = hinted
			return f
		}
	}
	f.problems = hinted
	f.fix = withHint(cmd, f.fix, errorSettings(f.err))
	return f
}

// problemSettings is what a certificate problem's fix asks to change.
func problemSettings(k trust.Kind) []setting {
	switch k {
	case trust.KindSelfSigned:
		return []setting{setCA, setPin}
	case trust.KindUntrustedRoot, trust.KindMissingIntermediate:
		return []setting{setCA}
	case trust.KindNameMismatch:
		return []setting{setName}
	case trust.KindRevocationUnknown:
		return []setting{setRevocation}
	case trust.KindPinMismatch:
		return []setting{setPin, setInspect}
	case trust.KindMalformed:
		return []setting{setInspect}
	}
	return nil
}

// errorSettings is what the fix of err, an error of a lower layer, asks to
// change. It reads the error's kind and typed fields, as the layer that
// wrote the fix chose it.
func errorSettings(err error) []setting {
	if err == nil {
		return nil
	}
	if s := platformSettings(err); s != nil {
		return s
	}
	var se *smtp.Error
	var ie *message.InputError
	var ce *config.Error
	var sub *submit.Error
	switch {
	case errors.As(err, &se):
		return smtpSettings(se)
	case errors.As(err, &ie):
		return inputSettings(ie.Field)
	case errors.As(err, &sub):
		return submitSettings(sub)
	case errors.As(err, &ce):
		// A configuration file that cannot be found or read (not a
		// line of it that is wrong).
		if ce.Line == 0 && ce.Key == "" && ce.Err != nil {
			return []setting{setConfig}
		}
		if ce.Key == "tls_fingerprint" {
			return []setting{setInspect} // where to read the server's key or fingerprint
		}
	}
	return nil
}

// smtpSettings follows the fixes of package smtp (client.go, errors.go,
// scram.go) by kind and step.
func smtpSettings(e *smtp.Error) []setting {
	var silent *smtp.SilentGreetingError
	if errors.As(e, &silent) {
		// A plaintext session whose server said nothing: it probably
		// waits for a TLS handshake (smtp's fix: use implicit TLS,
		// else check the server and port, or allow more time).
		if silent.Closed {
			return []setting{setImplicit, setServer}
		}
		return []setting{setImplicit, setServer, setTimeout}
	}
	switch e.Kind {
	case smtp.KindNetwork:
		return []setting{setServer}
	case smtp.KindTimeout:
		if e.Op == "TLS handshake" {
			return []setting{setTLSMode, setTimeout}
		}
		return []setting{setServer, setTimeout}
	case smtp.KindProtocol:
		if e.Op == "AUTH" {
			return []setting{setAuthMech}
		}
		return []setting{setTLSMode}
	case smtp.KindStartTLSUnavailable:
		if e.Op == "EHLO" || e.Op == "STARTTLS" {
			return []setting{setImplicitOrNone}
		}
		return []setting{setTLSFirst}
	case smtp.KindTLSHandshake:
		return handshakeSettings(e)
	case smtp.KindAuth:
		switch {
		case e.Op != "AUTH":
			return []setting{setCredentials} // a 530 to MAIL or RCPT
		case e.Reply != nil && e.Reply.Code == 250:
			return []setting{setUser} // EHLO offered no AUTH
		case e.Reply != nil && e.Reply.Code/100 == 4:
			return nil
		}
		return []setting{setCredentials, setAuthMech}
	case smtp.KindConfig:
		switch e.Op {
		case "connect":
			return []setting{setTLSMode}
		case "EHLO":
			return []setting{setEHLO}
		case "AUTH":
			return []setting{setTLSMode, setAuthMech}
		}
	}
	return nil
}

// Windows status codes whose fixes (secchan/schannel errors.go) ask for a
// setting.
const (
	secEIncompleteCredentials = 0x80090320
	secEWrongPrincipal        = 0x80090322
	secEUntrustedRoot         = 0x80090325
	secEAlgorithmMismatch     = 0x80090331
)

// TLS alerts (RFC 8446 section 6) whose fixes (secchan/gotls) ask for a
// setting.
const (
	alertBadCertificate      = 42
	alertUnknownCA           = 48
	alertProtocolVersion     = 70
	alertUnrecognizedName    = 112
	alertCertificateRequired = 116
)

// handshakeSettings follows the fixes of the providers' handshake errors.
func handshakeSettings(e *smtp.Error) []setting {
	var he *secchan.HandshakeError
	if errors.As(e, &he) {
		switch he.Code {
		case secEIncompleteCredentials:
			return []setting{setClientCert}
		case secEWrongPrincipal:
			return []setting{setName}
		case secEUntrustedRoot:
			return []setting{setCA}
		case secEAlgorithmMismatch:
			return []setting{setVersions}
		}
	}
	var alert tls.AlertError
	var rh tls.RecordHeaderError
	var ne net.Error
	switch {
	case errors.As(e, &rh):
		return []setting{setTLSMode}
	case errors.As(e, &alert):
		switch alert {
		case alertProtocolVersion:
			return []setting{setVersions}
		case alertBadCertificate, alertUnknownCA, alertCertificateRequired:
			return []setting{setClientCert}
		case alertUnrecognizedName:
			return []setting{setName}
		}
		return []setting{setTranscript}
	case errors.As(e, &ne) && ne.Timeout():
		return []setting{setTLSMode, setTimeout}
	case he != nil && he.Code == 0 && he.Fix != "":
		return []setting{setVersions} // the server hung up mid-handshake
	}
	return nil
}

// submitSettings is what the fix of a *submit.Error (an account's setting
// that cannot be used as it is, or a secret that cannot be read) asks to
// change.
func submitSettings(e *submit.Error) []setting {
	switch e.Field {
	case "ca_file", "ca":
		return []setting{setCA}
	case "cert_file", "key_file", "client_cert":
		return []setting{setClientCert}
	case "cert_store":
		return []setting{setCertStore}
	case "pfx":
		return []setting{setPFX}
	case "provider": // a certificate store entry for another provider than schannel
		return []setting{setProvider, setClientCert}
	case "server_name":
		return []setting{setName}
	case "user":
		return []setting{setUser}
	case "auth":
		return []setting{setAuthMech}
	case "secret_command":
		if errors.Is(e, context.DeadlineExceeded) {
			return []setting{setTimeout}
		}
		return secretSettings(e, e.Source)
	case "secret_file":
		if errors.Is(e, message.ErrNotRegular) {
			// Not a file: a program's output is a command's job.
			return append(secretSettings(e, e.Source), secretSettings(e, submit.SecretCommand)...)
		}
		return secretSettings(e, e.Source)
	case "secret":
		return secretSettings(e, e.Source)
	}
	return nil
}

// secretSettings is the setting for a source of the secret e is about:
// the password's flags, or (Windows) the PFX password's.
func secretSettings(e *submit.Error, src submit.SecretSource) []setting {
	if e.Secret == submit.SecretPFXPassword {
		return platformSecretSettings(src)
	}
	if e.Secret != submit.SecretPassword {
		return nil
	}
	switch src {
	case submit.SecretEnv:
		return []setting{setPasswordEnv}
	case submit.SecretFile:
		return []setting{setPasswordFile}
	case submit.SecretCommand:
		return []setting{setPasswordCmd}
	}
	return nil
}

// certErrorSettings is what the fix of a client certificate Windows
// cannot find or open (schannel.CertError) asks to change, by where it was
// looked for: a PFX file (submit names it "PFX file PATH"), or a
// certificate store.
func certErrorSettings(where string) []setting {
	if strings.HasPrefix(where, "PFX file") {
		return []setting{setPFX}
	}
	return []setting{setCertStore}
}

// inputSettings follows the fixes of package message by field.
func inputSettings(field string) []setting {
	switch field {
	case "from":
		return []setting{setFrom}
	case "to":
		return []setting{setRecipients}
	}
	// A header field tlsmail writes itself, given with --header.
	name, ok := strings.CutPrefix(field, "header ")
	if !ok {
		return nil
	}
	switch strings.ToLower(strings.Trim(name, `"`)) {
	case "from":
		return []setting{setFrom}
	case "to", "cc", "bcc":
		return []setting{setRecipients}
	case "subject":
		return []setting{setSubject}
	}
	return nil
}
