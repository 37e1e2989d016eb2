// Package testport picks loopback TCP ports for servers that tests start
// as other programs (Postfix, PostgreSQL, socat), which must be told a
// port rather than given a listener.
//
// A port the kernel hands out for "127.0.0.1:0" comes from the ephemeral
// range (Linux: 32768-60999), the same range every other listener of the
// test run and every outgoing connection draws from: between closing the
// probe listener and the program binding the port, another test of the
// run (go test runs packages in parallel) may take it, and the program
// then fails to start, or a test talks to the wrong server. Ports are
// picked at random below that range instead, where nothing is allocated
// automatically, and checked free.
package testport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
)

// low and high bound the ports picked: registered ports under Linux's
// (and most systems') ephemeral range.
const low, high = 20000, 32768

// Free returns a loopback port, free when it was checked.
func Free() (int, error) {
	var last error
	for range 100 {
		p := low + rand.IntN(high-low)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			last = err
			continue
		}
		l.Close()
		return p, nil
	}
	return 0, fmt.Errorf("no free loopback port in %d-%d after 100 tries: %w", low, high-1, last)
}

// Addr is Free as "127.0.0.1:PORT".
func Addr() (string, error) {
	p, err := Free()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
}
