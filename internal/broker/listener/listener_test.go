package listener_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/mqttx/mqttx/internal/broker/listener"
	"github.com/mqttx/mqttx/internal/broker/listener/listenertest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// connect311 and pingreq are real MQTT packets; the listener does not parse them, but the
// tests split and join them the way clients and proxies do.
var (
	connect311 = []byte{0x10, 0x0f, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x03, 'a', 'b', 'c'}
	pingreq    = []byte{0xc0, 0x00}
)

// acceptOne returns the next connection of ln or fails the test after 5s.
func acceptOne(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("accept: %v", r.err)
		}
		t.Cleanup(func() { r.c.Close() })
		return r.c
	case <-time.After(5 * time.Second):
		t.Fatal("accept: no connection within 5s")
		return nil
	}
}

func readFull(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return buf
}

func TestTCPRoundTrip(t *testing.T) {
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
	if _, err := c.Write(connect311); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, s, len(connect311)); !bytes.Equal(got, connect311) {
		t.Fatalf("got % x, want % x", got, connect311)
	}
}

func TestTCPAddrInUse(t *testing.T) {
	ln, err := listener.TCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = listener.TCP(ln.Addr().String())
	if err == nil {
		t.Fatal("second listen on the same address succeeded")
	}
	if !listener.IsAddrInUse(err) {
		t.Fatalf("IsAddrInUse(%v) = false", err)
	}
	if listener.IsAddrInUse(errors.New("other")) {
		t.Fatal("IsAddrInUse(other) = true")
	}
}

// startWS starts a WebSocket listener on a free port and closes it when the test ends.
func startWS(t *testing.T, o listener.WSOptions) *listener.WSListener {
	t.Helper()
	ln, err := listener.WebSocket("127.0.0.1:0", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func wsURL(ln *listener.WSListener, scheme string) string {
	return scheme + "://" + ln.Addr().String() + ln.Path()
}

// dialWS dials like an MQTT client: subprotocol "mqtt", no Origin.
func dialWS(t *testing.T, url string, h http.Header, protos ...string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	if protos == nil {
		protos = []string{"mqtt"}
	}
	d := websocket.Dialer{Subprotocols: protos, HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial(url, h)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, resp, err
}

func TestWebSocketFraming(t *testing.T) {
	two := append(append([]byte{}, connect311...), pingreq...)
	tests := []struct {
		name     string
		messages [][]byte // what the client sends, one binary message each
		reads    []int    // read sizes on the server side, io.ReadFull each
	}{
		{"one packet one message", [][]byte{connect311}, []int{len(connect311)}},
		{"packet split across three messages", [][]byte{connect311[:1], connect311[1:5], connect311[5:]}, []int{len(connect311)}},
		{"two packets in one message", [][]byte{two}, []int{len(connect311), len(pingreq)}},
		{"read spans message boundaries", [][]byte{connect311[:3], append(append([]byte{}, connect311[3:]...), pingreq[:1]...), pingreq[1:]}, []int{len(two)}},
		{"empty message between", [][]byte{connect311[:4], {}, connect311[4:]}, []int{len(connect311)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln := startWS(t, listener.WSOptions{})
			c, _, err := dialWS(t, wsURL(ln, "ws"), nil)
			if err != nil {
				t.Fatal(err)
			}
			s := acceptOne(t, ln)
			var want []byte
			for _, m := range tt.messages {
				want = append(want, m...)
				if err := c.WriteMessage(websocket.BinaryMessage, m); err != nil {
					t.Fatal(err)
				}
			}
			var got []byte
			for _, n := range tt.reads {
				got = append(got, readFull(t, s, n)...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("server read % x, want % x", got, want)
			}
		})
	}
}

func TestWebSocketWriteIsOneMessage(t *testing.T) {
	ln := startWS(t, listener.WSOptions{})
	c, _, err := dialWS(t, wsURL(ln, "ws"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := acceptOne(t, ln)
	connack := []byte{0x20, 0x02, 0x00, 0x00}
	for _, p := range [][]byte{connack, pingreq} {
		if n, err := s.Write(p); err != nil || n != len(p) {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i, want := range [][]byte{connack, {0xc0, 0x00}} {
		typ, got, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if typ != websocket.BinaryMessage || !bytes.Equal(got, want) {
			t.Fatalf("message %d: type %d % x, want binary % x", i, typ, got, want)
		}
	}
}

func TestWebSocketTextMessageIsAnError(t *testing.T) {
	ln := startWS(t, listener.WSOptions{})
	c, _, err := dialWS(t, wsURL(ln, "ws"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := acceptOne(t, ln)
	if err := c.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := s.Read(make([]byte, 16)); err == nil || !strings.Contains(err.Error(), "binary") {
		t.Fatalf("read after a text message: err = %v, want one naming binary messages", err)
	}
}

func TestWebSocketCloseFrameIsEOF(t *testing.T) {
	ln := startWS(t, listener.WSOptions{})
	c, _, err := dialWS(t, wsURL(ln, "ws"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := acceptOne(t, ln)
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := s.Read(make([]byte, 16)); err != io.EOF {
		t.Fatalf("read after close frame: err = %v, want io.EOF", err)
	}
	if s.RemoteAddr().String() != c.LocalAddr().String() {
		t.Fatalf("RemoteAddr = %s, want the client's %s", s.RemoteAddr(), c.LocalAddr())
	}
}

func TestWebSocketOrigin(t *testing.T) {
	ln := startWS(t, listener.WSOptions{AllowedOrigins: []string{"https://app.example.com/", "dash.example.org:8443"}})
	host := ln.Addr().String()
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://" + host, true},
		{"https://" + strings.ToUpper("localhost") + ":1", false},
		{"https://app.example.com", true},
		{"http://app.example.com", false}, // scheme differs from the allowed origin
		{"http://dash.example.org:8443", true},
		{"https://evil.example.com", false},
		{"null", false},
	}
	for _, tt := range tests {
		t.Run("origin="+tt.origin, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			c, resp, err := dialWS(t, wsURL(ln, "ws"), h)
			if tt.ok {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				acceptOne(t, ln)
				return
			}
			if c != nil || resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("dial with Origin %q: err=%v resp=%v, want 403", tt.origin, err, resp)
			}
		})
	}

	t.Run("wildcard", func(t *testing.T) {
		ln := startWS(t, listener.WSOptions{AllowedOrigins: []string{"*"}})
		if _, _, err := dialWS(t, wsURL(ln, "ws"), http.Header{"Origin": {"https://anything.test"}}); err != nil {
			t.Fatalf("dial: %v", err)
		}
		acceptOne(t, ln)
	})
}

func TestWebSocketSubprotocol(t *testing.T) {
	ln := startWS(t, listener.WSOptions{})
	tests := []struct {
		name   string
		offer  []string
		status int    // 101 when the upgrade succeeds
		chosen string // negotiated subprotocol
	}{
		{"mqtt", []string{"mqtt"}, http.StatusSwitchingProtocols, "mqtt"},
		{"mqttv3.1", []string{"mqttv3.1"}, http.StatusSwitchingProtocols, "mqttv3.1"},
		{"mqtt preferred", []string{"mqttv3.1", "mqtt"}, http.StatusSwitchingProtocols, "mqtt"},
		{"none offered", []string{}, http.StatusSwitchingProtocols, ""},
		{"only others", []string{"chat", "wamp"}, http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, resp, err := dialWS(t, wsURL(ln, "ws"), nil, tt.offer...)
			if resp == nil {
				t.Fatalf("dial: no HTTP response: %v", err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (err %v)", resp.StatusCode, tt.status, err)
			}
			if tt.status != http.StatusSwitchingProtocols {
				return
			}
			if c.Subprotocol() != tt.chosen {
				t.Fatalf("subprotocol %q, want %q", c.Subprotocol(), tt.chosen)
			}
			acceptOne(t, ln)
		})
	}
}

func TestWebSocketPath(t *testing.T) {
	ln := startWS(t, listener.WSOptions{Path: "ws"})
	if ln.Path() != "/ws" {
		t.Fatalf("Path() = %q, want /ws", ln.Path())
	}
	_, resp, err := dialWS(t, "ws://"+ln.Addr().String()+"/mqtt", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("dial /mqtt on a /ws listener: err=%v resp=%v, want 404", err, resp)
	}
	if _, _, err := dialWS(t, wsURL(ln, "ws"), nil); err != nil {
		t.Fatalf("dial /ws: %v", err)
	}
	acceptOne(t, ln)
}

func TestWebSocketCloseStopsServer(t *testing.T) {
	ln, err := listener.WebSocket("127.0.0.1:0", listener.WSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url := wsURL(ln, "ws")
	accepted := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		accepted <- err
	}()
	if err := ln.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-accepted:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept did not return after Close")
	}
	if _, _, err := dialWS(t, url, nil); err == nil {
		t.Fatal("dial after Close succeeded")
	}
	if err := ln.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// serverHandshake accepts one TLS connection in the background and runs the server side
// of its handshake, so that a client's tls.Dial can complete. The handshake error, if any,
// is delivered with the connection.
func serverHandshake(t *testing.T, ln net.Listener) <-chan tlsAccept {
	t.Helper()
	ch := make(chan tlsAccept, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- tlsAccept{err: err}
			return
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		herr := c.(*tls.Conn).Handshake()
		c.SetDeadline(time.Time{})
		ch <- tlsAccept{c: c, err: herr}
	}()
	return ch
}

type tlsAccept struct {
	c   net.Conn
	err error
}

func waitAccept(t *testing.T, ch <-chan tlsAccept) tlsAccept {
	t.Helper()
	select {
	case a := <-ch:
		if a.c != nil {
			t.Cleanup(func() { a.c.Close() })
		}
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no TLS connection accepted within 10s")
		return tlsAccept{}
	}
}

func dialTLS(addr string, cfg *tls.Config) (*tls.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
}

func TestTLS(t *testing.T) {
	pki := listenertest.New(t)
	ln, err := listener.TLS("127.0.0.1:0", pki.ServerCert, pki.ServerKey, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := serverHandshake(t, ln)
	c, err := dialTLS(ln.Addr().String(), pki.ClientTLS(false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a := waitAccept(t, acc)
	if a.err != nil {
		t.Fatalf("server handshake: %v", a.err)
	}
	if _, err := c.Write(connect311); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, a.c, len(connect311)); !bytes.Equal(got, connect311) {
		t.Fatalf("got % x", got)
	}

	// A client that does not trust the CA fails the handshake.
	acc = serverHandshake(t, ln)
	bad, err := dialTLS(ln.Addr().String(), &tls.Config{ServerName: "localhost"})
	if err == nil {
		bad.Close()
		t.Fatal("handshake without the CA succeeded")
	}
	waitAccept(t, acc)
}

func TestTLSClientCertRequired(t *testing.T) {
	pki := listenertest.New(t)
	ln, err := listener.TLS("127.0.0.1:0", pki.ServerCert, pki.ServerKey, pki.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	t.Run("with client certificate", func(t *testing.T) {
		acc := serverHandshake(t, ln)
		c, err := dialTLS(ln.Addr().String(), pki.ClientTLS(true))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		a := waitAccept(t, acc)
		if a.err != nil {
			t.Fatalf("server handshake: %v", a.err)
		}
		if _, err := c.Write(pingreq); err != nil {
			t.Fatal(err)
		}
		if got := readFull(t, a.c, len(pingreq)); !bytes.Equal(got, pingreq) {
			t.Fatalf("got % x", got)
		}
		st := a.c.(*tls.Conn).ConnectionState()
		if len(st.PeerCertificates) == 0 || st.PeerCertificates[0].Subject.CommonName != "client" {
			t.Fatalf("server saw peer certificates %v", st.PeerCertificates)
		}
	})

	t.Run("without client certificate", func(t *testing.T) {
		acc := serverHandshake(t, ln)
		c, err := dialTLS(ln.Addr().String(), pki.ClientTLS(false))
		a := waitAccept(t, acc)
		if a.err == nil || !strings.Contains(a.err.Error(), "certificate") {
			t.Fatalf("server handshake: %v, want a certificate error", a.err)
		}
		if err == nil {
			// TLS 1.3 reports the server's rejection on the client's first read.
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(make([]byte, 1)); err == nil {
				t.Fatal("client without a certificate could read")
			}
		}
	})
}

func TestTLSConfigErrors(t *testing.T) {
	pki := listenertest.New(t)
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not pem\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name            string
		cert, key, ca   string
		wantErrContains []string
	}{
		{"missing cert", missing, pki.ServerKey, "", []string{"certificate file", missing, "no such file"}},
		{"missing key", pki.ServerCert, missing, "", []string{"key file", missing}},
		{"junk cert", junk, pki.ServerKey, "", []string{"certificate file", junk, "no PEM CERTIFICATE"}},
		{"junk key", pki.ServerCert, junk, "", []string{"key file", junk, "PRIVATE KEY"}},
		{"key is a certificate", pki.ServerCert, pki.CAFile, "", []string{"key file", pki.CAFile}},
		{"mismatched key", pki.ServerCert, pki.ClientKey, "", []string{pki.ServerCert, pki.ClientKey}},
		{"missing ca", pki.ServerCert, pki.ServerKey, missing, []string{"client CA file", missing}},
		{"junk ca", pki.ServerCert, pki.ServerKey, junk, []string{"client CA file", junk, "no PEM certificates"}},
		{"no key", pki.ServerCert, "", "", []string{"key file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := listener.TLSConfig(tt.cert, tt.key, tt.ca)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range tt.wantErrContains {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
	if _, err := listener.TLSConfig(pki.ServerCert, pki.ServerKey, pki.CAFile); err != nil {
		t.Fatalf("good files: %v", err)
	}
}

func TestWSS(t *testing.T) {
	pki := listenertest.New(t)
	ln, err := listener.WSS("127.0.0.1:0", pki.ServerCert, pki.ServerKey, pki.CAFile, listener.WSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })

	d := websocket.Dialer{Subprotocols: []string{"mqtt"}, HandshakeTimeout: 5 * time.Second, TLSClientConfig: pki.ClientTLS(true)}
	c, resp, err := d.Dial(wsURL(ln, "wss"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	defer c.Close()
	s := acceptOne(t, ln)
	if err := c.WriteMessage(websocket.BinaryMessage, connect311[:7]); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(websocket.BinaryMessage, connect311[7:]); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, s, len(connect311)); !bytes.Equal(got, connect311) {
		t.Fatalf("got % x", got)
	}

	// Without a client certificate the handshake fails before any HTTP.
	d.TLSClientConfig = pki.ClientTLS(false)
	if c2, resp, err := d.Dial(wsURL(ln, "wss"), nil); err == nil {
		resp.Body.Close()
		c2.Close()
		t.Fatal("wss without a client certificate succeeded")
	}
}

// TestWebSocketHost refuses requests whose Host is not the listener's
// address, localhost, or an allowed name, even with a matching Origin: a
// web page on a name rebound to 127.0.0.1 (DNS rebinding) must not reach a
// loopback broker.
func TestWebSocketHost(t *testing.T) {
	ln := startWS(t, listener.WSOptions{AllowedHosts: []string{"mqtt.example.com"}})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	tests := []struct {
		host string
		ok   bool
	}{
		{ln.Addr().String(), true},
		{"localhost:" + port, true},
		{"LocalHost", true},
		{"mqtt.example.com:" + port, true},
		{"evil.example:" + port, false},
		{"127.0.0.1.evil.example:" + port, false},
		{"10.1.2.3:" + port, false},
	}
	for _, tt := range tests {
		t.Run("host="+tt.host, func(t *testing.T) {
			// The Origin matches the Host, as in a rebinding attack.
			h := http.Header{"Host": {tt.host}, "Origin": {"http://" + tt.host}}
			c, resp, err := dialWS(t, wsURL(ln, "ws"), h)
			if tt.ok {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				acceptOne(t, ln)
				return
			}
			if c != nil || resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("dial with Host %q: err=%v resp=%v, want 403", tt.host, err, resp)
			}
		})
	}
	t.Run("any", func(t *testing.T) {
		ln := startWS(t, listener.WSOptions{AllowedHosts: []string{"*"}})
		if _, _, err := dialWS(t, wsURL(ln, "ws"), http.Header{"Host": {"anything.test"}}); err != nil {
			t.Fatalf("dial: %v", err)
		}
		acceptOne(t, ln)
	})
}

// TestTLS12NoCBC checks that TLS 1.2 offers only AEAD suites with forward
// secrecy: a client that offers nothing but CBC suites fails the handshake,
// one that offers GCM succeeds.
func TestTLS12NoCBC(t *testing.T) {
	pki := listenertest.New(t)
	ln, err := listener.TLS("127.0.0.1:0", pki.ServerCert, pki.ServerKey, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tc := range []struct {
		suite uint16
		ok    bool
	}{
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, false},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, false},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, false},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true},
		{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, true},
	} {
		t.Run(tls.CipherSuiteName(tc.suite), func(t *testing.T) {
			acc := serverHandshake(t, ln)
			cfg := pki.ClientTLS(false)
			cfg.MaxVersion = tls.VersionTLS12
			cfg.CipherSuites = []uint16{tc.suite}
			c, err := dialTLS(ln.Addr().String(), cfg)
			if c != nil {
				defer c.Close()
			}
			a := waitAccept(t, acc)
			if a.c != nil {
				defer a.c.Close()
			}
			if tc.ok && err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("handshake with a CBC suite succeeded")
			}
		})
	}
}
