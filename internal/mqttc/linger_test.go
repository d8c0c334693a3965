package mqttc

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// lingerPeer plays a broker that is still writing when the client disconnects: after
// DISCONNECT it must read EOF (the client shut its write side; no reset), its further
// writes must be accepted (the client still reads), and only its own close ends the
// client's Close.
func lingerPeer(v Version) func(c net.Conn) error {
	return func(c net.Conn) error {
		if _, _, err := readRaw(c); err != nil { // CONNECT
			return err
		}
		connack := []byte{0x20, 2, 0, 0}
		if v == V5 {
			connack = []byte{0x20, 3, 0, 0, 0}
		}
		if _, err := c.Write(connack); err != nil {
			return err
		}
		typ, _, err := readRaw(c)
		if err != nil {
			return fmt.Errorf("reading DISCONNECT: %w", err)
		}
		if typ != 0xe0 {
			return fmt.Errorf("got packet type 0x%02x, want DISCONNECT", typ)
		}
		// QoS 0 PUBLISH packets the client no longer wants, 32 KiB in all.
		body := []byte{0, 1, 't'}
		if v == V5 {
			body = append(body, 0) // no properties
		}
		body = append(body, make([]byte, 1024)...)
		pub := append([]byte{0x30, byte(len(body)&0x7f | 0x80), byte(len(body) >> 7)}, body...)
		for range 32 {
			if _, err := c.Write(pub); err != nil {
				return fmt.Errorf("write after DISCONNECT: %w (the client did not keep reading)", err)
			}
		}
		var b [1]byte
		if n, err := c.Read(b[:]); n != 0 || !errors.Is(err, io.EOF) {
			return fmt.Errorf("after DISCONNECT read %d bytes, %v; want EOF (write side shut)", n, err)
		}
		return nil
	}
}

func TestCloseAfterDisconnectTCP(t *testing.T) {
	for _, v := range []Version{V5, V311} {
		t.Run(v.String(), func(t *testing.T) {
			addr := scriptedPeer(t, lingerPeer(v))
			o := baseOptions(t, addr, v)
			o.KeepAlive = 0 // no PINGREQ before the DISCONNECT
			c, _ := connect(t, o)
			if err := c.Disconnect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCloseAfterDisconnectTLS(t *testing.T) {
	pki := newPKI(t)
	cert, err := tls.LoadX509KeyPair(pki.CertFile, pki.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []Version{V5, V311} {
		t.Run(v.String(), func(t *testing.T) {
			script := lingerPeer(v)
			addr := scriptedPeer(t, func(c net.Conn) error {
				tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
				return script(tc)
			})
			o := baseOptions(t, addr, v)
			o.Scheme, o.TLS.CAFile = "mqtts", pki.CAFile
			o.KeepAlive = 0
			c, _ := connect(t, o)
			if err := c.Disconnect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCloseAfterDisconnectWS checks the WebSocket close handshake after DISCONNECT.
func TestCloseAfterDisconnectWS(t *testing.T) {
	for _, v := range []Version{V5, V311} {
		t.Run(v.String(), func(t *testing.T) {
			done := make(chan error, 1)
			up := websocket.Upgrader{Subprotocols: []string{"mqtt"}}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ws, err := up.Upgrade(w, r, nil)
				if err != nil {
					done <- err
					return
				}
				defer ws.Close()
				_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
				done <- wsPeer(ws, v)
			}))
			defer srv.Close()
			host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
			o := baseOptions(t, "127.0.0.1:1", v)
			o.Scheme, o.Host, o.KeepAlive = "ws", host, 0
			o.Port, _ = strconv.Atoi(port)
			c, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Connect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if err := c.Disconnect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("websocket peer did not finish")
			}
		})
	}
}

func wsPeer(ws *websocket.Conn, v Version) error {
	next := func() ([]byte, error) {
		_, p, err := ws.ReadMessage()
		return p, err
	}
	if _, err := next(); err != nil { // CONNECT
		return err
	}
	connack := []byte{0x20, 2, 0, 0}
	if v == V5 {
		connack = []byte{0x20, 3, 0, 0, 0}
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, connack); err != nil {
		return err
	}
	p, err := next()
	if err != nil {
		return fmt.Errorf("reading DISCONNECT: %w", err)
	}
	if len(p) == 0 || p[0] != 0xe0 {
		return fmt.Errorf("got % x, want DISCONNECT", p)
	}
	_, err = next()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure {
		return fmt.Errorf("after DISCONNECT: %v, want a normal close frame", err)
	}
	return nil
}
