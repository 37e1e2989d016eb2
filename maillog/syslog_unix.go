//go:build !windows && !plan9

package maillog

import (
	"fmt"
	"log/syslog"
)

// facility maps msmtp's syslog argument to a facility.
func facility(name string) (syslog.Priority, bool) {
	switch name {
	case "on", "LOG_USER":
		return syslog.LOG_USER, true
	case "LOG_MAIL":
		return syslog.LOG_MAIL, true
	}
	for i, f := range []syslog.Priority{syslog.LOG_LOCAL0, syslog.LOG_LOCAL1, syslog.LOG_LOCAL2, syslog.LOG_LOCAL3,
		syslog.LOG_LOCAL4, syslog.LOG_LOCAL5, syslog.LOG_LOCAL6, syslog.LOG_LOCAL7} {
		if name == fmt.Sprintf("LOG_LOCAL%d", i) {
			return f, true
		}
	}
	return 0, false
}

// writeSyslog sends line to the local syslog daemon, as "tlsmail", with
// priority LOG_ERR for a failure and LOG_INFO otherwise (as msmtp).
func writeSyslog(network, addr, name string, failed bool, line string) error {
	fac, ok := facility(name)
	if !ok {
		return fmt.Errorf("syslog: unknown facility %q (use LOG_USER, LOG_MAIL or LOG_LOCAL0 to LOG_LOCAL7)", name)
	}
	prio := syslog.LOG_INFO
	if failed {
		prio = syslog.LOG_ERR
	}
	w, err := syslog.Dial(network, addr, fac|prio, "tlsmail")
	if err != nil {
		return fmt.Errorf("cannot reach syslog: %w", err)
	}
	defer w.Close()
	if failed {
		err = w.Err(line)
	} else {
		err = w.Info(line)
	}
	if err != nil {
		return fmt.Errorf("cannot write to syslog: %w", err)
	}
	return nil
}
