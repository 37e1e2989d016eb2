package submit

import (
	"fmt"
	"strings"

	"github.com/tlsmail/tlsmail/smtp"
)

// RecipientsError reports a message the server took for some recipients
// and refused for others (RFC 5321 section 3.3: each RCPT TO is answered
// on its own). It is permanent for the item: the accepted recipients have
// the message, so sending it again would deliver it twice to them; the
// outbox keeps the item in failed/ with this error as its reason, which
// names every refused address with the server's reply.
//
// Refused holds the 5xx refusals, and the 4xx ones that a further
// transaction could not place: a 452 "too many recipients" (RFC 5321
// section 4.5.3.1.10) is answered by sending the message to the rest in
// new transactions while each one places some, and only what then remains
// refused is listed.
type RecipientsError struct {
	// Delivered are the recipients that took the message.
	Delivered []string
	// Refused are the others, with the server's last reply for each.
	Refused []smtp.RecipientError
	// Requeued are recipients refused with 4xx and queued again as a new
	// item (Deliverer.Requeue).
	Requeued []string
}

func (e *RecipientsError) Error() string {
	var b strings.Builder
	for i, r := range e.Refused {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "recipient address %s not accepted by the server: %s", r.Addr, r.Reply.String())
	}
	fmt.Fprintf(&b, " (the message was delivered to %d recipient(s): %s", len(e.Delivered), strings.Join(e.Delivered, ", "))
	if len(e.Requeued) > 0 {
		fmt.Fprintf(&b, "; deferred and queued again for: %s", strings.Join(e.Requeued, ", "))
	}
	b.WriteString(")")
	return b.String()
}

// Temporary is false: the item is settled (see RecipientsError).
func (e *RecipientsError) Temporary() bool { return false }

// Unwrap is the refusal of the first refused recipient, a 5xx one if any,
// as an *smtp.Error of KindRejected (errors.As finds its Reply).
func (e *RecipientsError) Unwrap() error {
	if len(e.Refused) == 0 {
		return nil
	}
	first := e.Refused[0]
	for _, r := range e.Refused {
		if r.Reply.Code/100 == 5 {
			first = r
			break
		}
	}
	reply := first.Reply
	return &smtp.Error{Kind: smtp.KindRejected, Op: "RCPT TO", Reply: &reply,
		Err: fmt.Errorf("recipient %s refused", first.Addr),
		Fix: "correct or remove the refused address and send the message to it again (the other recipients have it)"}
}

// recipientProgress is what the transactions of one item placed so far.
type recipientProgress struct {
	delivered []string
	refused   []smtp.RecipientError
	last      *smtp.Result
}

// retryable splits a partly accepted transaction's refusals: the 4xx ones
// may be placed by a new transaction when this one placed some recipients
// (RFC 5321 section 4.5.3.1.10, 452 too many recipients); 5xx are final.
func retryable(res *smtp.Result) (again []string, final []smtp.RecipientError) {
	for _, r := range res.Rejected {
		if r.Reply.Code/100 == 4 && len(res.Accepted) > 0 {
			again = append(again, r.Addr)
		} else {
			final = append(final, r)
		}
	}
	return again, final
}
