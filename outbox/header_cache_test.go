package outbox

import (
	"reflect"
	"testing"
	"time"
	"unsafe"
)

// TestDecodeHeaderFixed checks the decoding of a header line against
// values written out here: the settings come back as written (Item.Data),
// whatever "group" field an earlier tlsmail wrote beside them; settings that are absent, null or not a JSON object make
// the header an error (Enqueue never writes them). Decoded twice on one
// cache, the second answer's settings share the first's string.
func TestDecodeHeaderFixed(t *testing.T) {
	const id = "0123456789abcdefghijklmnop"
	head := `{"id":"` + id + `","created":"2025-03-01T12:00:00Z","envelope":{"from":"a@example.org","to":["b@example.net"]}`
	want := header{
		ID:       id,
		Created:  time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Envelope: Envelope{From: "a@example.org", To: []string{"b@example.net"}},
	}
	for _, tc := range []struct {
		name     string
		line     string
		wantRaw  string
		wantErr  bool
		wantHead header
	}{
		{"empty object", head + `,"settings":{}}`, `{}`, false, want},
		{"host and port", head + `,"settings":{"host":"mx.example","port":25}}`,
			`{"host":"mx.example","port":25}`, false, want},
		{"a group that differs", head + `,"settings":{"host":"mx.example","port":25},"group":"{\"host\":\"other\"}"}`,
			`{"host":"mx.example","port":25}`, false, want},
		{"absent", head + `}`, "", true, header{}},
		{"null", head + `,"settings":null}`, "", true, header{}},
		{"settings a string", head + `,"settings":"x"}`, "", true, header{}},
		{"settings an array", head + `,"settings":[1]}`, "", true, header{}},
		{"not JSON", head + `,"settings":{`, "", true, header{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := settingsCache{}
			var first string
			for round := 1; round <= 2; round++ {
				h, raw, err := decodeHeader([]byte(tc.line), sc)
				if tc.wantErr {
					if err == nil {
						t.Errorf("round %d: no error, want one (got %+v, %s)", round, h, raw)
					}
					continue
				}
				if err != nil || !reflect.DeepEqual(h, tc.wantHead) || raw != tc.wantRaw {
					t.Errorf("round %d = %+v, settings %s, %v; want %+v, settings %s", round, h, raw, err, tc.wantHead, tc.wantRaw)
				}
				if round == 1 {
					first = raw
				} else if unsafe.StringData(raw) != unsafe.StringData(first) {
					t.Errorf("the second decode did not reuse the cached settings")
				}
			}
			if !tc.wantErr && len(sc) != 1 {
				t.Errorf("the cache holds %d entries after two decodes of one line, want 1", len(sc))
			}
		})
	}
}
