// Package brokertest starts an mqttx broker on a loopback port for tests.
package brokertest

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
)

// Start starts a broker on 127.0.0.1 with an ephemeral port and returns its
// address ("127.0.0.1:port"). opts adjust the broker.Options. The broker is
// shut down in t.Cleanup.
func Start(t testing.TB, opts ...func(*broker.Options)) (addr string) {
	t.Helper()
	_, addr = StartServer(t, opts...)
	return addr
}

// StartServer is Start that also returns the server, for tests that need
// to shut it down themselves or serve more listeners.
func StartServer(t testing.TB, opts ...func(*broker.Options)) (*broker.Server, string) {
	t.Helper()
	var o broker.Options
	// The event loop's hand-overs are transparent: with this set, the same
	// tests check the goroutine-per-connection path plain TCP takes
	// elsewhere (and TLS and WebSocket take everywhere).
	o.NoEventLoop = os.Getenv("MQTTX_TEST_NO_EVENT_LOOP") == "1"
	for _, f := range opts {
		f(&o)
	}
	s := broker.New(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("brokertest: listen on 127.0.0.1:0: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("brokertest: shutdown: %v", err)
		}
		if err := <-done; err != nil && !errors.Is(err, broker.ErrServerClosed) {
			t.Errorf("brokertest: serve: %v", err)
		}
	})
	return s, ln.Addr().String()
}
