// Package sysexits holds the exit codes of sysexits(3) that tlsmail uses:
// the command line exits with them and msmtp's log line (maillog) names
// them, both from one mapping (submit.ExitCode for a delivery's failures).
// They let a script or an MTA tell a failure worth retrying (75) from one
// that will not go away by itself.
package sysexits

const (
	OK          = 0
	Usage       = 64 // EX_USAGE: bad flags or input; nothing was sent
	DataErr     = 65 // EX_DATAERR: the message was refused permanently (5xx)
	NoInput     = 66 // EX_NOINPUT: an input file, or the queued item named, does not exist or cannot be read
	NoHost      = 68 // EX_NOHOST: the server's name does not resolve
	Unavailable = 69 // EX_UNAVAILABLE: the server refuses service (5xx greeting/EHLO)
	Software    = 70 // EX_SOFTWARE: an error tlsmail could not classify (a bug)
	IOErr       = 74 // EX_IOERR: the output could not be written (queue show to a full disk)
	TempFail    = 75 // EX_TEMPFAIL: 4xx, network, timeout, TLS and certificate failures
	Protocol    = 76 // EX_PROTOCOL: the server broke SMTP, or STARTTLS injection
	NoPerm      = 77 // EX_NOPERM: authentication refused
	Config      = 78 // EX_CONFIG: unusable configuration, files or credentials
)
