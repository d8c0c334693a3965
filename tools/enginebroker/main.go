// Command enginebroker runs the internal/broker engine bare on a loopback port, for
// measuring and profiling the engine without the `mqttx serve` command around it. Like
// serve, it prints "Listening on 127.0.0.1:PORT" on stderr; it stops on SIGINT or
// SIGTERM, writing the CPU profile first when -cpuprofile is given.
//
//	go build -o bin/enginebroker ./tools/enginebroker
//	bin/brokerbench -ours "bin/enginebroker -cpuprofile /tmp/cpu.out"
//
// With -floor it runs no engine and answers every CONNECT with a fixed CONNACK, to
// measure what a connection costs below any engine work. -floor goroutine gives each
// connection a goroutine that reads CONNECT, answers and waits for the connection to
// end: the least any goroutine-per-connection Go server (like the engine with
// -no-event-loop, or off Linux) does per connect (accept, netpoll registration, a
// goroutine, a read, a write, a parked read).
// -floor epoll (Linux) serves every connection from one epoll loop with plain system
// calls and no goroutine per connection, as an event-loop broker such as mosquitto (and
// the engine's event loop, for new and quiet connections) does:
//
//	bin/brokerbench -scenarios connect -ours "bin/enginebroker -floor goroutine"
//	bin/brokerbench -scenarios connect -ours "bin/enginebroker -floor epoll"
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
	"github.com/mqttx/mqttx/internal/packet"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file until stopped")
	tcpKA := flag.Bool("tcp-keepalive", true, "leave Go's default TCP keep-alive on accepted connections (as net.Listen does; the event loop sets none)")
	noLoop := flag.Bool("no-event-loop", false, "serve every connection from a goroutine from the start (broker.Options.NoEventLoop)")
	floor := flag.String("floor", "", "run no engine, only answer every CONNECT with a fixed CONNACK, from a goroutine per connection (goroutine) or one epoll loop (epoll, Linux)")
	dump := flag.String("dump", "", "on SIGUSR1 write heap and goroutine profiles to this prefix (PREFIX.heap, PREFIX.goroutine) and memory statistics to stderr")
	flag.Parse()
	if *dump != "" {
		runtime.MemProfileRate = 1 // exact heap accounting per connection
		go dumpOnSignal(*dump)
	}
	if err := run(*addr, *cpuprofile, *tcpKA, *floor, *noLoop); err != nil {
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

func run(addr, cpuprofile string, tcpKA bool, floor string, noLoop bool) error {
	if floor != "" && floor != "goroutine" && floor != "epoll" {
		return fmt.Errorf("-floor %q: want goroutine or epoll", floor)
	}
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
	fmt.Fprintf(os.Stderr, "Listening on %s\n", ln.Addr())
	served := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	switch floor {
	case "goroutine":
		go func() { served <- serveFloor(ln) }()
	case "epoll":
		go func() { served <- serveEpollFloor(ln, stop) }()
	default:
		s := broker.New(broker.Options{NoEventLoop: noLoop})
		go func() { served <- s.Serve(ln) }()
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_ = s.Shutdown(ctx)
		}()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-sig:
	case err := <-served:
		return err
	}
	ln.Close()
	return nil
}

// serveFloor accepts connections on ln until it fails; see -floor.
func serveFloor(ln net.Listener) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return err
		}
		go floorConn(nc)
	}
}

// floorConn answers one CONNECT, read in a single read, with a CONNACK accepting it,
// then waits for the client to close.
func floorConn(nc net.Conn) {
	defer nc.Close()
	var buf [256]byte
	n, err := nc.Read(buf[:])
	if err != nil {
		return
	}
	connack := floorConnack(buf[:n])
	if connack == nil {
		return
	}
	if _, err := nc.Write(connack); err != nil {
		return
	}
	for {
		if _, err := nc.Read(buf[:]); err != nil {
			return
		}
	}
}

var (
	connackV3 = []byte{0x20, 2, 0, 0}
	connackV5 = []byte{0x20, 3, 0, 0, 0}
)

// floorConnack returns the CONNACK accepting the CONNECT that b starts with (MQTT 5
// or 3.x after its protocol level), or nil when b does not start with a CONNECT.
func floorConnack(b []byte) []byte {
	if len(b) < 2 || b[0] != 0x10 {
		return nil
	}
	// Fixed header, protocol name (2-byte length + name), then the level.
	_, vn, err := packet.DecodeVarInt(b[1:])
	if err != nil {
		return nil
	}
	at := 1 + vn
	if len(b) < at+2 {
		return nil
	}
	at += 2 + (int(b[at])<<8 | int(b[at+1]))
	if len(b) <= at {
		return nil
	}
	if b[at] == 5 {
		return connackV5
	}
	return connackV3
}
