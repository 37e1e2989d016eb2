package maillog

import (
	"fmt"
	"io"
	"os"
	"time"
)

// Config says where the log goes, as msmtp's logfile, logfile_time_format
// and syslog commands (and --logfile, -X, --syslog) say.
type Config struct {
	// File is the log file; "-" is Stdout; "" writes no file.
	File string
	// TimeFormat is the strftime(3) format of the time stamp that starts
	// each file line; "" is DefaultTimeFormat.
	TimeFormat string
	// Syslog is "" or "off" for none, "on" for LOG_USER (msmtp's default
	// facility), or LOG_USER, LOG_MAIL or LOG_LOCAL0..LOG_LOCAL7.
	Syslog string
	// Stdout receives the lines of File "-".
	Stdout io.Writer
	// SyslogNetwork and SyslogAddr name the syslog daemon's socket, as
	// log/syslog.Dial takes them; "" and "" is the local daemon.
	SyslogNetwork, SyslogAddr string
}

// Enabled reports whether c writes anything.
func (c Config) Enabled() bool {
	return c.File != "" || c.syslogOn()
}

// syslogOn reports whether c sends its lines to syslog.
func (c Config) syslogOn() bool { return c.Syslog != "" && c.Syslog != "off" }

// Write writes e to the log file and to syslog as c says, with now as the
// file line's time stamp. The file is opened for appending (created with
// mode 0600) and the line written in one write, so that processes logging
// at once do not mix their lines. The error, if any, says which
// destination failed and wraps its cause (errors.Is(err,
// fs.ErrPermission) for a log file that cannot be opened); the others are
// still written.
func (c Config) Write(e Entry, now time.Time) error {
	line := e.Line()
	var fileErr, syslogErr error
	if c.File != "" {
		fileErr = c.writeFile(FormatTime(now, c.TimeFormat) + " " + line + "\n")
	}
	if c.syslogOn() {
		syslogErr = writeSyslog(c.SyslogNetwork, c.SyslogAddr, c.Syslog, e.ExitCode != 0, line)
	}
	switch {
	case fileErr != nil && syslogErr != nil:
		return fmt.Errorf("%w; %w", fileErr, syslogErr)
	case fileErr != nil:
		return fileErr
	}
	return syslogErr
}

// writeTimeout bounds writing one line to a log file that is a FIFO or a
// terminal.
const writeTimeout = 10 * time.Second

func (c Config) writeFile(text string) error {
	if c.File == "-" {
		if c.Stdout == nil {
			return nil
		}
		_, err := io.WriteString(c.Stdout, text)
		return err
	}
	f, err := OpenFile(c.File, os.O_APPEND)
	if err != nil {
		return fmt.Errorf("cannot open the log file: %w", err)
	}
	// A FIFO whose reader stopped reading must not hold the sender: the
	// write gives up after writeTimeout (a regular file has no deadline,
	// and needs none).
	_ = f.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, werr := f.WriteString(text)
	cerr := f.Close()
	if werr != nil {
		return fmt.Errorf("cannot write the log file: %w", werr)
	}
	if cerr != nil {
		return fmt.Errorf("cannot write the log file: %w", cerr)
	}
	return nil
}
