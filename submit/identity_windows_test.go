//go:build windows

package submit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testdir"
)

// TestPFXFileBounded: a PFX file is read with the same bound as a PEM file
// (a path naming a huge file, by mistake or in a queued item, must not be
// read whole into memory): one larger than the bound is an *Error of Field
// client_cert that says so, before Windows is asked to decode it.
func TestPFXFileBounded(t *testing.T) {
	p := filepath.Join(testdir.New(t), "big.pfx")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxPEMFile + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	a := &Account{Host: "smtp.example.org", Port: 465, Client: ClientIdentity{PFXFile: p}}
	_, err = (&Connector{}).Config(context.Background(), a)
	var e *Error
	if !errors.As(err, &e) || e.Field != "client_cert" || !strings.Contains(e.Msg, "larger than") {
		t.Fatalf("Config with a PFX file over the bound = %v; want an *Error of field client_cert saying it is too large", err)
	}
}

// TestPlanReadsNoPFXPassword: Plan does no secret I/O: an account whose
// PFX password comes from a command that fails is planned without running
// it; Authenticate runs it, and its failure is an *Error about the PFX
// password (Secret SecretPFXPassword), before the PFX file is read.
func TestPlanReadsNoPFXPassword(t *testing.T) {
	a := &Account{Host: "smtp.example.org", Port: 465, Client: ClientIdentity{
		PFXFile: filepath.Join(testdir.New(t), "missing.pfx"), PFXPassword: SecretRef{Source: SecretCommand, Ref: "exit 7"}}}
	p, err := (&Connector{}).Plan(context.Background(), a)
	if err != nil {
		t.Fatalf("Plan: %v (it read the PFX password)", err)
	}
	if p.Authenticate == nil {
		t.Fatal("Plan of an account with a PFX file has no Authenticate")
	}
	var e *Error
	if err := p.Authenticate(context.Background()); !errors.As(err, &e) || e.Field != "secret_command" || e.Secret != SecretPFXPassword {
		t.Errorf("Authenticate = %v; want the PFX password command's failure", err)
	}
}
