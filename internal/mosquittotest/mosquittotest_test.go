package mosquittotest

import (
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// connect311 sends a raw MQTT 3.1.1 CONNECT and returns the CONNACK return code.
func connect311(t *testing.T, addr, user, pass string) byte {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	str := func(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }
	flags := byte(0x02) // clean session
	body := append(str("MQTT"), 4)
	payload := str("mosquittotest")
	if user != "" {
		flags |= 0xC0
		payload = append(payload, str(user)...)
		payload = append(payload, str(pass)...)
	}
	body = append(body, flags, 0, 10)
	body = append(body, payload...)
	pkt := append([]byte{0x10, byte(len(body))}, body...)
	if _, err := conn.Write(pkt); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(conn, ack); err != nil {
		t.Fatalf("read CONNACK: %v", err)
	}
	if ack[0] != 0x20 || ack[1] != 2 {
		t.Fatalf("not a CONNACK: % x", ack)
	}
	return ack[3]
}

func TestStartAnonymous(t *testing.T) {
	addr := Start(t)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("addr = %q, want 127.0.0.1:port", addr)
	}
	if rc := connect311(t, addr, "", ""); rc != 0 {
		t.Fatalf("CONNACK return code = %d, want 0", rc)
	}
}

func TestStartWithUser(t *testing.T) {
	addr := Start(t, WithUser("alice", "s3cret"), WithUser("bob", "pw"))
	if rc := connect311(t, addr, "alice", "s3cret"); rc != 0 {
		t.Fatalf("good credentials: return code = %d, want 0", rc)
	}
	if rc := connect311(t, addr, "bob", "pw"); rc != 0 {
		t.Fatalf("second user: return code = %d, want 0", rc)
	}
	if rc := connect311(t, addr, "alice", "wrong"); rc != 5 {
		t.Fatalf("bad password: return code = %d, want 5 (not authorized)", rc)
	}
	if rc := connect311(t, addr, "", ""); rc != 5 {
		t.Fatalf("anonymous: return code = %d, want 5 (not authorized)", rc)
	}
}

func TestStartWebSocketListener(t *testing.T) {
	b := StartBroker(t, WithWebSocket(), WithMaxKeepalive(30))
	if b.WSAddr == "" || b.WSAddr == b.Addr {
		t.Fatalf("WSAddr = %q (Addr %q)", b.WSAddr, b.Addr)
	}
	conn, err := net.DialTimeout("tcp", b.WSAddr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	req := "GET /mqtt HTTP/1.1\r\nHost: " + b.WSAddr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 12)
	if _, err := io.ReadFull(conn, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != "HTTP/1.1 101" {
		t.Fatalf("handshake answer starts %q, want HTTP/1.1 101", buf)
	}
}

func TestStopTwiceAndProcess(t *testing.T) {
	Binary(t)
	addr, stop, err := StartProcess(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if rc := connect311(t, addr, "", ""); rc != 0 {
		t.Fatalf("return code = %d", rc)
	}
	stop()
	stop()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("still listening on %s after stop", addr)
	}
}

// fakeTB records how Binary ends a test.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func runBinary(tb *fakeTB) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		Binary(tb)
	}()
	<-done
}

func TestBinaryMissing(t *testing.T) {
	t.Setenv("MOSQUITTO", "/nonexistent/mosquitto")
	t.Setenv("CI", "")
	f := &fakeTB{TB: t}
	runBinary(f)
	if f.skipped == "" || f.failed != "" || !strings.Contains(f.skipped, "/nonexistent/mosquitto") {
		t.Fatalf("outside CI: skipped %q failed %q, want a skip naming the path", f.skipped, f.failed)
	}
	t.Setenv("CI", "true")
	f = &fakeTB{TB: t}
	runBinary(f)
	if f.failed == "" || f.skipped != "" || !strings.Contains(f.failed, "CI=true") {
		t.Fatalf("in CI: skipped %q failed %q, want a failure", f.skipped, f.failed)
	}
	if _, _, err := StartProcess(t.TempDir()); err == nil {
		t.Fatal("StartProcess succeeded without a binary")
	}
}
