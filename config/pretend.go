package config

import "fmt"

// Setting is one configuration command and its value as msmtp prints it.
type Setting struct {
	Key, Value string
}

// Pretend lists a's settings as msmtp's --pretend prints them (msmtp(1),
// -P): "(not set)" for what is unset, on/off for switches, the timeout in
// seconds or off. The password itself is never listed: "*" says there is
// one.
func (a *Account) Pretend() []Setting {
	notSet := func(v string) string {
		if v == "" {
			return "(not set)"
		}
		return v
	}
	onOff := func(v bool) string {
		if v {
			return "on"
		}
		return "off"
	}
	password := "(not set)"
	if a.Password != "" {
		password = "*"
	}
	timeout := "off"
	if a.Timeout > 0 {
		timeout = fmt.Sprint(int(a.Timeout.Seconds()))
	}
	auth := a.Auth
	if auth == "" {
		auth = "none"
	}
	return []Setting{
		{"host", a.Host}, {"port", fmt.Sprint(a.ServerPort())}, {"timeout", timeout}, {"protocol", "smtp"},
		{"domain", a.Domain}, {"auth", auth}, {"user", notSet(a.User)}, {"password", password},
		{"passwordeval", notSet(a.PasswordEval)}, {"tls", onOff(a.TLS)}, {"tls_starttls", onOff(a.StartTLS)},
		{"tls_trust_file", notSet(a.TrustFile)}, {"tls_key_file", notSet(a.KeyFile)}, {"tls_cert_file", notSet(a.CertFile)},
		{"tls_certcheck", onOff(a.CertCheck)}, {"tls_host_override", notSet(a.TLSHostOverride)},
		{"auto_from", onOff(a.AutoFrom)}, {"maildomain", notSet(a.MailDomain)},
		{"from", notSet(a.From)}, {"dsn_notify", notSet(a.DSNNotify)}, {"dsn_return", notSet(a.DSNReturn)},
		{"allow_from_override", onOff(a.AllowFromOverride)}, {"set_from_header", a.SetFromHeader},
		{"set_date_header", a.SetDateHeader}, {"set_msgid_header", a.SetMsgIDHeader}, {"remove_bcc_headers", onOff(a.RemoveBcc)},
		{"undisclosed_recipients", onOff(a.UndisclosedRecipients)}, {"aliases", notSet(a.Aliases)}, {"logfile", notSet(a.LogFile)},
		{"logfile_time_format", notSet(a.LogTimeFormat)}, {"syslog", notSet(a.Syslog)},
	}
}
