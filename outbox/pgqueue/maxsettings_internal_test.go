package pgqueue

import (
	"strconv"
	"testing"
)

// TestMaxSettingsSQL: the statements bound the settings read with the
// same number as MaxSettings says.
func TestMaxSettingsSQL(t *testing.T) {
	if maxSettingsSQL != strconv.Itoa(MaxSettings) {
		t.Errorf("maxSettingsSQL %s, MaxSettings %d", maxSettingsSQL, MaxSettings)
	}
	if maxErrorTextSQL != strconv.Itoa(MaxErrorText) {
		t.Errorf("maxErrorTextSQL %s, MaxErrorText %d", maxErrorTextSQL, MaxErrorText)
	}
}

// TestMaxEnvelopeSQL: the statements read envelopes of up to twice
// MaxEnvelope (envelopeCol: room for jsonb's spaces).
func TestMaxEnvelopeSQL(t *testing.T) {
	if maxEnvelopeSQL != strconv.Itoa(2*MaxEnvelope) {
		t.Errorf("maxEnvelopeSQL %s, MaxEnvelope %d", maxEnvelopeSQL, MaxEnvelope)
	}
}

// TestMaxLeaseSQL: the statements honour a lease of up to MaxLease.
func TestMaxLeaseSQL(t *testing.T) {
	if maxLeaseSQL != strconv.Itoa(int(MaxLease.Seconds()))+" seconds" {
		t.Errorf("maxLeaseSQL %q, MaxLease %s", maxLeaseSQL, MaxLease)
	}
}
