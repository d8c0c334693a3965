package cmdutil

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/auth"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/output"
)

func TestDelayBackoffAndJitter(t *testing.T) {
	r := ReconnectOptions{Period: time.Second, Rand: func() float64 { return 0.5 }}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 5: 16 * time.Second, 6: 30 * time.Second, 100: 30 * time.Second} {
		if got := r.Delay(n); got != want {
			t.Errorf("Delay(%d) = %s, want %s", n, got, want)
		}
	}
	low, high := r, r
	low.Rand = func() float64 { return 0 }
	high.Rand = func() float64 { return 0.999999 }
	if got := low.Delay(1); got != 750*time.Millisecond {
		t.Errorf("lowest jitter: %s", got)
	}
	if got := high.Delay(1); got < 1249*time.Millisecond || got > 1250*time.Millisecond {
		t.Errorf("highest jitter: %s", got)
	}
	long := ReconnectOptions{Period: time.Minute, Rand: func() float64 { return 0.5 }}
	if got := long.Delay(3); got != time.Minute {
		t.Errorf("a period above the cap stays: %s", got)
	}
}

func TestParsePeriod(t *testing.T) {
	for in, want := range map[string]time.Duration{"1000": time.Second, "50": 50 * time.Millisecond, "2s": 2 * time.Second, "500ms": 500 * time.Millisecond} {
		if got, err := ParsePeriod(in); err != nil || got != want {
			t.Errorf("ParsePeriod(%q) = %s, %v", in, got, err)
		}
	}
	for _, bad := range []string{"0", "-1s", "soon", "", "2h", "0s"} {
		if _, err := ParsePeriod(bad); err == nil {
			t.Errorf("ParsePeriod(%q) accepted", bad)
		}
	}
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"1000", "2s", "0", "1h", "1h0m1s", "-5ms"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParsePeriod(s)
		if err == nil && (d <= 0 || d > time.Hour) {
			t.Fatalf("ParsePeriod(%q) = %s", s, d)
		}
	})
}

// events returns a JSON printer and a function counting its lines of kind k.
func events(t *testing.T) (output.Printer, func(k output.Kind) int) {
	s, _, _, errOut := output.Test()
	p := output.NewPrinter(s, output.FormatJSON, output.PrinterOptions{})
	return p, func(k output.Kind) int { return strings.Count(errOut.String(), `"type":"`+string(k)+`"`) }
}

func options(t *testing.T, addr string) mqttc.Options {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	return mqttc.Options{Version: mqttc.V5, Host: host, Port: n, ClientID: "re", KeepAlive: 30, CleanStart: true, ConnectTimeout: 5 * time.Second}
}

// TestReconnectRefusedIsNotRetried: the broker comes back refusing us; one attempt, and
// its refusal (exit 3) is the result.
func TestReconnectRefusedIsNotRetried(t *testing.T) {
	srv, addr := brokertest.StartServer(t)
	p, count := events(t)
	co := options(t, addr)
	c, err := dial(context.Background(), mqttc.New, co)
	if err != nil {
		t.Fatal(err)
	}
	// The broker goes away; one that refuses everyone takes its port.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	cause := <-c.Lost
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	refusing := broker.New(broker.Options{Authorizer: refuseAll{}})
	go func() { _ = refusing.Serve(ln) }()
	t.Cleanup(func() { _ = refusing.Shutdown(context.Background()) })

	r := ReconnectOptions{Period: time.Millisecond}
	_, err = Reconnect(ctx, r, p, cause, mqttc.New, co)
	var refused *mqttc.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if n := count(output.KindReconnecting); n != 1 {
		t.Fatalf("%d reconnect attempts, want 1", n)
	}
}

// TestReconnectGivesUp: nothing listens; after --max-reconnects attempts the last error
// is returned.
func TestReconnectGivesUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p, count := events(t)
	_, err = Reconnect(context.Background(), ReconnectOptions{Period: time.Millisecond, Max: 3}, p, errors.New("eof"), mqttc.New, options(t, addr))
	if err == nil || !strings.HasPrefix(err.Error(), "gave up after 3 reconnect attempts: ") {
		t.Fatalf("err = %v", err)
	}
	if n := count(output.KindReconnecting); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
}

// TestReconnectComesBack: the broker restarts on the same port and the client is back.
func TestReconnectComesBack(t *testing.T) {
	srv, addr := brokertest.StartServer(t)
	p, count := events(t)
	co := options(t, addr)
	c, err := dial(context.Background(), mqttc.New, co)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	cause := <-c.Lost
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	again := broker.New(broker.Options{})
	go func() { _ = again.Serve(ln) }()
	t.Cleanup(func() { _ = again.Shutdown(context.Background()) })
	nc, err := Reconnect(ctx, ReconnectOptions{Period: time.Millisecond}, p, cause, mqttc.New, co)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Disconnect(context.Background())
	if nc.Ack == nil || count(output.KindReconnecting) < 1 {
		t.Fatalf("ack %+v, events %d", nc.Ack, count(output.KindReconnecting))
	}
}

// TestReconnectInterrupted: Ctrl-C while waiting ends with the context's error.
func TestReconnectInterrupted(t *testing.T) {
	p, _ := events(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Reconnect(ctx, ReconnectOptions{Period: time.Hour}, p, nil, mqttc.New, options(t, "127.0.0.1:1"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// refuseAll is a broker Authorizer that lets nobody in.
type refuseAll struct{}

func (refuseAll) Authenticate(*auth.Login) bool    { return false }
func (refuseAll) MayPublish(_, _, _ string) bool   { return false }
func (refuseAll) MaySubscribe(_, _, _ string) bool { return false }
func (refuseAll) MayRead(_, _, _ string) bool      { return false }
