//go:build windows

package trust

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestWinSecurityOf: security descriptors as Windows builds them (from
// SDDL, by advapi32) are read into what winDirProblem decides on: the
// owner, each entry's type, rights and trustee, and a NULL DACL.
func TestWinSecurityOf(t *testing.T) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	me := tu.User.Sid.String()
	own := "O:" + me + "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;" + me + ")"
	tests := []struct {
		name, sddl string
		want       string // a part of the refusal; "" for none
	}{
		{"the user's own", own, ""},
		{"others may read", own + "(A;OICI;FR;;;BU)", ""},
		{"deny entries are not credited", own + "(D;OICI;FA;;;WD)", ""},
		{"Everyone may write", own + "(A;OICI;FW;;;WD)", "Everyone (S-1-1-0)"},
		{"Users may add folders, inherited only", own + "(A;OICIIO;0x4;;;BU)", "Users (S-1-5-32-545)"},
		{"Authenticated Users: modify", own + "(A;;0x1301bf;;;AU)", "Authenticated Users (S-1-5-11)"},
		{"an empty DACL (no one may do anything)", "O:" + me + "D:P", ""},
		{"owned by Guests", "O:BGD:P(A;OICI;FA;;;SY)", "belongs to Guests (S-1-5-32-546)"},
	}
	for _, tt := range tests {
		sd, err := windows.SecurityDescriptorFromString(tt.sddl)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		sec, err := winSecurityOf(sd)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		err = winDirProblem(sec, me)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s (%+v): refused: %v", tt.name, sec, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s (%+v): %v, want an error with %q", tt.name, sec, err, tt.want)
		}
	}

	// A NULL DACL, built as a program would (Wine's SDDL parser makes
	// "D:NO_ACCESS_CONTROL" an empty DACL instead, the opposite).
	sd, err := windows.NewSecurityDescriptor()
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.SetOwner(tu.User.Sid, false); err != nil {
		t.Fatal(err)
	}
	if err := sd.SetDACL(nil, true, false); err != nil {
		t.Fatal(err)
	}
	sec, err := winSecurityOf(sd)
	if err != nil {
		t.Fatal(err)
	}
	if err := winDirProblem(sec, me); err == nil || !strings.Contains(err.Error(), "no access control list") {
		t.Errorf("a NULL DACL (%+v): %v", sec, err)
	}
}

// TestCacheDirACL: a cache directory made by the Checker is used; one
// whose DACL lets Everyone write is refused (and the Checker fetches
// instead of reading the answers in it), as is one with a NULL DACL.
func TestCacheDirACL(t *testing.T) {
	s := revocationScenario(t, "revocation-good")
	// Not t.TempDir: Wine cannot delete files the way os.RemoveAll does
	// ("Invalid function"), which would fail the test at cleanup.
	cacheDir := func(t *testing.T) string {
		d, err := os.MkdirTemp("", "tlsmail-acl")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		return filepath.Join(d, "cache")
	}
	dir := cacheDir(t)
	c := &Checker{CacheDir: dir}
	verifyGood(t, s, c)
	if c.disk == nil {
		if sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION); err == nil {
			t.Logf("security descriptor: %s", sd)
		}
		t.Fatalf("a fresh cache directory was refused: %v", c.DiskCacheError())
	}

	// The user's own cache directory, where DefaultRevocationCacheDir
	// puts the cache, passes (only read here, never written).
	if ucd, err := os.UserCacheDir(); err == nil {
		if fi, err := os.Stat(ucd); err == nil {
			if err := dirSecurityProblem(ucd, fi); err != nil {
				t.Errorf("%s (os.UserCacheDir) %v", ucd, err)
			}
		}
	}

	for _, tc := range []struct{ name, dacl, want string }{
		{"Everyone may write", "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;OW)(A;OICI;FW;;;WD)", "Everyone (S-1-1-0)"},
		{"NULL DACL", "", "no access control list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := cacheDir(t)
			verifyGood(t, s, &Checker{CacheDir: dir}) // an answer in the cache
			var dacl *windows.ACL                     // "": NULL, everyone may do anything
			if tc.dacl != "" {
				sd, err := windows.SecurityDescriptorFromString(tc.dacl)
				if err != nil {
					t.Fatal(err)
				}
				if dacl, _, err = sd.DACL(); err != nil {
					t.Fatal(err)
				}
			}
			if err := windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
				windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
				t.Skipf("cannot set the directory's DACL here: %v", err)
			}
			want := tc.want
			if dacl == nil {
				sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
				if err != nil {
					t.Fatal(err)
				}
				if got, _, err := sd.DACL(); err == nil && got != nil {
					// Wine keeps a file's access in Unix mode bits:
					// a NULL DACL becomes mode 0777, read back as
					// Everyone with modify rights.
					t.Logf("the NULL DACL reads back as %s", sd)
					want = "can be written by other users (Everyone (S-1-1-0))"
				}
			}
			c := &Checker{CacheDir: dir}
			hits := s.Responder.Hits("/crl")
			verifyGood(t, s, c)
			if de := c.DiskCacheError(); c.disk != nil || de == nil || !strings.Contains(de.Error(), want) {
				t.Errorf("the cache was used, or refused for another reason: %v", de)
			}
			var ce *CacheDirError
			if errors.As(c.DiskCacheError(), &ce) && (strings.Contains(ce.Fix(), "chmod") || !strings.Contains(ce.Fix(), "icacls "+dir)) {
				t.Errorf("fix %q: want icacls, not chmod (a DACL, not mode bits)", ce.Fix())
			}
			if n := s.Responder.Hits("/crl"); n != hits+1 {
				t.Errorf("%d fetches, want %d (the directory's answers ignored)", n, hits+1)
			}
		})
	}
}

// TestCacheFileACL: a cache file is checked on its own when it is read,
// not only its directory: an answer file that Everyone may write (a file
// planted, or left, with a DACL of its own while the directory was open to
// others) is ignored and the answer fetched again, though the directory
// itself passes; the same file with the user's own DACL is used.
func TestCacheFileACL(t *testing.T) {
	s := revocationScenario(t, "revocation-good")
	d, err := os.MkdirTemp("", "tlsmail-acl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	dir := filepath.Join(d, "cache")
	verifyGood(t, s, &Checker{CacheDir: dir}) // an answer in the cache
	files, err := filepath.Glob(filepath.Join(dir, strings.Repeat("?", 64)))
	if err != nil || len(files) == 0 {
		t.Fatalf("no answer file in %s (%v)", dir, err)
	}
	setDACL := func(sddl string) {
		t.Helper()
		sd, err := windows.SecurityDescriptorFromString(sddl)
		if err != nil {
			t.Fatal(err)
		}
		dacl, _, err := sd.DACL()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := windows.SetNamedSecurityInfo(f, windows.SE_FILE_OBJECT,
				windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
				t.Skipf("cannot set a file's DACL here: %v", err)
			}
		}
	}
	for _, tc := range []struct {
		name    string
		dacl    string
		fetches int // fetches by a fresh Checker
	}{
		{"the user's own", "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;OW)", 0},
		{"Everyone may write", "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;OW)(A;;FW;;;WD)", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setDACL(tc.dacl)
			c := &Checker{CacheDir: dir}
			hits := s.Responder.Hits("/crl")
			verifyGood(t, s, c)
			if c.disk == nil {
				t.Fatalf("the cache directory was refused: %v", c.DiskCacheError())
			}
			if n := s.Responder.Hits("/crl"); n != hits+tc.fetches {
				t.Errorf("%d fetches, want %d", n-hits, tc.fetches)
			}
		})
	}
}
