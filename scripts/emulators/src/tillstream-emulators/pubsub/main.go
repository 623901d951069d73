// Pub/Sub emulator for tests: Google's in-memory fake (pstest) served on a fixed address.
// This pstest version has no NewServerWithPort, so its service implementation is registered
// on a gRPC server of our own that listens where we are told.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"cloud.google.com/go/pubsub/pstest"
	pb "google.golang.org/genproto/googleapis/pubsub/v1"
	"google.golang.org/grpc"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8085", "host:port to listen on")
	flag.Parse()

	fake := pstest.NewServer()
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("pubsub emulator: listen %s: %v", *addr, err)
	}
	srv := grpc.NewServer()
	pb.RegisterPublisherServer(srv, &fake.GServer)
	pb.RegisterSubscriberServer(srv, &fake.GServer)

	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		srv.Stop()
		os.Exit(0)
	}()

	// The start helper waits for this line before handing the address to clients.
	fmt.Printf("pubsub emulator listening on %s\n", lis.Addr().String())
	if err := srv.Serve(lis); err != nil {
		log.Fatalf("pubsub emulator: %v", err)
	}
}
