package submit

import (
	"os"
	"path/filepath"
	"runtime"

	"github.com/tlsmail/tlsmail/config"
)

// DefaultQueueDir is the outbox directory of a user who configured none:
// $XDG_STATE_HOME/tlsmail/queue (the XDG Base Directory specification's
// place for state that outlives a run; a relative XDG_STATE_HOME is
// ignored, as the specification says), else ~/.local/state/tlsmail/queue;
// on Windows %LOCALAPPDATA%\tlsmail\queue first. getenv reads the
// environment (nil: os.Getenv). With none of these set it is an *Error of
// Field "queue_dir".
func DefaultQueueDir(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if runtime.GOOS == "windows" {
		if d := getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "tlsmail", "queue"), nil
		}
	}
	if d := getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "tlsmail", "queue"), nil
	}
	if h := config.Home(getenv); h != "" {
		return filepath.Join(h, ".local", "state", "tlsmail", "queue"), nil
	}
	return "", &Error{Field: "queue_dir", Msg: "cannot tell where the outbox is: HOME is not set",
		Fix: "name the outbox directory, or set HOME"}
}
