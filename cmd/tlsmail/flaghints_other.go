//go:build !windows

package main

import "github.com/tlsmail/tlsmail/submit"

// platformFlagHints is this platform's rows of the flag-hint table, looked
// up before flagHints: none outside Windows.
func platformFlagHints() []flagHint { return nil }

// platformSettings is what the fix of a platform-only error asks to
// change; nil outside Windows.
func platformSettings(error) []setting { return nil }

// platformSecretSettings is the setting for a source of the PFX password;
// nil outside Windows, which has no PFX flags.
func platformSecretSettings(submit.SecretSource) []setting { return nil }
