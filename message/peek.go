package message

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"

	"github.com/tlsmail/tlsmail/internal/headerblock"
)

// PeekFrom reads the header section of the message on r (RFC 5322
// section 2.1: up to the first empty line) and returns the address of
// its first From field, "" when there is none or it does not parse, and a
// reader that yields the whole message again: how msmtp's
// --read-envelope-from takes the envelope sender from the message. At
// most maxHeader bytes of header are held; a longer header is an
// *InputError of Field "header". A read error is returned as it is.
func PeekFrom(r io.Reader, maxHeader int) (string, io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := headerblock.Read(br, maxHeader)
	if errors.As(err, new(*headerblock.TooLargeError)) {
		return "", nil, &InputError{Field: "header", Problem: fmt.Sprintf("larger than %d bytes", maxHeader),
			Fix: "give the envelope sender instead of reading it from the message"}
	}
	if err != nil {
		return "", nil, err
	}
	rest := io.MultiReader(bytes.NewReader(head), br)
	msg, err := mail.ReadMessage(io.MultiReader(bytes.NewReader(head), strings.NewReader("\r\n")))
	if err != nil {
		return "", rest, nil // no usable header: preparing the message says more
	}
	list, err := msg.Header.AddressList("From")
	if err != nil || len(list) == 0 {
		return "", rest, nil
	}
	return list[0].Address, rest, nil
}
