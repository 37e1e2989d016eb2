package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestQueueMaxUnrecordedOutOfRange: `--max-unrecorded` out of the flag's
// range (1 to 250, as its error says: -1, 251, and 0, which is not
// silently the default on PostgreSQL, nor silently ignored on a spool
// directory), and any value on a spool directory, are usage errors (64)
// naming the flag.
func TestQueueMaxUnrecordedOutOfRange(t *testing.T) {
	for _, args := range [][]string{
		{"queue", "run", "--max-unrecorded", "251", "--queue-url", "postgres://nobody@127.0.0.1:1/x"},
		{"queue", "run", "--max-unrecorded", "-1", "--queue-url", "postgres://nobody@127.0.0.1:1/x"},
		{"queue", "flush", "--max-unrecorded", "4", "--queue-dir", t.TempDir()},
		{"queue", "run", "--max-unrecorded", "0", "--queue-url", "postgres://nobody@127.0.0.1:1/x"},
		{"queue", "run", "--max-unrecorded=0", "--queue-dir", t.TempDir()},
		{"queue", "flush", "--max-unrecorded", "0", "--queue-dir", t.TempDir()},
	} {
		if r := runTLSMail(t, args...); r.code != exitUsage || !strings.Contains(r.stderr, "--max-unrecorded") {
			t.Errorf("%q: want exit %d naming --max-unrecorded\n%s", args, exitUsage, r)
		}
	}
}

// TestQueueMaxUnrecordedCheckedWhereParsed: --max-unrecorded is checked
// where the flag is parsed, as --parallel is, before the queue is looked
// for, and the error repeats the value given. Before, 0 was turned into -1
// for the range check of the queue's opening, which ran after the queue's
// location was resolved: with a configuration file that cannot be read,
// `--max-unrecorded 0` was reported as that file's error, and the flag's
// error never named the value.
func TestQueueMaxUnrecordedCheckedWhereParsed(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-msmtprc")
	for _, v := range []string{"0", "-1", "251"} {
		args := []string{"queue", "run", "--max-unrecorded", v, "--config", missing}
		if r := runTLSMail(t, args...); r.code != exitUsage || !strings.Contains(r.stderr, "--max-unrecorded "+v+": it must be 1 to 250") {
			t.Errorf("%q: want exit %d naming --max-unrecorded %s\n%s", args, exitUsage, v, r)
		}
	}
}
