package message_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/message"
)

func ExampleCompose() {
	m, err := message.Compose(message.Spec{
		From:      "Jörg Müller <joerg@example.com>",
		To:        []string{"Ann <ann@example.org>"},
		Bcc:       []string{"archive@example.com"},
		Subject:   "Grüße",
		Text:      "Hallo Ann,\nschöne Grüße!\n",
		Date:      time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC),
		MessageID: "<1234@example.com>",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	env := m.Envelope()
	fmt.Println("MAIL FROM:", env.From)
	fmt.Println("RCPT TO:", strings.Join(env.To, ", "))

	var buf bytes.Buffer
	m.WriteTo(&buf) // what the SMTP client streams into DATA
	fmt.Println("size:", m.Size() == int64(buf.Len()))
	fmt.Print(strings.ReplaceAll(buf.String(), "\r\n", "\n"))
	// Output:
	// MAIL FROM: joerg@example.com
	// RCPT TO: ann@example.org, archive@example.com
	// size: true
	// Date: Fri, 01 Mar 2024 12:30:00 +0000
	// From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <joerg@example.com>
	// To: "Ann" <ann@example.org>
	// Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=
	// Message-Id: <1234@example.com>
	// Mime-Version: 1.0
	// Content-Type: text/plain; charset=utf-8
	// Content-Transfer-Encoding: quoted-printable
	//
	// Hallo Ann,
	// sch=C3=B6ne Gr=C3=BC=C3=9Fe!
}

func ExampleCompose_attachments() {
	m, err := message.Compose(message.Spec{
		From:    "me@example.com",
		To:      []string{"you@example.org"},
		Subject: "Report",
		Text:    "The report is attached.",
		HTML:    "<p>The report is <b>attached</b>.</p>",
		Attachments: []message.Attachment{
			{Path: "testdata/report.csv"}, // type from the extension: text/csv
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Size() > 0)
	// Output:
	// true
}

func ExamplePrepare() {
	// As "sendmail -t": recipients from the header, Bcc stripped, Date and
	// Message-ID added because they are missing; bare LF becomes CRLF.
	in := "From: me@example.com\nTo: you@example.org\nBcc: boss@example.com\nSubject: hi\n\nHello.\n"
	m, err := message.Prepare(strings.NewReader(in), message.PrepareOptions{
		ExtractRecipients: true,
		Date:              time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("RCPT TO:", strings.Join(m.Envelope().To, ", "))
	var buf bytes.Buffer
	m.WriteTo(&buf)
	for _, line := range strings.Split(buf.String(), "\r\n") {
		if strings.HasPrefix(line, "Message-Id:") {
			line = "Message-Id: <...@example.com>" // random
		}
		fmt.Println(line)
	}
	// Output:
	// RCPT TO: you@example.org, boss@example.com
	// From: me@example.com
	// To: you@example.org
	// Subject: hi
	// Date: Fri, 01 Mar 2024 12:30:00 +0000
	// Message-Id: <...@example.com>
	//
	// Hello.
	//
}

func ExampleInputError() {
	_, err := message.Compose(message.Spec{
		From:    "me@example.com",
		To:      []string{"you@example.org"},
		Subject: "hi\r\nBcc: everyone@example.net",
	})
	var ie *message.InputError
	if errors.As(err, &ie) {
		fmt.Println("usage error in", ie.Field)
		fmt.Println(ie.Problem)
	}
	// Output:
	// usage error in subject
	// contains a carriage return (CR) at byte 2, which could inject header lines
}
