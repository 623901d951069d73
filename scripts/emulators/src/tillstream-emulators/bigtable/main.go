// Bigtable emulator for tests: Google's in-memory fake (bttest) on a fixed address.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"cloud.google.com/go/bigtable/bttest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8086", "host:port to listen on")
	flag.Parse()

	srv, err := bttest.NewServer(*addr)
	if err != nil {
		log.Fatalf("bigtable emulator: listen %s: %v", *addr, err)
	}

	// The start helper waits for this line before handing the address to clients.
	fmt.Printf("bigtable emulator listening on %s\n", srv.Addr)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	srv.Close()
}
