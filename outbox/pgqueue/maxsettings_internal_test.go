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
	if maxEnvelopeSQL != strconv.Itoa(MaxEnvelope) || maxErrorTextSQL != strconv.Itoa(MaxErrorText) {
		t.Errorf("maxEnvelopeSQL %s, MaxEnvelope %d; maxErrorTextSQL %s, MaxErrorText %d", maxEnvelopeSQL, MaxEnvelope, maxErrorTextSQL, MaxErrorText)
	}
}
