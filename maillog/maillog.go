// Package maillog writes msmtp's log: one line per message, in the format
// msmtp 1.8 writes to its logfile and to syslog, so that log readers,
// logrotate setups and monitoring written for msmtp keep working:
//
//	Dec 06 19:42:25 host=smtp.example.com tls=on auth=on user=ann from=ann@example.com recipients=bob@example.org,carol@example.org mailsize=1234 smtpstatus=250 smtpmsg='250 2.0.0 Ok: queued as 4F2' exitcode=EX_OK
//
// Fields without a value are left out (user= without authentication,
// mailsize= before the message was sent, smtpstatus= and smtpmsg= without
// a server reply, errormsg= on success). Nothing secret is ever part of an
// Entry: a password is not a field, and the texts come from error messages
// and server replies, which hold none.
package maillog

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Entry is the outcome of one message.
type Entry struct {
	// Host is the server's host name as configured.
	Host string
	// TLS and Auth say whether the account uses TLS and authentication.
	TLS, Auth bool
	// User is the user name authenticated with (only written with Auth).
	User string
	// From and Recipients are the envelope.
	From       string
	Recipients []string
	// MailSize is the size in bytes of the message sent; 0 when it was not
	// sent.
	MailSize int64
	// SMTPStatus and SMTPMsg are the server's last reply, when there is
	// one: its code, and its lines as sent ("250-first", "250 2.0.0 last").
	SMTPStatus int
	SMTPMsg    []string
	// ErrorMsg says what went wrong; "" on success.
	ErrorMsg string
	// ExitCode is the sysexits(3) code of the outcome (0 EX_OK, 75
	// EX_TEMPFAIL, ...), written by name.
	ExitCode int
}

// ExitName returns the sysexits(3) name of code as msmtp writes it
// ("EX_OK", "EX_TEMPFAIL"), or the number for a code without a name.
func ExitName(code int) string {
	names := map[int]string{
		0: "EX_OK", 64: "EX_USAGE", 65: "EX_DATAERR", 66: "EX_NOINPUT", 67: "EX_NOUSER",
		68: "EX_NOHOST", 69: "EX_UNAVAILABLE", 70: "EX_SOFTWARE", 71: "EX_OSERR", 72: "EX_OSFILE",
		73: "EX_CANTCREAT", 74: "EX_IOERR", 75: "EX_TEMPFAIL", 76: "EX_PROTOCOL", 77: "EX_NOPERM",
		78: "EX_CONFIG",
	}
	if n, ok := names[code]; ok {
		return n
	}
	return strconv.Itoa(code)
}

// Line returns the entry as msmtp's log line, without the time stamp and
// without a line end. Control characters in any field (a server reply or an
// address cannot add a line to the log) become '?', and so do spaces in the
// unquoted fields (host, user, from, recipients: no forged exitcode=).
func (e Entry) Line() string {
	var b strings.Builder
	onOff := func(v bool) string {
		if v {
			return "on"
		}
		return "off"
	}
	fmt.Fprintf(&b, "host=%s tls=%s auth=%s", word(e.Host), onOff(e.TLS), onOff(e.Auth))
	if e.Auth && e.User != "" {
		fmt.Fprintf(&b, " user=%s", word(e.User))
	}
	fmt.Fprintf(&b, " from=%s recipients=%s", word(e.From), word(strings.Join(e.Recipients, ",")))
	if e.MailSize > 0 {
		fmt.Fprintf(&b, " mailsize=%d", e.MailSize)
	}
	if e.SMTPStatus > 0 {
		fmt.Fprintf(&b, " smtpstatus=%d", e.SMTPStatus)
	}
	if len(e.SMTPMsg) > 0 {
		// Lines joined with a literal \n, as msmtp does.
		fmt.Fprintf(&b, " smtpmsg='%s'", quoted(strings.Join(e.SMTPMsg, "\\n")))
	}
	if e.ErrorMsg != "" {
		fmt.Fprintf(&b, " errormsg='%s'", quoted(e.ErrorMsg))
	}
	fmt.Fprintf(&b, " exitcode=%s", ExitName(e.ExitCode))
	return b.String()
}

// word is clean for an unquoted value, which ends at the next space: a
// space becomes '?' too, so that an address with a quoted local part
// ("x exitcode=EX_OK"@example.com, valid in RFC 5321) cannot add a field
// (msmtp writes it as it is).
func word(s string) string { return strings.ReplaceAll(clean(s), " ", "?") }

// quoted is clean for a value between single quotes: a quote becomes '?'
// (msmtp does the same), so that the value always ends at the next quote.
func quoted(s string) string { return strings.ReplaceAll(clean(s), "'", "?") }

// clean makes s safe for one log line: control characters and invalid
// UTF-8 become '?'.
func clean(s string) string {
	ok := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// DefaultTimeFormat is msmtp's time stamp format (strftime(3)): "Dec 06
// 19:42:25".
const DefaultTimeFormat = "%b %d %H:%M:%S"

// FormatTime formats t with a strftime(3) format (logfile_time_format).
// The conversions %a %A %b %B %c %C %d %D %e %F %g %G %h %H %I %j %k %l
// %m %M %n %p %r %R %s %S %t %T %u %V %w %y %Y %z %Z %% are supported (C
// locale); an unknown conversion is written as it is.
func FormatTime(t time.Time, format string) string {
	if format == "" {
		format = DefaultTimeFormat
	}
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		switch format[i] {
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'b', 'h':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'c':
			b.WriteString(t.Format("Mon Jan  2 15:04:05 2006"))
		case 'C':
			fmt.Fprintf(&b, "%02d", t.Year()/100)
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'D':
			b.WriteString(t.Format("01/02/06"))
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'g':
			y, _ := t.ISOWeek()
			fmt.Fprintf(&b, "%02d", y%100)
		case 'G':
			y, _ := t.ISOWeek()
			fmt.Fprintf(&b, "%d", y)
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'I':
			fmt.Fprintf(&b, "%02d", (t.Hour()+11)%12+1)
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'k':
			fmt.Fprintf(&b, "%2d", t.Hour())
		case 'l':
			fmt.Fprintf(&b, "%2d", (t.Hour()+11)%12+1)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'n':
			b.WriteByte('\n')
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'r':
			b.WriteString(t.Format("03:04:05 PM"))
		case 'R':
			b.WriteString(t.Format("15:04"))
		case 's':
			fmt.Fprintf(&b, "%d", t.Unix())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 't':
			b.WriteByte('\t')
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			fmt.Fprintf(&b, "%d", wd)
		case 'V':
			_, w := t.ISOWeek()
			fmt.Fprintf(&b, "%02d", w)
		case 'w':
			fmt.Fprintf(&b, "%d", int(t.Weekday()))
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'Y':
			fmt.Fprintf(&b, "%d", t.Year())
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}
