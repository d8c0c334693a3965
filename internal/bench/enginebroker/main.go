// Command enginebroker runs the internal/broker engine bare on a loopback port, for
// measuring and profiling the engine without the `mqttx serve` command around it. Like
// serve, it prints "Listening on 127.0.0.1:PORT" on stderr; it stops on SIGINT or
// SIGTERM, writing the CPU profile first when -cpuprofile is given.
//
//	go build -o bin/enginebroker ./internal/bench/enginebroker
//	bin/brokerbench -ours "bin/enginebroker -cpuprofile /tmp/cpu.out"
//
// With -floor it runs no engine: each connection gets a goroutine that reads CONNECT,
// answers a fixed CONNACK and waits for the connection to end. That is the least any
// goroutine-per-connection Go server does per connect (accept, netpoll registration, a
// goroutine, a read, a write, a parked read), so its connect-rate figures are the floor
// that engine work adds to:
//
//	bin/brokerbench -scenarios connect -ours "bin/enginebroker -floor"
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
	tcpKA := flag.Bool("tcp-keepalive", true, "leave Go's default TCP keep-alive on accepted connections (as net.Listen does)")
	floor := flag.Bool("floor", false, "run no engine: answer every CONNECT with a fixed CONNACK (the floor for connect-rate runs)")
	dump := flag.String("dump", "", "on SIGUSR1 write heap and goroutine profiles to this prefix (PREFIX.heap, PREFIX.goroutine) and memory statistics to stderr")
	flag.Parse()
	if *dump != "" {
		runtime.MemProfileRate = 1 // exact heap accounting per connection
		go dumpOnSignal(*dump)
	}
	if err := run(*addr, *cpuprofile, *tcpKA, *floor); err != nil {
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

func run(addr, cpuprofile string, tcpKA, floor bool) error {
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
	if floor {
		go func() { served <- serveFloor(ln) }()
	} else {
		s := broker.New(broker.Options{})
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

// floorConn answers one CONNECT, read in a single read, with a CONNACK accepting it
// (MQTT 5 or 3.x after the protocol level), then waits for the client to close.
func floorConn(nc net.Conn) {
	defer nc.Close()
	var buf [256]byte
	n, err := nc.Read(buf[:])
	if err != nil || n < 2 || buf[0] != 0x10 {
		return
	}
	// Fixed header, protocol name (2-byte length + name), then the level.
	_, vn, err := packet.DecodeVarInt(buf[1:n])
	if err != nil {
		return
	}
	at := 1 + vn
	if n < at+2 {
		return
	}
	at += 2 + (int(buf[at])<<8 | int(buf[at+1]))
	if n <= at {
		return
	}
	connack := []byte{0x20, 2, 0, 0}
	if buf[at] == 5 {
		connack = []byte{0x20, 3, 0, 0, 0}
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
