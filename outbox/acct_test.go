package outbox

import (
	"encoding/json"
	"testing"
	"time"
)

// testAcct stands for the settings a layer above stores with each item
// (tlsmail's submit.Account): the outbox never decodes them, its tests do.
type testAcct struct {
	ConfigFile string        `json:"config_file,omitempty"`
	Account    string        `json:"account,omitempty"`
	Host       string        `json:"host"`
	Port       int           `json:"port"`
	TLS        string        `json:"tls,omitempty"`
	TrustFile  string        `json:"trust_file,omitempty"`
	Pins       []string      `json:"pins,omitempty"`
	Auth       string        `json:"auth,omitempty"`
	User       string        `json:"user,omitempty"`
	Secret     testSecret    `json:"secret,omitzero"`
	Domain     string        `json:"domain,omitempty"`
	Timeout    time.Duration `json:"timeout,omitempty"`
}

type testSecret struct {
	Source string `json:"source,omitempty"`
	Ref    string `json:"ref,omitempty"`
}

// json is the settings as stored.
func (a testAcct) json() json.RawMessage {
	b, err := json.Marshal(a)
	if err != nil {
		panic(err)
	}
	return b
}

// data is what a layer above gives EnqueueData.
func (a testAcct) data() Data { return Data{Settings: a.json()} }

// acctOf decodes an item's settings.
func acctOf(t testing.TB, it *Item) testAcct {
	t.Helper()
	var a testAcct
	if err := json.Unmarshal(it.Data(), &a); err != nil {
		t.Errorf("item %s: settings %s: %v", it.ID, it.Data(), err)
	}
	return a
}
