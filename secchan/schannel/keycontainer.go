//go:build windows

package schannel

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Key containers are where CryptoAPI keeps private keys on disk (on Windows
// under %APPDATA%\Microsoft\Crypto\RSA\<SID>, under Wine in the registry at
// HKCU\Software\Wine\Crypto\RSA). tlsmail puts a client key in one only
// where Schannel needs it there (planClientKey), names it
// tlsmail-conn-<pid>-<random>, and deletes it when the connection ends; the
// pid lets a later tlsmail delete the containers of a process that crashed.

const (
	// connContainerPrefix names the key containers of connections.
	connContainerPrefix = "tlsmail-conn-"

	ppEnumContainers = 2 // CryptGetProvParam PP_ENUMCONTAINERS
	ppName           = 4 // PP_NAME
	ppContainer      = 6 // PP_CONTAINER
	ppProvType       = 16
	cryptFirst       = 1 // CRYPT_FIRST
	stillActive      = 259
)

// keyContainerProvider is the provider of tlsmail's own containers.
type keyContainerProvider struct {
	name string
	typ  uint32
}

var rsaAESProvider = keyContainerProvider{name: msEnhRSAAESProv, typ: windows.PROV_RSA_AES}

// newConnContainerName returns a fresh container name for a connection of
// this process.
func newConnContainerName() string {
	var rnd [8]byte
	rand.Read(rnd[:])
	return fmt.Sprintf("%s%d-%s", connContainerPrefix, os.Getpid(), hex.EncodeToString(rnd[:]))
}

// containerPID returns the process id in a connection container's name,
// and false for any name newConnContainerName would not make (the prefix,
// a decimal process id, a dash, 16 lowercase hex digits): the crash sweep
// deletes only containers that are certainly tlsmail's.
func containerPID(name string) (uint32, bool) {
	rest, ok := strings.CutPrefix(name, connContainerPrefix)
	if !ok {
		return 0, false
	}
	pid, rnd, ok := strings.Cut(rest, "-")
	if !ok || pid == "" || pid[0] < '0' || pid[0] > '9' || len(rnd) != 16 || strings.Trim(rnd, "0123456789abcdef") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(pid, 10, 32)
	return uint32(n), err == nil
}

// listContainers returns the names of this user's key containers of p.
func listContainers(p keyContainerProvider) ([]string, error) {
	provName, _ := windows.UTF16PtrFromString(p.name)
	var prov windows.Handle
	if err := windows.CryptAcquireContext(&prov, nil, provName, p.typ, windows.CRYPT_VERIFYCONTEXT); err != nil {
		return nil, fmt.Errorf("open the key provider: %w", err)
	}
	defer windows.CryptReleaseContext(prov, 0)
	var names []string
	flags := uintptr(cryptFirst)
	buf := make([]byte, 1024)
	for {
		size := uint32(len(buf))
		r, _, e := procs.cryptGetProvParam.Call(uintptr(prov), ppEnumContainers, uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), flags)
		if r == 0 {
			if errors.Is(e, windows.ERROR_NO_MORE_ITEMS) {
				return names, nil
			}
			return names, fmt.Errorf("enumerate key containers: %w", e)
		}
		flags = 0
		name := buf[:size]
		if i := strings.IndexByte(string(name), 0); i >= 0 {
			name = name[:i]
		}
		names = append(names, string(name))
	}
}

// containerExists reports whether the persisted container name of p exists.
func containerExists(p keyContainerProvider, name string) bool {
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return false
	}
	provName, _ := windows.UTF16PtrFromString(p.name)
	var h windows.Handle
	if windows.CryptAcquireContext(&h, n, provName, p.typ, windows.CRYPT_SILENT) != nil {
		return false
	}
	windows.CryptReleaseContext(h, 0)
	return true
}

// deleteContainerOf deletes the container name of p.
func deleteContainerOf(p keyContainerProvider, name string) error {
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return err
	}
	provName, _ := windows.UTF16PtrFromString(p.name)
	var h windows.Handle
	return windows.CryptAcquireContext(&h, n, provName, p.typ, windows.CRYPT_DELETEKEYSET)
}

// processGone reports whether no process with id pid runs. An answer it
// cannot be sure of (access denied) counts as running.
func processGone(pid uint32) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return errors.Is(err, windows.ERROR_INVALID_PARAMETER)
	}
	defer windows.CloseHandle(h)
	var code uint32
	if windows.GetExitCodeProcess(h, &code) != nil {
		return false
	}
	return code != stillActive
}

// sweepConnContainers deletes the connection key containers left by
// tlsmail processes that are gone (a crash, a kill), and returns their
// names. Containers of running processes, this one included, stay.
func sweepConnContainers() []string {
	names, _ := listContainers(rsaAESProvider)
	var swept []string
	for _, name := range names {
		pid, ok := containerPID(name)
		if !ok || pid == uint32(os.Getpid()) || !processGone(pid) {
			continue
		}
		if deleteContainerOf(rsaAESProvider, name) == nil {
			swept = append(swept, name)
		}
	}
	return swept
}

// provString returns a string parameter (PP_CONTAINER, PP_NAME) of a
// CryptoAPI provider handle, or "".
func provString(prov windows.Handle, param uintptr) string {
	var size uint32
	if r, _, _ := procs.cryptGetProvParam.Call(uintptr(prov), param, 0, uintptr(unsafe.Pointer(&size)), 0); r == 0 || size == 0 {
		return ""
	}
	buf := make([]byte, size)
	if r, _, _ := procs.cryptGetProvParam.Call(uintptr(prov), param, uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0); r == 0 {
		return ""
	}
	if i := strings.IndexByte(string(buf), 0); i >= 0 {
		buf = buf[:i]
	}
	return string(buf)
}

// persistedKeyOf returns the persisted key container that holds the private
// key of ctx, if the key is in one: after a PFXImportCertStore with
// PKCS12_NO_PERSIST_KEY it should not be, and where it is (Wine ignores the
// flag) the container must be deleted with the certificate.
func persistedKeyOf(ctx *windows.CertContext) (keyContainerProvider, string, bool) {
	var prov windows.Handle
	var spec uint32
	var mustFree bool
	if windows.CryptAcquireCertificatePrivateKey(ctx, windows.CRYPT_ACQUIRE_SILENT_FLAG|windows.CRYPT_ACQUIRE_CACHE_FLAG, nil, &prov, &spec, &mustFree) != nil {
		return keyContainerProvider{}, "", false
	}
	if spec == windows.CERT_NCRYPT_KEY_SPEC {
		// A CNG key: PKCS12_NO_PERSIST_KEY made it ephemeral.
		return keyContainerProvider{}, "", false
	}
	if mustFree {
		defer windows.CryptReleaseContext(prov, 0)
	}
	p := keyContainerProvider{name: provString(prov, ppName)}
	var typ, size uint32 = 0, 4
	if r, _, _ := procs.cryptGetProvParam.Call(uintptr(prov), ppProvType, uintptr(unsafe.Pointer(&typ)), uintptr(unsafe.Pointer(&size)), 0); r != 0 {
		p.typ = typ
	}
	name := provString(prov, ppContainer)
	if p.name == "" || p.typ == 0 || name == "" || !containerExists(p, name) {
		return keyContainerProvider{}, "", false
	}
	return p, name, true
}
