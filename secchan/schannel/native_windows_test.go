//go:build windows

package schannel

import (
	"os"
	"testing"
)

// nativeWindowsEnv names the environment variable that the native Windows
// CI job (.github/workflows/windows.yml) sets to 1. There nothing is
// excused for Wine: a test that skips or relaxes a check under Wine 8.0
// (no TLS 1.3 in its Schannel, no OCSP stapling, no exclusive chain-engine
// root, ...) runs as on Windows, and fails if it cannot pass.
const nativeWindowsEnv = "TLSMAIL_NATIVE_WINDOWS"

// wineExcused reports whether a test may leave out what Wine 8.0 cannot
// do: under Wine, unless TLSMAIL_NATIVE_WINDOWS=1.
func wineExcused() bool { return underWine() && os.Getenv(nativeWindowsEnv) != "1" }

// skipUnderWine skips t, saying why, when wineExcused: use it for every
// test that Wine cannot run, so that the native job runs it.
func skipUnderWine(t testing.TB, why string) {
	t.Helper()
	if wineExcused() {
		t.Skip("Wine 8.0: " + why)
	}
}

// TestNativeWindowsIsNative guards the native job: with
// TLSMAIL_NATIVE_WINDOWS=1 the tests must not run under Wine, where the
// Wine allowances would be missing and the job's claim false.
func TestNativeWindowsIsNative(t *testing.T) {
	if os.Getenv(nativeWindowsEnv) == "1" && underWine() {
		t.Fatalf("%s=1 but the tests run under Wine: unset it for scripts/wine-test.sh", nativeWindowsEnv)
	}
}
