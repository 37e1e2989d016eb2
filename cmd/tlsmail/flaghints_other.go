//go:build !windows

package main

// platformFlagHints is this platform's rows of the flag-hint table, looked
// up before flagHints: none outside Windows.
func platformFlagHints() []flagHint { return nil }

// platformSettings is what the fix of a platform-only error asks to
// change; nil outside Windows.
func platformSettings(error) []setting { return nil }
