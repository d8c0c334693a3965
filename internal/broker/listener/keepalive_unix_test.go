//go:build unix

package listener_test

import (
	"net"
	"syscall"
	"testing"

	"github.com/mqttx/mqttx/internal/broker/listener"
)

func TestTCPNoKeepAlive(t *testing.T) {
	ln, err := listener.TCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := acceptOne(t, ln)
	rc, err := s.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var on int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		on, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
	}); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	if on != 0 {
		t.Fatalf("SO_KEEPALIVE = %d on an accepted connection, want 0 (MQTT keeps alive itself)", on)
	}
}
