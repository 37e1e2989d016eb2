package submit

import (
	"encoding/json"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
)

// ItemInfo describes an outbox item for a listing, with the server and
// account of its Account (`tlsmail queue list --json` prints these). It
// holds no message content and no secret.
type ItemInfo struct {
	ID         string   `json:"id"`
	From       string   `json:"from"`
	Recipients []string `json:"recipients"`
	// EnvelopeError, if set, is why the envelope could not be read
	// (outbox.Item.EnvelopeError): From and Recipients are then unknown,
	// not a null sender without recipients.
	EnvelopeError string    `json:"envelope_error,omitempty"`
	Size          int64     `json:"size"`
	Created       time.Time `json:"created"`
	// Server is the Account's host:port as delivery dials it (Addr);
	// Account its configuration account, when it names one.
	Server      string    `json:"server"`
	Account     string    `json:"account,omitempty"`
	Attempts    int       `json:"attempts"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	// FailedAt and Reason are set for a failed item.
	FailedAt time.Time `json:"failed_at,omitzero"`
	Reason   string    `json:"reason,omitempty"`
}

// Describe returns what a listing shows of it. Settings that cannot be
// read as an Account still list, with an empty server (the runner
// reports why it cannot deliver the item).
func Describe(it *outbox.Item) ItemInfo {
	var a Account
	server := ""
	if json.Unmarshal(it.Data(), &a) == nil {
		server = a.Addr()
	}
	return ItemInfo{
		ID: it.ID, From: it.Envelope.From, Recipients: it.Envelope.To, EnvelopeError: it.EnvelopeError, Size: it.Size, Created: it.Created,
		Server: server, Account: a.Name,
		Attempts: it.Attempts, LastAttempt: it.LastAttempt, NextAttempt: it.NextAttempt, LastError: it.LastError,
		FailedAt: it.FailedAt, Reason: it.Reason,
	}
}
