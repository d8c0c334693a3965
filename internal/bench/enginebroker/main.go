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
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file until stopped")
	tcpKA := flag.Bool("tcp-keepalive", true, "leave Go's default TCP keep-alive on accepted connections (as net.Listen does)")
	dump := flag.String("dump", "", "on SIGUSR1 write heap and goroutine profiles to this prefix (PREFIX.heap, PREFIX.goroutine) and memory statistics to stderr")
	flag.Parse()
	if *dump != "" {
		runtime.MemProfileRate = 1 // exact heap accounting per connection
		go dumpOnSignal(*dump)
	}
	if err := run(*addr, *cpuprofile, *tcpKA); err != nil {
		fmt.Fprintln(os.Stderr, "enginebroker:", err)
		os.Exit(1)
	}
}

// dumpOnSignal writes heap and goroutine profiles each time SIGUSR1 arrives, to look at
// what idle connections cost while a load run holds them open.
func dumpOnSignal(prefix string) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	for range c {
		runtime.GC()
		for _, name := range []string{"heap", "goroutine"} {
			f, err := os.Create(prefix + "." + name)
			if err != nil {
				fmt.Fprintln(os.Stderr, "enginebroker:", err)
				continue
			}
			_ = pprof.Lookup(name).WriteTo(f, 0)
			f.Close()
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Fprintf(os.Stderr, "goroutines %d heap_inuse %d stack_inuse %d sys %d\n", runtime.NumGoroutine(), m.HeapInuse, m.StackInuse, m.Sys)
	}
}

func run(addr, cpuprofile string, tcpKA bool) error {
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
	var lc net.ListenConfig
	if !tcpKA {
		lc.KeepAlive = -1
	}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
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
