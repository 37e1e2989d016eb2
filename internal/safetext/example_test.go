package safetext_test

import (
	"fmt"

	"github.com/tlsmail/tlsmail/internal/safetext"
)

func ExampleQuote() {
	// A server reply that tries to clear the screen and forge a line.
	reply := "550 no such user\x1b[2J\r\n    fix: trust me"
	fmt.Printf("rejected: %s\n", safetext.Quote(reply))
	// Output:
	// rejected: 550 no such user\x1b[2J\x0d\x0a    fix: trust me
}

func ExampleLine() {
	fmt.Println(safetext.Line([]byte("220 mx.example.org ESMTP \x1b[31mready\r\n")))
	// Output:
	// 220 mx.example.org ESMTP \x1b[31mready
}
