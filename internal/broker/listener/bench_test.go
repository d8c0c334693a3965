package listener_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/mqttx/mqttx/internal/broker/listener"
)

// BenchmarkServerRead measures what the broker side pays to read 256-byte packets sent
// one per message (WebSocket) or one per write (TCP): the WebSocket wrapper's cost
// against the bare socket's.
func BenchmarkServerRead(b *testing.B) {
	pkt := make([]byte, 256)
	b.Run("tcp", func(b *testing.B) {
		ln, err := listener.TCP("127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		benchRead(b, s, func() error { _, err := c.Write(pkt); return err }, len(pkt))
	})
	b.Run("ws", func(b *testing.B) {
		ln, err := listener.WebSocket("127.0.0.1:0", listener.WSOptions{})
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		d := websocket.Dialer{Subprotocols: []string{"mqtt"}, HandshakeTimeout: 5 * time.Second}
		c, resp, err := d.Dial("ws://"+ln.Addr().String()+ln.Path(), nil)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		benchRead(b, s, func() error { return c.WriteMessage(websocket.BinaryMessage, pkt) }, len(pkt))
	})
}

func benchRead(b *testing.B, s net.Conn, send func() error, size int) {
	b.SetBytes(int64(size))
	b.ReportAllocs()
	errc := make(chan error, 1)
	go func() {
		for i := 0; i < b.N; i++ {
			if err := send(); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	buf := make([]byte, size)
	for i := 0; i < b.N; i++ {
		if _, err := io.ReadFull(s, buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}
