package main

import (
	"strings"
	"testing"
)

// TestQueueMaxUnrecordedZero: `--max-unrecorded 0` is out of the flag's
// range (1 to 250, as its error says) like -1 and 251: a usage error, not
// silently the default on PostgreSQL, nor silently ignored on a spool
// directory (where any other value is refused).
func TestQueueMaxUnrecordedZero(t *testing.T) {
	for _, args := range [][]string{
		{"queue", "run", "--max-unrecorded", "0", "--queue-url", "postgres://nobody@127.0.0.1:1/x"},
		{"queue", "run", "--max-unrecorded=0", "--queue-dir", t.TempDir()},
		{"queue", "flush", "--max-unrecorded", "0", "--queue-dir", t.TempDir()},
	} {
		if r := runTLSMail(t, args...); r.code != exitUsage || !strings.Contains(r.stderr, "--max-unrecorded") {
			t.Errorf("%q: want exit %d naming --max-unrecorded\n%s", args, exitUsage, r)
		}
	}
}
