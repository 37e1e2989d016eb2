//go:build windows || plan9

package maillog

import "errors"

// writeSyslog refuses: there is no syslog here.
func writeSyslog(network, addr, name string, failed bool, line string) error {
	return errors.New("syslog is not available on this system: use logfile FILE instead of syslog")
}
