//go:build !windows

package secchan

import "syscall"

// connResetCodes are the codes of a connection the peer reset or aborted.
func connResetCodes() []syscall.Errno {
	return []syscall.Errno{syscall.ECONNRESET, syscall.ECONNABORTED}
}
