package config

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/trust"
)

// KeyInfo documents one configuration command.
type KeyInfo struct {
	// Name is the command as written in the file.
	Name string
	// Doc says what tlsmail does with it.
	Doc string
}

// Keys lists the commands tlsmail acts on, msmtp's and its own, for the
// documentation.
func Keys() []KeyInfo {
	return []KeyInfo{
		{"defaults", "start the section of default values for the accounts that follow"},
		{"account", "start an account: `account NAME [: PARENT[,PARENT...]]`"},
		{"eval", "replace the line by the first line a command prints (only when the caller enables it)"},
		{"host", "SMTP server host name or address"},
		{"port", "server port (default 25, or 465 for TLS without STARTTLS)"},
		{"timeout", "network timeout in seconds, or off (alias: connect_timeout)"},
		{"protocol", "smtp (lmtp is not supported)"},
		{"domain", "EHLO argument (default localhost); %H, %C and %M are expanded"},
		{"auth", "on, off, or a mechanism: plain, login, scram-sha-256, cram-md5, oauthbearer, xoauth2 (the others msmtp knows are refused: see RefusedKeys)"},
		{"user", "user name for authentication"},
		{"password", "password (prefer passwordeval)"},
		{"passwordeval", "command whose first output line is the password, run when a message is sent"},
		{"tls", "on to use TLS"},
		{"tls_starttls", "on for STARTTLS (RFC 3207), off for implicit TLS (RFC 8314)"},
		{"tls_trust_file", "system, a PEM file of trusted CAs, or empty for none"},
		{"tls_fingerprint", "server certificate fingerprint, SHA-256 as 01:23:..."},
		{"tls_cert_file", "client certificate (PEM)"},
		{"tls_key_file", "client certificate key (PEM)"},
		{"tls_certcheck", "off disables server certificate checks (alias: tls_nocertcheck)"},
		{"tls_host_override", "name to verify the certificate against instead of host"},
		{"tls_crl_file", "a file of certificate revocation lists (PEM or DER): a certificate of the server's chain it lists is revoked"},
		{"from", "envelope sender; may be a wildcard pattern to pick the account for the sender given on the command line; %U, %H, %C and %M are expanded in sendmail mode"},
		{"auto_from", "obsolete in msmtp (use from %U@DOMAIN): on sends as user@maildomain in sendmail mode, whatever from and the command line's sender say"},
		{"maildomain", "the domain of auto_from's address"},
		{"allow_from_override", "off: the envelope sender is from, whatever the command line's sender says (which still picks the account)"},
		{"set_from_header", "auto (add From when missing), on (always write From from the envelope sender), off (alias: add_missing_from_header)"},
		{"set_date_header", "auto (add Date when missing) or off (alias: add_missing_date_header)"},
		{"set_msgid_header", "auto (add Message-ID when missing) or off"},
		{"remove_bcc_headers", "on (the default) removes Bcc fields; off keeps them (alias: keepbcc)"},
		{"undisclosed_recipients", "on replaces To, Cc and Bcc by \"To: undisclosed-recipients:;\""},
		{"aliases", "file mapping local recipients (root, postmaster) to addresses, as msmtp's"},
		{"logfile", "file (or - for standard output) where one line per message is written, as msmtp's"},
		{"logfile_time_format", "strftime(3) format of the log line's time stamp"},
		{"syslog", "on, off, or a facility (LOG_MAIL...): the log line goes to syslog (not on Windows)"},
		{"dsn_notify", "delivery status notifications (RFC 3461): off, never, or a comma-separated list of failure, delay, success (RCPT NOTIFY=); a server without DSN refuses the message"},
		{"dsn_return", "what a notification returns: off, headers or full (MAIL RET=HDRS or FULL)"},
		{"tls_pin", "tlsmail: SPKI pins, sha256/BASE64, comma-separated"},
		{"tls_provider", "tlsmail: TLS provider name (go, schannel)"},
		{"queue_dir", "tlsmail: outbox directory"},
		{"queue_url", "tlsmail: outbox on PostgreSQL, postgres://user@host/db (password from ~/.pgpass)"},
		{"revocation", "tlsmail: revocation checking: soft, strict or off"},
	}
}

// IgnoredKeys lists the msmtp commands tlsmail accepts (checking their
// argument as msmtp does) and does not act on, with the reason. The values
// are kept in Account.Ignored. A command whose setting tlsmail cannot
// honour is accepted only with the arguments that ask for nothing tlsmail
// does not do (empty, off, or a setting msmtp too applies only with a
// command tlsmail refuses); with any other, Account.Check refuses it (see
// RefusedKeys).
func IgnoredKeys() []KeyInfo {
	return []KeyInfo{
		{"source_ip", "empty only: tlsmail lets the operating system choose the source address"},
		{"proxy_port", "used by msmtp only with proxy_host, which tlsmail refuses"},
		{"ntlmdomain", "used by msmtp only with auth ntlm, which tlsmail refuses"},
		{"tls_priorities", "empty only: TLS parameters come from the TLS provider"},
		{"tls_min_dh_prime_bits", "empty only"},
		{"tls_force_sslv3", "off only: SSLv3 is never used"},
	}
}

// RefusedKeys lists the msmtp commands, with the arguments, that tlsmail
// cannot honour: Account.Check refuses an account that uses them (rather
// than send as if they were not there), naming the command and what to
// do. msmtp accepts them; the refusal is deliberate.
func RefusedKeys() []KeyInfo {
	return []KeyInfo{
		{"tls_priorities STRING", "GnuTLS/libtls priority strings are not read: remove the line; tlsmail uses TLS 1.2 or later with its provider's cipher suites"},
		{"tls_min_dh_prime_bits N", "remove the line: tlsmail leaves key exchange parameters to its TLS provider"},
		{"tls_force_sslv3 on", "SSLv3 is broken (RFC 7568) and never used: remove the line"},
		{"source_ip ADDRESS", "remove the line: tlsmail lets the operating system choose the source address (use a route, or msmtp for this account)"},
		{"auth scram-sha-1|digest-md5|external|gssapi|ntlm", "use auth on (the strongest mechanism the server offers) or plain, login, cram-md5, scram-sha-256"},
	}
}

// refused says why tlsmail cannot honour the ignored command key with
// argument arg, and what to do; ok is false when the command asks for
// nothing tlsmail does not do.
func refused(key, arg string) (msg, fix string, ok bool) {
	switch key {
	case "tls_priorities":
		if arg == "" {
			return "", "", false
		}
		return "tls_priorities (a GnuTLS or libtls priority string) is not supported",
			"remove the line: tlsmail uses TLS 1.2 or later with its TLS provider's cipher suites", true
	case "tls_min_dh_prime_bits":
		if arg == "" {
			return "", "", false
		}
		return "tls_min_dh_prime_bits is not supported", "remove the line: tlsmail leaves key exchange parameters to its TLS provider", true
	case "tls_force_sslv3":
		if arg == "off" {
			return "", "", false
		}
		return "tls_force_sslv3 is not supported: SSLv3 is broken (RFC 7568) and never used", "remove the line", true
	case "source_ip":
		if arg == "" {
			return "", "", false
		}
		return "source_ip is not supported", "remove the line: tlsmail lets the operating system choose the source address (use a route, or keep msmtp for this account)", true
	}
	return "", "", false
}

// unsupportedAuth are the auth mechanisms msmtp accepts and tlsmail's SMTP
// client does not implement.
func unsupportedAuth(mech string) bool {
	switch mech {
	case "scram-sha-1", "digest-md5", "external", "gssapi", "ntlm":
		return true
	}
	return false
}

// argError is a bad argument; the parser adds file, line and key.
// invalid marks a value the command does not take (ErrInvalidArgument),
// as opposed to a command tlsmail refuses.
type argError struct {
	msg, fix string
	invalid  bool
}

func (e *argError) Error() string { return e.msg }

func (e *argError) Is(target error) bool { return e.invalid && target == ErrInvalidArgument }

// ErrInvalidArgument is what errors.Is finds in the *Error of a value a
// command does not take (Account.Override's "invalid argument abc for
// command port"): msmtp's command line calls such an option value a usage
// error.
var ErrInvalidArgument = errors.New("invalid argument")

func invalidArg(key, arg, fix string) error {
	return &argError{msg: fmt.Sprintf("invalid argument %s for command %s", arg, key), fix: fix, invalid: true}
}

func needArg(key string) error {
	return &argError{msg: fmt.Sprintf("command %s needs an argument", key)}
}

const onOffFix = "use on or off (lower case), or nothing for on"

// onOff parses msmtp's boolean: "" and "on" are true, "off" false.
func onOff(key, arg string) (bool, error) {
	switch arg {
	case "", "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, invalidArg(key, arg, onOffFix)
}

// canonical maps alias commands to the command whose setting they change,
// translating the argument. ok is false for an unknown command.
func canonical(key, arg string) (ckey, carg string, err error) {
	switch key {
	case "connect_timeout":
		return "timeout", arg, nil
	case "tls_nocertcheck":
		if arg != "" {
			return "", "", &argError{msg: "command tls_nocertcheck does not take an argument"}
		}
		return "tls_certcheck", "off", nil
	case "keepbcc":
		on, err := onOff(key, arg)
		if err != nil {
			return "", "", err
		}
		if on {
			return "remove_bcc_headers", "off", nil
		}
		return "remove_bcc_headers", "on", nil
	case "add_missing_from_header", "add_missing_date_header":
		on, err := onOff(key, arg)
		if err != nil {
			return "", "", err
		}
		ck := "set_from_header"
		if key == "add_missing_date_header" {
			ck = "set_date_header"
		}
		if on {
			return ck, "auto", nil
		}
		return ck, "off", nil
	}
	return key, arg, nil
}

// authMechs are the values auth accepts besides on and off (msmtp 1.8).
func authMechs() []string {
	return []string{"plain", "login", "scram-sha-1", "scram-sha-256", "cram-md5",
		"digest-md5", "external", "gssapi", "ntlm", "oauthbearer", "xoauth2"}
}

// applyKey sets the canonical command key to arg on a. known is false for a
// command nobody knows. home expands a leading '~' in file names.
func applyKey(a *Account, key, arg, home string) (known bool, err error) {
	tilde := func(s string) string {
		if strings.HasPrefix(s, "~") && home != "" {
			return home + s[1:]
		}
		return s
	}
	ignore := func() { a.Ignored[key] = arg }
	switch key {
	case "host":
		if arg == "" {
			return true, needArg(key)
		}
		a.Host = arg
	case "port":
		if arg == "" {
			return true, needArg(key)
		}
		n := posInt(arg)
		if n < 1 || n > 65535 {
			return true, invalidArg(key, arg, "use a port number from 1 to 65535")
		}
		a.Port = n
	case "timeout":
		if arg == "" {
			return true, needArg(key)
		}
		if arg == "off" {
			a.Timeout = 0
			break
		}
		n := posInt(arg)
		if n < 1 {
			return true, invalidArg(key, arg, "use a whole number of seconds, or off")
		}
		a.Timeout = time.Duration(n) * time.Second
	case "protocol":
		switch arg {
		case "":
			return true, needArg(key)
		case "smtp":
		case "lmtp":
			return true, &argError{msg: "protocol lmtp is not supported by tlsmail", fix: "use protocol smtp, or msmtp for LMTP"}
		default:
			return true, invalidArg(key, arg, "use smtp")
		}
	case "domain":
		a.Domain = arg
	case "auth":
		switch arg {
		case "", "on":
			a.Auth = "on"
		case "off":
			a.Auth = ""
		default:
			if !slices.Contains(authMechs(), arg) {
				return true, invalidArg(key, arg, "use on, off, or one of "+strings.Join(authMechs(), ", "))
			}
			a.Auth = arg
		}
	case "user":
		a.User = arg
	case "password":
		a.Password = arg
	case "passwordeval":
		a.PasswordEval = arg
	case "tls":
		a.TLS, err = onOff(key, arg)
	case "tls_starttls":
		a.StartTLS, err = onOff(key, arg)
	case "tls_certcheck":
		a.CertCheck, err = onOff(key, arg)
	case "tls_trust_file":
		if arg == "system" {
			a.TrustFile = arg
		} else {
			a.TrustFile = tilde(arg)
		}
	case "tls_cert_file":
		a.CertFile = tilde(arg)
	case "tls_key_file":
		a.KeyFile = tilde(arg)
	case "tls_fingerprint":
		if arg == "" {
			a.Fingerprint = nil
			break
		}
		fp := parseFingerprint(arg)
		if fp == nil {
			return true, invalidArg(key, arg, "give the SHA-256 fingerprint of the server's certificate as 32 hex pairs separated by colons")
		}
		a.Fingerprint = fp
	case "tls_host_override":
		a.TLSHostOverride = arg
	case "from":
		a.From = arg
	case "tls_pin":
		a.Pin = nil
		for _, p := range strings.Split(arg, ",") {
			p = strings.Trim(p, " \t")
			if p == "" {
				continue
			}
			if !validPin(p) {
				return true, invalidArg(key, p, "give SPKI pins as sha256/BASE64 (44 base64 characters), separated by commas")
			}
			a.Pin = append(a.Pin, p)
		}
	case "tls_provider":
		a.Provider = arg
	case "queue_dir":
		a.QueueDir = tilde(arg)
	case "queue_url":
		a.QueueURL = arg
	case "revocation":
		switch m := trust.RevocationMode(arg); m {
		case trust.RevocationSoft, trust.RevocationStrict, trust.RevocationOff:
			a.Revocation = m
		case "":
			a.Revocation = ""
		default:
			return true, invalidArg(key, arg, "use soft, strict or off")
		}

	// msmtp commands tlsmail does not act on: check as msmtp does, keep.
	case "proxy_host", "socket":
		if arg != "" {
			return true, &argError{msg: fmt.Sprintf("command %s is not supported by tlsmail", key),
				fix: "tlsmail connects directly to host and port; remove the line or keep using msmtp for this account"}
		}
		ignore()
	case "source_ip", "ntlmdomain", "tls_priorities":
		ignore()
	case "maildomain":
		a.MailDomain = arg
	case "tls_crl_file":
		a.CRLFile = tilde(arg)
	case "aliases":
		a.Aliases = tilde(arg)
	case "logfile":
		a.LogFile = tilde(arg)
	case "logfile_time_format":
		a.LogTimeFormat = arg
	case "proxy_port":
		if arg != "" {
			if n := posInt(arg); n < 1 || n > 65535 {
				return true, invalidArg(key, arg, "use a port number from 1 to 65535")
			}
		}
		ignore()
	case "tls_min_dh_prime_bits":
		if arg != "" && posInt(arg) < 1 {
			return true, invalidArg(key, arg, "use a positive number, or nothing")
		}
		ignore()
	case "tls_force_sslv3":
		if _, err := onOff(key, arg); err != nil {
			return true, err
		}
		ignore()
	case "auto_from":
		a.AutoFrom, err = onOff(key, arg)
	case "remove_bcc_headers":
		a.RemoveBcc, err = onOff(key, arg)
	case "undisclosed_recipients":
		a.UndisclosedRecipients, err = onOff(key, arg)
	case "allow_from_override":
		// msmtp's is_on/is_off: on or off, no empty argument.
		if arg != "on" && arg != "off" {
			return true, invalidArg(key, arg, "use on or off")
		}
		a.AllowFromOverride = arg == "on"
	case "dsn_notify":
		if arg == "" {
			return true, needArg(key)
		}
		if arg != "off" && arg != "never" && !ValidDSNNotify(arg) {
			return true, invalidArg(key, arg, "use off, never, or a comma-separated list (no spaces) of failure, delay, success")
		}
		a.DSNNotify = ""
		if arg != "off" {
			a.DSNNotify = strings.ToUpper(arg)
		}
	case "dsn_return":
		switch arg {
		case "":
			return true, needArg(key)
		case "off":
			a.DSNReturn = ""
		case "headers":
			a.DSNReturn = "HDRS"
		case "full":
			a.DSNReturn = "FULL"
		default:
			return true, invalidArg(key, arg, "use off, headers or full")
		}
	case "set_from_header":
		switch arg {
		case "", "auto", "on", "off":
		default:
			return true, invalidArg(key, arg, "use auto, on or off")
		}
		a.SetFromHeader = cmp.Or(arg, "auto")
	case "set_date_header", "set_msgid_header":
		switch arg {
		case "", "auto", "off":
		default:
			return true, invalidArg(key, arg, "use auto or off")
		}
		if key == "set_date_header" {
			a.SetDateHeader = cmp.Or(arg, "auto")
		} else {
			a.SetMsgIDHeader = cmp.Or(arg, "auto")
		}
	case "syslog":
		if arg != "" && arg != "on" && arg != "off" && !validFacility(arg) {
			return true, invalidArg(key, arg, "use on, off, LOG_USER, LOG_MAIL or LOG_LOCAL0 to LOG_LOCAL7")
		}
		a.Syslog = arg
		if arg == "" {
			a.Syslog = "on"
		}
	default:
		return false, nil
	}
	return true, err
}

// posInt parses a positive int as C's strtol(s, &end, 0) with no trailing
// characters (msmtp's get_pos_int): decimal, 0x hex or 0 octal, an optional
// sign. It returns -1 when s is not a positive int.
func posInt(s string) int {
	i, neg := 0, false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	base := 10
	if i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && i+2 < len(s) && hexVal(s[i+2]) >= 0 {
		base = 16
		i += 2
	} else if i < len(s) && s[i] == '0' {
		base = 8
	}
	if i >= len(s) {
		return -1
	}
	n := 0
	for ; i < len(s); i++ {
		d := hexVal(s[i])
		if d < 0 || d >= base {
			return -1
		}
		n = n*base + d
		if n > 1<<31-1 {
			return -1
		}
	}
	if neg || n <= 0 {
		return -1
	}
	return n
}

func hexVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// parseFingerprint reads "01:23:..." (or "01 23 ...") of 32, 20 or 16 bytes.
func parseFingerprint(s string) []byte {
	for _, n := range []int{32, 20, 16} {
		if len(s) != 3*n-1 {
			continue
		}
		fp := make([]byte, n)
		for i := range n {
			hi, lo := hexVal(s[3*i]), hexVal(s[3*i+1])
			if hi < 0 || lo < 0 {
				return nil
			}
			if i < n-1 && s[3*i+2] != ':' && s[3*i+2] != ' ' {
				return nil
			}
			fp[i] = byte(hi<<4 | lo)
		}
		return fp
	}
	return nil
}

// FormatFingerprint writes a fingerprint as tls_fingerprint takes it.
func FormatFingerprint(fp []byte) string {
	var b strings.Builder
	for i, c := range fp {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

func validPin(p string) bool {
	rest, ok := strings.CutPrefix(p, "sha256/")
	if !ok {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	return err == nil && len(b) == 32
}

// ValidDSNNotify reports whether s is a dsn_notify list msmtp takes: some
// of failure, delay and success (lower case), each at most once, joined
// by commas without blanks. "off" and "never" are checked by the caller.
func ValidDSNNotify(s string) bool {
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		switch part {
		case "failure", "delay", "success":
			if seen[part] {
				return false
			}
			seen[part] = true
		default:
			return false
		}
	}
	return true
}

func validFacility(s string) bool {
	if s == "LOG_USER" || s == "LOG_MAIL" {
		return true
	}
	return len(s) == 10 && strings.HasPrefix(s, "LOG_LOCAL") && s[9] >= '0' && s[9] <= '7'
}
