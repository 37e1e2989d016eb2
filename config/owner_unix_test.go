//go:build unix

package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadRefusesFilesOthersCanWrite: a configuration file that another
// user could have written (group- or world-writable, or owned by someone
// who is neither this user nor root) is refused before any line is read,
// so its eval lines never run: with /etc/msmtprc at mode 0666, any local
// user could otherwise run commands as root through root's cron mail.
// The same holds for an aliases file (it steers where mail goes). msmtp
// 1.8.23 runs eval and passwordeval from a mode 0666 file.
func TestLoadRefusesFilesOthersCanWrite(t *testing.T) {
	tests := []struct {
		name   string
		mode   os.FileMode
		nobody bool // chown to uid 65534 (root only)
		ok     bool
	}{
		{"mode 0600", 0o600, false, true},
		{"mode 0644", 0o644, false, true},
		{"mode 0666", 0o666, false, false},
		{"mode 0620", 0o620, false, false},
		{"mode 0602", 0o602, false, false},
		{"owned by nobody", 0o600, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.nobody && os.Geteuid() != 0 {
				t.Skip("only root can give a file to another user")
			}
			dir := t.TempDir()
			marker := filepath.Join(dir, "ran")
			cfg := filepath.Join(dir, "msmtprc")
			aliases := filepath.Join(dir, "aliases")
			if err := os.WriteFile(cfg, []byte("account default\nhost mail.example.com\neval touch "+marker+"; echo from a@example.com\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(aliases, []byte("root: admin@example.com\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{cfg, aliases} {
				if err := os.Chmod(p, tt.mode); err != nil {
					t.Fatal(err)
				}
				if tt.nobody {
					if err := os.Chown(p, 65534, -1); err != nil {
						t.Skipf("chown: %v", err)
					}
				}
			}
			f, err := Load(context.Background(), cfg, Options{Eval: RunCommand})
			_, ran := os.Stat(marker)
			_, aerr := LoadAliases(aliases)
			if tt.ok {
				if err != nil || ran != nil || f.Accounts[0].From != "a@example.com" || aerr != nil {
					t.Fatalf("Load: %v (eval ran: %v), LoadAliases: %v", err, ran == nil, aerr)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "refusing the configuration file") || !strings.Contains(ce.Fix, cfg) {
				t.Errorf("Load: %v, want a *Error refusing the file", err)
			}
			if ran == nil {
				t.Errorf("the eval line of a file others can write ran")
			}
			if !errors.As(aerr, &ce) || !strings.Contains(ce.Msg, "refusing the aliases file") {
				t.Errorf("LoadAliases: %v, want a *Error refusing the file", aerr)
			}
		})
	}
}
