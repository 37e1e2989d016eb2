// Command empty does nothing. bench/run.sh times it as the floor of any Go
// program's start-up on the machine, next to `tlsmail version`.
package main

func main() {}
