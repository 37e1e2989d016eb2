package trust

import (
	"strings"
	"testing"
)

// The SIDs and access masks the Windows cache tests feed the decisions.
const (
	testMe    = "S-1-5-21-1004336348-1177238915-682003330-1001"
	testOther = "S-1-5-21-1004336348-1177238915-682003330-1002"
	maskFull  = 0x1f01ff // FILE_ALL_ACCESS
	maskRead  = 0x1200a9 // FILE_GENERIC_READ | FILE_GENERIC_EXECUTE
)

func allowACE(sid string, mask uint32) winACE { return winACE{typ: aceAllowed, sid: sid, mask: mask} }

// securityCase is one owner and DACL and a part of the refusal it must
// get; want is "" when the object may be used.
type securityCase struct {
	name string
	sec  winSecurity
	want string
}

// checkSecurityCases runs decide (winDirProblem or winFileProblem) on each
// case, for the user testMe.
func checkSecurityCases(t *testing.T, decide func(winSecurity, string) error, tests []securityCase) {
	t.Helper()
	for _, tt := range tests {
		err := decide(tt.sec, testMe)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want an error with %q", tt.name, err, tt.want)
		}
	}
}

// TestWinDirProblem: the decision on a Windows cache directory, fed what
// Windows returns for its owner and DACL (as revcache_windows.go reads
// them), on every platform: the directories %LocalAppData% gives a user
// pass; one that another user, a group of users or everyone may write
// into, or whose DACL or owner they may change, is refused, and so are a
// NULL DACL, another owner and entries this check does not read.
func TestWinDirProblem(t *testing.T) {
	const me, other, full, read = testMe, testOther, maskFull, maskRead
	allow := allowACE
	localAppData := []winACE{allow(sidSystem, full), allow(sidAdministrators, full), allow(me, full)}
	tests := []securityCase{
		{"%LocalAppData%", winSecurity{owner: me, aces: localAppData}, ""},
		{"owned by Administrators (made from an elevated prompt)", winSecurity{owner: sidAdministrators, aces: localAppData}, ""},
		{"owned by SYSTEM", winSecurity{owner: sidSystem, aces: localAppData}, ""},
		{"others may read", winSecurity{owner: me, aces: append(localAppData, allow("S-1-5-32-545", read))}, ""},
		{"CREATOR OWNER (becomes the creator)", winSecurity{owner: me, aces: append(localAppData, allow(sidCreatorOwner, full))}, ""},
		{"a deny entry", winSecurity{owner: me, aces: append(localAppData, winACE{typ: aceDenied, sid: "S-1-1-0", mask: full})}, ""},
		{"Everyone may write", winSecurity{owner: me, aces: append(localAppData, allow("S-1-1-0", fileAddFile))},
			"can be written by other users (Everyone (S-1-1-0))"},
		{"Users may create folders (C:\\ style)", winSecurity{owner: me, aces: append(localAppData, allow("S-1-5-32-545", fileAddSubdirectory))},
			"Users (S-1-5-32-545)"},
		{"Authenticated Users modify", winSecurity{owner: me, aces: append(localAppData, allow("S-1-5-11", 0x1301bf))},
			"Authenticated Users (S-1-5-11)"},
		{"another user may change the DACL", winSecurity{owner: me, aces: append(localAppData, allow(other, accessWriteDAC))}, other},
		{"another user may take ownership", winSecurity{owner: me, aces: append(localAppData, allow(other, accessWriteOwner))}, other},
		{"another user may delete files", winSecurity{owner: me, aces: append(localAppData, allow(other, fileDeleteChild))}, other},
		{"GENERIC_ALL to another user", winSecurity{owner: me, aces: append(localAppData, allow(other, genericAll))}, other},
		{"GENERIC_WRITE to another user", winSecurity{owner: me, aces: append(localAppData, allow(other, genericWrite))}, other},
		{"two of them", winSecurity{owner: me, aces: append(localAppData, allow("S-1-1-0", full), allow(other, full))},
			"(Everyone (S-1-1-0), " + other + ")"},
		{"a NULL DACL", winSecurity{owner: me, nullDACL: true}, "no access control list"},
		{"another user's", winSecurity{owner: other, aces: localAppData}, "belongs to " + other + ", not to this user (" + me + ")"},
		{"no owner", winSecurity{aces: localAppData}, "belongs to no owner"},
		{"owned by CREATOR OWNER", winSecurity{owner: sidCreatorOwner, aces: localAppData}, "belongs to S-1-3-0"},
		{"an object ACE", winSecurity{owner: me, aces: append(localAppData, winACE{typ: 5, mask: full})}, "type 5"},
	}
	checkSecurityCases(t, winDirProblem, tests)
}

// TestWinFileProblem: the decision on a file in a Windows cache directory,
// read at each use (the directory's DACL does not say who could write a
// file before the directory was made safe): a file as the user's cache
// writes it passes; one another user, a group or everyone may write,
// append to, delete or take over is refused, and so are another owner
// and a NULL DACL. Rights that only mean something on a directory's
// entries (FILE_DELETE_CHILD) do not refuse a file.
func TestWinFileProblem(t *testing.T) {
	const me, other, full, read = testMe, testOther, maskFull, maskRead
	allow := allowACE
	inherited := []winACE{allow(sidSystem, full), allow(sidAdministrators, full), allow(me, full)}
	tests := []securityCase{
		{"as the cache writes it", winSecurity{owner: me, aces: inherited}, ""},
		{"others may read", winSecurity{owner: me, aces: append(inherited, allow("S-1-5-32-545", read))}, ""},
		{"a deny entry", winSecurity{owner: me, aces: append(inherited, winACE{typ: aceDenied, sid: "S-1-1-0", mask: full})}, ""},
		{"FILE_DELETE_CHILD means nothing on a file", winSecurity{owner: me, aces: append(inherited, allow(other, fileDeleteChild))}, ""},
		{"Everyone may write", winSecurity{owner: me, aces: append(inherited, allow("S-1-1-0", fileWriteData))},
			"can be written by other users (Everyone (S-1-1-0))"},
		{"Users may append", winSecurity{owner: me, aces: append(inherited, allow("S-1-5-32-545", fileAppendData))}, "Users (S-1-5-32-545)"},
		{"Authenticated Users modify", winSecurity{owner: me, aces: append(inherited, allow("S-1-5-11", 0x1301bf))}, "Authenticated Users (S-1-5-11)"},
		{"another user may delete it", winSecurity{owner: me, aces: append(inherited, allow(other, accessDelete))}, other},
		{"another user may change the DACL", winSecurity{owner: me, aces: append(inherited, allow(other, accessWriteDAC))}, other},
		{"GENERIC_WRITE to another user", winSecurity{owner: me, aces: append(inherited, allow(other, genericWrite))}, other},
		{"a NULL DACL", winSecurity{owner: me, nullDACL: true}, "no access control list"},
		{"planted by another user", winSecurity{owner: other, aces: inherited}, "belongs to " + other},
		{"an object ACE", winSecurity{owner: me, aces: append(inherited, winACE{typ: 5, mask: full})}, "type 5"},
	}
	checkSecurityCases(t, winFileProblem, tests)
}
