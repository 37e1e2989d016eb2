package trust

import (
	"fmt"
	"strings"
)

// This file decides whether a Windows revocation cache directory, and each
// file in it, is the user's alone, from what Windows says of it (its owner
// and DACL). The
// decision is a pure function so that it is tested on every platform with
// what Windows would return; revcache_windows.go reads the directory's
// security descriptor (and each cache file's) and calls it.

// winACE is one access-control entry of a DACL, as the decision needs it.
type winACE struct {
	// typ is the ACE_HEADER's AceType: 0 allows, 1 denies; the decision
	// reads no other (object and callback ACEs are refused, not guessed).
	typ  byte
	mask uint32 // ACCESS_MASK
	sid  string // the trustee, as a string SID ("S-1-5-18")
}

// winSecurity is what Windows says of a directory or a file: its owner
// and DACL.
type winSecurity struct {
	owner string // the owner's string SID
	// nullDACL is a security descriptor with no DACL or a NULL DACL:
	// everyone has every access.
	nullDACL bool
	aces     []winACE
}

// Well-known SIDs (MS-DTYP section 2.4.2.4).
const (
	sidSystem         = "S-1-5-18"
	sidAdministrators = "S-1-5-32-544"
	sidCreatorOwner   = "S-1-3-0" // in an inheritable ACE: whoever creates the child
	sidOwnerRights    = "S-1-3-4" // the owner, whoever it is
	sidTrustedInstall = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
)

// sidNames names the SIDs a refusal most often cites.
var sidNames = map[string]string{
	"S-1-1-0":      "Everyone",
	"S-1-5-11":     "Authenticated Users",
	"S-1-5-32-545": "Users",
	"S-1-5-4":      "Interactive",
	"S-1-5-32-546": "Guests",
}

// Access rights that let a trustee put files into a directory, replace or
// delete them, or take the directory over (MS-DTYP section 2.4.3; winnt.h
// FILE_ADD_FILE and so on).
const (
	fileAddFile         = 0x2
	fileAddSubdirectory = 0x4
	fileDeleteChild     = 0x40
	accessDelete        = 0x10000
	accessWriteDAC      = 0x40000
	accessWriteOwner    = 0x80000
	genericAll          = 0x10000000
	genericWrite        = 0x40000000
	dirWriteRights      = fileAddFile | fileAddSubdirectory | fileDeleteChild | accessDelete | accessWriteDAC | accessWriteOwner | genericAll | genericWrite
	aceAllowed          = 0 // ACCESS_ALLOWED_ACE_TYPE
	aceDenied           = 1 // ACCESS_DENIED_ACE_TYPE
)

// Access rights that let a trustee change a file's content, delete it, or
// take it over (winnt.h FILE_WRITE_DATA, FILE_APPEND_DATA: the same bits
// as a directory's FILE_ADD_FILE and FILE_ADD_SUBDIRECTORY).
const (
	fileWriteData   = 0x2
	fileAppendData  = 0x4
	fileWriteRights = fileWriteData | fileAppendData | accessDelete | accessWriteDAC | accessWriteOwner | genericAll | genericWrite
)

// winDirProblem says why a cache directory with security sec cannot be
// trusted by the user whose SID is user, or nil: it must belong to user
// (or to SYSTEM, the Administrators or TrustedInstaller, who control the
// machine anyway), and no entry of its DACL may give anyone else the right
// to add, replace or delete files in it or to change its owner or DACL,
// on the directory or on what is created in it (inheritable entries count:
// the files written there get them). A NULL DACL gives everyone
// everything. Deny entries are not credited (refusing a directory that a
// deny entry would have saved is the safe mistake), and entries of types
// this does not read are refused.
func winDirProblem(sec winSecurity, user string) error {
	return winProblem(sec, user, dirWriteRights)
}

// winFileProblem is winDirProblem for a file in the cache directory, read
// at each use: the directory's DACL says who may add files from now on,
// not who could before it was made safe, and a file keeps the DACL it was
// given (a file planted while the directory was open to others, or one
// whose DACL was set apart from the directory's). It must belong to user
// (or SYSTEM, the Administrators, TrustedInstaller), and no entry of its
// DACL may let anyone else write it, delete it, or change its owner or
// DACL.
func winFileProblem(sec winSecurity, user string) error {
	return winProblem(sec, user, fileWriteRights)
}

// winProblem is the decision of winDirProblem and winFileProblem, with
// writeRights the rights no other trustee may hold.
func winProblem(sec winSecurity, user string, writeRights uint32) error {
	admin := func(sid string) bool {
		return sid == user || sid == sidSystem || sid == sidAdministrators || sid == sidTrustedInstall
	}
	// CREATOR OWNER and OWNER RIGHTS stand for the owner, checked first.
	trusted := func(sid string) bool { return admin(sid) || sid == sidCreatorOwner || sid == sidOwnerRights }
	if sec.owner == "" || !admin(sec.owner) {
		return fmt.Errorf("belongs to %s, not to this user (%s)", sidText(sec.owner), user)
	}
	if sec.nullDACL {
		return fmt.Errorf("has no access control list: every user can write to it")
	}
	var others []string
	for _, a := range sec.aces {
		switch a.typ {
		case aceDenied:
			continue
		case aceAllowed:
		default:
			return fmt.Errorf("has an access control entry of type %d, which tlsmail does not read", a.typ)
		}
		if a.mask&writeRights != 0 && !trusted(a.sid) {
			others = append(others, sidText(a.sid))
		}
	}
	if len(others) > 0 {
		return fmt.Errorf("can be written by other users (%s)", strings.Join(others, ", "))
	}
	return nil
}

// sidText is sid with its name, when it is a well-known one.
func sidText(sid string) string {
	if sid == "" {
		return "no owner"
	}
	if n, ok := sidNames[sid]; ok {
		return n + " (" + sid + ")"
	}
	return sid
}
