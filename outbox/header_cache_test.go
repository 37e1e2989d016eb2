package outbox

import (
	"reflect"
	"testing"
	"time"
)

// TestDecodeHeaderCacheFixed checks both ways of decoding a header line,
// the plain one and the cached one, against values written out here: the
// same settings whether the settings are absent, null, an empty object or
// given, the grouping key the cache returns, and an error (from both) for
// settings of the wrong type. The cached decode runs twice on one cache, so
// that the second answer comes from the cache, and the test changes the
// first answer's slices and maps to show that the cached one does not share
// them.
func TestDecodeHeaderCacheFixed(t *testing.T) {
	const id = "0123456789abcdefghijklmnop"
	head := `{"id":"` + id + `","created":"2025-03-01T12:00:00Z","envelope":{"from":"a@example.org","to":["b@example.net"]}`
	base := header{
		ID:       id,
		Created:  time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Envelope: Envelope{From: "a@example.org", To: []string{"b@example.net"}},
	}
	with := func(s Settings) header { h := base; h.Settings = s; return h }
	// The zero Settings encoded: host and port have no omitempty.
	const zeroKey = `{"host":"","port":0}`
	for _, tc := range []struct {
		name    string
		line    string
		want    header
		wantKey string
		wantErr bool
	}{
		{"absent", head + `}`, with(Settings{}), zeroKey, false},
		{"null", head + `,"settings":null}`, with(Settings{}), zeroKey, false},
		{"empty object", head + `,"settings":{}}`, with(Settings{}), zeroKey, false},
		{"host and port", head + `,"settings":{"host":"mx.example","port":25}}`,
			with(Settings{Host: "mx.example", Port: 25}), `{"host":"mx.example","port":25}`, false},
		{"pins and extra", head + `,"settings":{"port":587,"host":"h","pins":["sha256/AA"],"extra":{"b":"2","a":"1"}}}`,
			with(Settings{Host: "h", Port: 587, Pins: []string{"sha256/AA"}, Extra: map[string]string{"a": "1", "b": "2"}}),
			`{"host":"h","port":587,"pins":["sha256/AA"],"extra":{"a":"1","b":"2"}}`, false},
		{"settings a string", head + `,"settings":"x"}`, header{}, "", true},
		{"port a string", head + `,"settings":{"port":"x"}}`, header{}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plain, _, err := decodeHeader([]byte(tc.line), nil)
			if tc.wantErr {
				if err == nil {
					t.Errorf("plain decode: no error, want one (got %+v)", plain)
				}
			} else if err != nil || !reflect.DeepEqual(plain, tc.want) {
				t.Errorf("plain decode = %+v, %v; want %+v", plain, err, tc.want)
			}

			sc := settingsCache{}
			for round := 1; round <= 2; round++ {
				got, key, err := decodeHeader([]byte(tc.line), sc)
				if tc.wantErr {
					if err == nil {
						t.Errorf("cached decode, round %d: no error, want one (got %+v)", round, got)
					}
					continue
				}
				if err != nil || !reflect.DeepEqual(got, tc.want) || key != tc.wantKey {
					t.Errorf("cached decode, round %d = %+v, key %s, %v; want %+v, key %s", round, got, key, err, tc.want, tc.wantKey)
				}
				// The caller owns what it got: changing it must not change
				// what the cache hands out next.
				if len(got.Settings.Pins) > 0 {
					got.Settings.Pins[0] = "changed"
				}
				if got.Settings.Extra != nil {
					got.Settings.Extra["a"] = "changed"
				}
			}
			if !tc.wantErr && len(sc) != 1 {
				t.Errorf("the cache holds %d entries after two decodes of one line, want 1", len(sc))
			}
		})
	}
}
