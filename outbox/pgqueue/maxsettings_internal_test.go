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
}
