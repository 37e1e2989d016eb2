package submit

import (
	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/message"
)

// HeaderOptions sets the header policy of opts from an msmtp account, as
// msmtp applies it in sendmail mode: set_from_header, set_date_header and
// set_msgid_header (auto, on, off), remove_bcc_headers and
// undisclosed_recipients. The From field written is opts.From, the
// envelope sender (see config.Account.EnvelopeFrom).
func HeaderOptions(a *config.Account, opts *message.PrepareOptions) {
	policy := func(v string) message.FieldPolicy {
		switch v {
		case "on":
			return message.FieldAlways
		case "off":
			return message.FieldNever
		}
		return message.FieldAuto
	}
	opts.FromField = policy(a.SetFromHeader)
	opts.DateField = policy(a.SetDateHeader)
	opts.MessageIDField = policy(a.SetMsgIDHeader)
	opts.KeepBcc = !a.RemoveBcc
	opts.Undisclosed = a.UndisclosedRecipients
}
