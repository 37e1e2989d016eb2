package maillog_test

import (
	"fmt"
	"os"
	"time"

	"github.com/tlsmail/tlsmail/maillog"
)

func ExampleEntry_Line() {
	e := maillog.Entry{
		Host: "smtp.example.com", TLS: true, Auth: true, User: "ann",
		From: "ann@example.com", Recipients: []string{"bob@example.org"},
		MailSize: 1234, SMTPStatus: 250, SMTPMsg: []string{"250 2.0.0 Ok: queued as 4F2"},
	}
	fmt.Println(e.Line())
	// Output: host=smtp.example.com tls=on auth=on user=ann from=ann@example.com recipients=bob@example.org mailsize=1234 smtpstatus=250 smtpmsg='250 2.0.0 Ok: queued as 4F2' exitcode=EX_OK
}

func ExampleConfig_Write() {
	c := maillog.Config{File: "-", Stdout: os.Stdout, TimeFormat: "%F %T"}
	at := time.Date(2026, time.December, 6, 19, 42, 25, 0, time.UTC)
	if err := c.Write(maillog.Entry{Host: "smtp.example.com", From: "cron@example.com", Recipients: []string{"root"},
		ErrorMsg: "connection refused", ExitCode: 75}, at); err != nil {
		fmt.Println(err)
	}
	// Output: 2026-12-06 19:42:25 host=smtp.example.com tls=off auth=off from=cron@example.com recipients=root errormsg='connection refused' exitcode=EX_TEMPFAIL
}
