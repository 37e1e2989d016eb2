//go:build windows

package trust

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// groupOtherBitsMeaningful: on Windows the permission bits do not describe
// other users' access; the directory's DACL does (dirSecurityProblem).
const groupOtherBitsMeaningful = false

// ownedByUser: Windows has no uid in os.FileInfo; the cache directory's
// owner and DACL are checked instead (dirSecurityProblem), and each file's
// when it is read (fileSecurityProblem): a file need not have the DACL its
// directory has now.
func ownedByUser(os.FileInfo) bool { return true }

// dirSecurityProblem says why the directory dir, which fi describes, may be
// written by other users, or nil (winDirProblem decides). It reads the
// owner and DACL through a handle of the directory checked to be fi's, so
// that a directory swapped in under the same name is not what gets
// checked.
func dirSecurityProblem(dir string, fi os.FileInfo) error {
	f, err := os.Open(dir) // a directory handle (FILE_FLAG_BACKUP_SEMANTICS)
	if err != nil {
		return fmt.Errorf("cannot be checked: %w", err)
	}
	defer f.Close()
	if ofi, err := f.Stat(); err != nil || !os.SameFile(fi, ofi) {
		return errors.New("changed while it was checked")
	}
	return handleSecurityProblem(f, winDirProblem)
}

// fileSecurityProblem says why the open cache file f may have been written
// by another user, or nil (winFileProblem decides, on the owner and DACL
// of the handle read from).
func fileSecurityProblem(f *os.File) error {
	return handleSecurityProblem(f, winFileProblem)
}

// handleSecurityProblem reads the owner and DACL of the open file or
// directory f and hands them, with this process's user, to decide.
func handleSecurityProblem(f *os.File, decide func(winSecurity, string) error) error {
	sd, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("cannot be checked: reading its owner and access control list: %w", err)
	}
	sec, err := winSecurityOf(sd)
	if err != nil {
		return fmt.Errorf("cannot be checked: %w", err)
	}
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return fmt.Errorf("cannot be checked: finding this user: %w", err)
	}
	return decide(sec, tu.User.Sid.String())
}

// winSecurityOf reads sd's owner and DACL into what winDirProblem decides
// on.
func winSecurityOf(sd *windows.SECURITY_DESCRIPTOR) (winSecurity, error) {
	var sec winSecurity
	owner, _, err := sd.Owner()
	if err != nil {
		return sec, fmt.Errorf("reading its owner: %w", err)
	}
	if owner != nil {
		sec.owner = owner.String()
	}
	dacl, _, err := sd.DACL()
	switch {
	case errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND), err == nil && dacl == nil:
		// No DACL, or a NULL one: full access for everyone.
		sec.nullDACL = true
		return sec, nil
	case err != nil:
		return sec, fmt.Errorf("reading its access control list: %w", err)
	}
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return sec, fmt.Errorf("reading access control entry %d: %w", i, err)
		}
		a := winACE{typ: ace.Header.AceType, mask: uint32(ace.Mask)}
		if a.typ == aceAllowed || a.typ == aceDenied {
			// ACCESS_ALLOWED_ACE and ACCESS_DENIED_ACE share a layout:
			// the SID starts at SidStart.
			a.sid = (*windows.SID)(unsafe.Pointer(&ace.SidStart)).String()
		}
		sec.aces = append(sec.aces, a)
	}
	return sec, nil
}
