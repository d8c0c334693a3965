// Command enginebroker runs the internal/broker engine bare on a loopback port, for
// measuring and profiling the engine without the `mqttx serve` command around it. Like
// serve, it prints "Listening on 127.0.0.1:PORT" on stderr; it stops on SIGINT or
// SIGTERM, writing the CPU profile first when -cpuprofile is given.
//
//	go build -o bin/enginebroker ./internal/bench/enginebroker
//	bin/brokerbench -ours "bin/enginebroker -cpuprofile /tmp/cpu.out"
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file until stopped")
	flag.Parse()
	if err := run(*addr, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "enginebroker:", err)
		os.Exit(1)
	}
}

func run(addr, cpuprofile string) error {
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s := broker.New(broker.Options{})
	fmt.Fprintf(os.Stderr, "Listening on %s\n", ln.Addr())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-sig:
	case err := <-served:
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = s.Shutdown(ctx)
	return nil
}
