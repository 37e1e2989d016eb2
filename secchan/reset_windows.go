package secchan

import "syscall"

// connResetCodes are the codes of a connection the peer reset or aborted
// (Winsock's; syscall.ECONNRESET is not what Windows returns).
func connResetCodes() []syscall.Errno {
	return []syscall.Errno{syscall.WSAECONNRESET, syscall.WSAECONNABORTED}
}
