package mqttc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Dial opens the transport for o (mqtt, mqtts, ws or wss) and returns it as a net.Conn
// carrying raw MQTT bytes. It applies ctx to the TCP dial and to the TLS and WebSocket
// handshakes. Both client adapters and the load engine use it.
func Dial(ctx context.Context, o *Options) (net.Conn, error) {
	scheme := o.Scheme
	if scheme == "" {
		scheme = "mqtt"
	}
	port := o.Port
	if port == 0 {
		port = DefaultPort(scheme)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(o.Host, "["), "]")
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	var nd net.Dialer
	switch scheme {
	case "mqtt", "tcp":
		c, err := nd.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("connect %s: %w", addr, unwrapOp(err))
		}
		return &streamConn{Conn: c}, nil
	case "mqtts", "ssl", "tls":
		cfg, err := TLSConfig(&o.TLS, host)
		if err != nil {
			return nil, err
		}
		c, err := nd.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("connect %s: %w", addr, unwrapOp(err))
		}
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", addr, tlsErr(err))
		}
		return &streamConn{Conn: tc, tcp: c}, nil
	case "ws", "wss":
		return dialWS(ctx, o, scheme, host, addr)
	}
	return nil, fmt.Errorf("invalid protocol %q: must be mqtt, mqtts, ws or wss", o.Scheme)
}

// closeLinger bounds how long Close waits, after DISCONNECT, for the broker to close
// its side. A broker that closes at once answers within a millisecond on loopback.
// wsCloseLinger is shorter: mosquitto 2.0's WebSocket listener sometimes takes more
// than 200 ms to answer, which would add to every such exit.
const (
	closeLinger   = 200 * time.Millisecond
	wsCloseLinger = 50 * time.Millisecond
)

// lingerCloser is implemented by the connections Dial returns.
type lingerCloser interface {
	// closeAfterDisconnect makes the next Close graceful: DISCONNECT is written (or
	// about to be), so Close lets the broker read it and close first, within
	// closeLinger, instead of resetting a connection the broker may be writing to.
	closeAfterDisconnect()
}

// lingerOnClose makes conn's next Close graceful, if Dial made conn.
func lingerOnClose(conn net.Conn) {
	if lc, ok := conn.(lingerCloser); ok {
		lc.closeAfterDisconnect()
	}
}

// streamConn is a TCP or TLS connection from Dial. Closed after DISCONNECT it shuts
// its write side first and reads until the broker closes (or closeLinger passes):
// closing with unread data in the socket would send a reset, and a broker seeing it
// while still writing to us may drop the connection before reading our last PUBACK and
// DISCONNECT.
type streamConn struct {
	net.Conn
	tcp     net.Conn // the TCP connection under TLS; nil for plain TCP
	linger  atomic.Bool
	lingerd sync.Once
}

func (c *streamConn) closeAfterDisconnect() { c.linger.Store(true) }

func (c *streamConn) Close() error {
	if c.linger.Load() {
		c.lingerd.Do(c.drain)
	}
	return c.Conn.Close()
}

func (c *streamConn) drain() {
	type closeWriter interface{ CloseWrite() error }
	cw, ok := c.Conn.(closeWriter)
	if !ok || cw.CloseWrite() != nil {
		return
	}
	if c.tcp != nil {
		// tls.Conn.CloseWrite sends close_notify but leaves the socket open for writing.
		if tw, ok := c.tcp.(closeWriter); ok {
			_ = tw.CloseWrite()
		}
	}
	if c.Conn.SetReadDeadline(time.Now().Add(closeLinger)) != nil {
		return
	}
	// The client's own reader may be reading too; whichever gets the broker's close
	// (or the deadline) first, both return, and what arrives is not wanted any more.
	var buf [512]byte
	for {
		if _, err := c.Conn.Read(buf[:]); err != nil {
			return
		}
	}
}

// unwrapOp drops net.OpError's repetition of the address ("dial tcp 1.2.3.4:1: connect:
// connection refused" becomes "connection refused") while keeping the error chain.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		var dns *net.DNSError
		if errors.As(op.Err, &dns) {
			return op.Err
		}
		return &wrapped{msg: strings.TrimPrefix(op.Err.Error(), "connect: "), err: err}
	}
	return err
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

func tlsErr(err error) error {
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return &wrapped{msg: err.Error() + " (this port does not speak TLS: check --protocol and --port)", err: err}
	}
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		return &wrapped{msg: err.Error() + " (give the CA with --ca, or --insecure to skip verification)", err: err}
	}
	var he x509.HostnameError
	if errors.As(err, &he) {
		return &wrapped{msg: err.Error() + " (set --servername to a name in the certificate)", err: err}
	}
	return err
}

// TLSConfig builds the client TLS configuration from t. host is the server name used
// for SNI and verification when t.ServerName is empty.
func TLSConfig(t *TLSOptions, host string) (*tls.Config, error) {
	cfg := &tls.Config{
		ServerName:         host,
		InsecureSkipVerify: t.Insecure, //nolint:gosec // the user asked for it
		NextProtos:         t.ALPN,
		MinVersion:         tls.VersionTLS12,
	}
	if t.ServerName != "" {
		cfg.ServerName = t.ServerName
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificates found: give a PEM-encoded CA certificate", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case t.CertFile != "" && t.KeyFile != "":
		certPEM, err := os.ReadFile(t.CertFile)
		if err != nil {
			return nil, fmt.Errorf("read client certificate file: %w", err)
		}
		keyPEM, err := os.ReadFile(t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("read client key file: %w", err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s and key %s: %v", t.CertFile, t.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case t.CertFile != "":
		return nil, fmt.Errorf("client certificate %s given without a key: give the key file too", t.CertFile)
	case t.KeyFile != "":
		return nil, fmt.Errorf("client key %s given without a certificate: give the certificate file too", t.KeyFile)
	}
	return cfg, nil
}

func dialWS(ctx context.Context, o *Options, scheme, host, addr string) (net.Conn, error) {
	path := o.WSPath
	if path == "" {
		path = "/mqtt"
	}
	u := url.URL{Scheme: scheme, Host: addr, Path: path}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		u.Path, u.RawQuery = path[:i], path[i+1:]
	}
	d := websocket.Dialer{
		NetDialContext: (&net.Dialer{}).DialContext,
		Subprotocols:   []string{"mqtt"},
		Proxy:          nil, // loopback tests and brokers are dialed directly
	}
	if scheme == "wss" {
		cfg, err := TLSConfig(&o.TLS, host)
		if err != nil {
			return nil, err
		}
		d.TLSClientConfig = cfg
	}
	if dl, ok := ctx.Deadline(); ok {
		d.HandshakeTimeout = time.Until(dl)
	}
	ws, resp, err := d.DialContext(ctx, u.String(), o.WSHeaders)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if errors.Is(err, websocket.ErrBadHandshake) && resp != nil {
			return nil, fmt.Errorf("websocket handshake with %s: server answered %s (check --ws-path)", u.String(), resp.Status)
		}
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("connect %s: connection closed during the WebSocket handshake (is this a WebSocket listener? check --protocol, --port and --ws-path)", u.String())
		}
		return nil, fmt.Errorf("connect %s: %w", u.String(), tlsErr(unwrapOp(err)))
	}
	return &wsConn{ws: ws, readEnd: make(chan struct{})}, nil
}

// wsConn carries MQTT bytes in binary WebSocket messages. Reads may span messages and
// messages may hold several packets, as MQTT over WebSocket allows.
type wsConn struct {
	ws  *websocket.Conn
	rmu sync.Mutex
	r   io.Reader
	wmu sync.Mutex
	out []byte // bytes of an MQTT packet not yet complete

	linger  atomic.Bool   // Close after DISCONNECT: close handshake first
	lingerd sync.Once     // the close handshake is tried once
	readEnd chan struct{} // closed when reading ends (the broker's close frame, EOF or error)
	endOnce sync.Once
}

func (c *wsConn) closeAfterDisconnect() { c.linger.Store(true) }

func (c *wsConn) readEnded() { c.endOnce.Do(func() { close(c.readEnd) }) }

func (c *wsConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.r == nil {
			_, r, err := c.ws.NextReader()
			if err != nil {
				c.readEnded()
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					return 0, io.EOF
				}
				return 0, err
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if err == io.EOF {
			c.r = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

// Write sends whole MQTT packets, one WebSocket message per write of complete packets.
// Both paho clients write a packet's header and payload separately; as separate
// messages they cost a broker wake-up each (about 100 ms apiece on mosquitto 2.0).
func (c *wsConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.out = append(c.out, p...)
	n := completePackets(c.out)
	if n == 0 {
		return len(p), nil
	}
	if err := c.ws.WriteMessage(websocket.BinaryMessage, c.out[:n]); err != nil {
		c.out = c.out[:0]
		return 0, err
	}
	rest := copy(c.out, c.out[n:])
	c.out = c.out[:rest]
	if cap(c.out) > 64<<10 && rest == 0 {
		c.out = nil // do not keep a large payload's buffer alive
	}
	return len(p), nil
}

// completePackets returns the length of the complete MQTT packets at the start of b.
// Bytes that cannot be a packet header are reported as complete, so they are sent
// rather than held.
func completePackets(b []byte) int {
	off := 0
	for off < len(b) {
		i, length, mult := off+1, 0, 1
		for {
			if i >= len(b) {
				return off // header incomplete
			}
			d := b[i]
			length += int(d&0x7f) * mult
			i++
			if d&0x80 == 0 {
				break
			}
			mult *= 128
			if mult > 128*128*128 {
				return len(b) // malformed length: flush as is
			}
		}
		if i+length > len(b) {
			return off
		}
		off = i + length
	}
	return off
}

// Close closes the socket. After DISCONNECT it first sends a close frame and waits,
// within wsCloseLinger, for the broker's answer: gorilla reports a close frame inside
// NextReader, so the client's reader sees it if one is reading, else Close reads.
// Otherwise, as Kill needs, there is no close handshake.
func (c *wsConn) Close() error {
	if c.linger.Load() {
		c.lingerd.Do(func() {
			deadline := time.Now().Add(wsCloseLinger)
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			if c.ws.WriteControl(websocket.CloseMessage, msg, deadline) != nil {
				return
			}
			if c.ws.SetReadDeadline(deadline) != nil {
				return
			}
			// Nothing more to write: say so at the TCP (or TLS) level too.
			if cw, ok := c.ws.NetConn().(interface{ CloseWrite() error }); ok {
				_ = cw.CloseWrite()
			}
			if c.rmu.TryLock() {
				// Nobody is reading (the client's reader has stopped): read the
				// answer here, until the close frame, EOF or the deadline.
				defer c.rmu.Unlock()
				for {
					if _, _, err := c.ws.NextReader(); err != nil {
						return
					}
				}
			}
			t := time.NewTimer(time.Until(deadline))
			defer t.Stop()
			select {
			case <-c.readEnd:
			case <-t.C:
			}
		})
	}
	return c.ws.NetConn().Close()
}

func (c *wsConn) LocalAddr() net.Addr                { return c.ws.LocalAddr() }
func (c *wsConn) RemoteAddr() net.Addr               { return c.ws.RemoteAddr() }
func (c *wsConn) SetReadDeadline(t time.Time) error  { return c.ws.SetReadDeadline(t) }
func (c *wsConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }
func (c *wsConn) SetDeadline(t time.Time) error {
	if err := c.ws.SetReadDeadline(t); err != nil {
		return err
	}
	return c.ws.SetWriteDeadline(t)
}

// resetHint explains a connection reset before CONNACK, the usual sign of a protocol
// mismatch (plain MQTT to a TLS or WebSocket port).
func resetHint(addr string, err error) error {
	if errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("connect %s: connection reset by broker before CONNACK (check that --protocol matches the port: mqtt, mqtts, ws or wss)", addr)
	}
	return nil
}
