package listener

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// DefaultWSPath is the HTTP path of the WebSocket endpoint when WSOptions.Path is empty.
const DefaultWSPath = "/mqtt"

// Subprotocols are the WebSocket subprotocols accepted, in order of preference: "mqtt"
// (MQTT 3.1.1 and 5) and "mqttv3.1" (MQTT 3.1).
var Subprotocols = []string{"mqtt", "mqttv3.1"}

// WSOptions configures a WebSocket listener.
type WSOptions struct {
	// Path is the HTTP path that upgrades to MQTT; default DefaultWSPath.
	Path string
	// AllowedOrigins lists extra Origin values accepted besides requests without an
	// Origin header and same-host requests. An entry is a full origin
	// ("https://app.example.com"), a host[:port] ("app.example.com:8080") or "*" for any.
	AllowedOrigins []string
	// AllowedHosts lists the names accepted in the Host header besides the
	// listener's address and localhost; "*" accepts any. Checking Host stops
	// a web page on a name rebound to this machine's address (DNS
	// rebinding) from reaching the broker, as it then sends its own Origin.
	AllowedHosts []string
	// TLS, when set, makes this a secure WebSocket (wss) listener.
	TLS *tls.Config
	// HandshakeTimeout bounds reading the HTTP upgrade request; default 10s.
	HandshakeTimeout time.Duration
}

// WSListener serves MQTT over WebSocket: an HTTP server on its address upgrades requests
// on the configured path and hands each connection out through Accept as a net.Conn.
type WSListener struct {
	ln       net.Listener // the TCP (or TLS) listener under the HTTP server
	srv      *http.Server
	upgrader websocket.Upgrader
	path     string
	origins  []string
	hosts    []string

	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	serveErr  chan error
}

// WebSocket listens on addr and serves MQTT over WebSocket (wss when o.TLS is set).
func WebSocket(addr string, o WSOptions) (*WSListener, error) {
	ln, err := TCP(addr)
	if err != nil {
		return nil, err
	}
	if o.TLS != nil {
		ln = tls.NewListener(ln, o.TLS)
	}
	return newWS(ln, o), nil
}

// WSS listens on addr and serves MQTT over secure WebSocket with the certificate and key
// in certFile and keyFile, requiring client certificates signed by clientCAFile when that
// is not empty. o.TLS is ignored.
func WSS(addr, certFile, keyFile, clientCAFile string, o WSOptions) (*WSListener, error) {
	cfg, err := TLSConfig(certFile, keyFile, clientCAFile)
	if err != nil {
		return nil, err
	}
	o.TLS = cfg
	return WebSocket(addr, o)
}

func newWS(ln net.Listener, o WSOptions) *WSListener {
	path := o.Path
	if path == "" {
		path = DefaultWSPath
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	ht := o.HandshakeTimeout
	if ht == 0 {
		ht = 10 * time.Second
	}
	l := &WSListener{
		ln:       ln,
		path:     path,
		origins:  o.AllowedOrigins,
		hosts:    o.AllowedHosts,
		conns:    make(chan net.Conn),
		done:     make(chan struct{}),
		serveErr: make(chan error, 1),
	}
	l.upgrader = websocket.Upgrader{
		HandshakeTimeout: ht,
		Subprotocols:     Subprotocols,
		CheckOrigin:      l.checkOrigin,
	}
	mux := http.NewServeMux()
	mux.HandleFunc(path, l.handle)
	l.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: ht,
		// Handshake noise (scanners, TLS probes) is not the broker's to print.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { l.serveErr <- l.srv.Serve(ln) }()
	return l
}

// Path returns the HTTP path of the endpoint.
func (l *WSListener) Path() string { return l.path }

// Addr returns the address the HTTP server listens on.
func (l *WSListener) Addr() net.Addr { return l.ln.Addr() }

// Accept waits for and returns the next upgraded connection. After Close it returns an
// error wrapping net.ErrClosed.
func (l *WSListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: "ws", Addr: l.ln.Addr(), Err: net.ErrClosed}
	}
}

// Close stops the HTTP server and makes Accept return. Connections already accepted
// belong to their caller and stay open.
func (l *WSListener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.srv.Close()
		if serr := <-l.serveErr; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
	})
	return err
}

func (l *WSListener) handle(w http.ResponseWriter, r *http.Request) {
	if !l.checkHost(r.Host) {
		http.Error(w, "forbidden host "+strconv.Quote(r.Host)+": not this listener's address, localhost or an allowed host", http.StatusForbidden)
		return
	}
	if offered := websocket.Subprotocols(r); len(offered) > 0 && !offersAny(offered, Subprotocols) {
		http.Error(w, "unsupported websocket subprotocol: offer \"mqtt\"", http.StatusBadRequest)
		return
	}
	ws, err := l.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has written the HTTP error response
	}
	c := &wsConn{ws: ws}
	select {
	case l.conns <- c:
	case <-l.done:
		_ = c.Close()
	}
}

func offersAny(offered, supported []string) bool {
	for _, o := range offered {
		for _, s := range supported {
			if o == s {
				return true
			}
		}
	}
	return false
}

// checkHost accepts a Host header naming the listener's address (any IP
// address when it listens on all of them), localhost, or an allowed host.
func (l *WSListener) checkHost(host string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.TrimSuffix(strings.Trim(name, "[]"), ".")
	if strings.EqualFold(name, "localhost") {
		return true
	}
	if ip := net.ParseIP(name); ip != nil {
		if ta, ok := l.ln.Addr().(*net.TCPAddr); ok {
			return ta.IP.IsUnspecified() || ta.IP.Equal(ip)
		}
		return false
	}
	for _, a := range l.hosts {
		if a == "*" || strings.EqualFold(a, name) || strings.EqualFold(a, host) {
			return true
		}
	}
	return false
}

// checkOrigin accepts requests without an Origin header (non-browser clients), requests
// whose Origin host equals the Host they were sent to, and the allow-list.
func (l *WSListener) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, a := range l.origins {
		a = strings.TrimSuffix(a, "/")
		if a == "*" || strings.EqualFold(a, origin) || strings.EqualFold(a, u.Host) {
			return true
		}
	}
	return false
}

// wsConn is one upgraded WebSocket connection seen as a byte stream: reads run across
// message boundaries, and each Write sends one binary message.
type wsConn struct {
	ws *websocket.Conn

	rmu sync.Mutex
	r   io.Reader // the current message, nil between messages

	wmu sync.Mutex

	closeOnce sync.Once
	closeErr  error
}

// ConnectionState returns the TLS state of a secure WebSocket connection (the
// zero value on plain WebSocket), so the broker sees client certificates.
func (c *wsConn) ConnectionState() tls.ConnectionState {
	if tc, ok := c.ws.UnderlyingConn().(*tls.Conn); ok {
		return tc.ConnectionState()
	}
	return tls.ConnectionState{}
}

var errTextFrame = errors.New("websocket: text message received; MQTT needs binary messages")

func (c *wsConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.r == nil {
			typ, r, err := c.ws.NextReader()
			if err != nil {
				if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
					return 0, io.EOF
				}
				return 0, err
			}
			if typ != websocket.BinaryMessage {
				// [MQTT-6.0.0-1] any other data frame closes the connection.
				return 0, errTextFrame
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if err == io.EOF {
			c.r = nil
			if n > 0 {
				return n, nil
			}
			if len(p) == 0 {
				return 0, nil
			}
			continue
		}
		return n, err
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close sends a close frame (bounded by a short deadline) and closes the socket.
func (c *wsConn) Close() error {
	c.closeOnce.Do(func() {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		c.closeErr = c.ws.Close()
	})
	return c.closeErr
}

func (c *wsConn) LocalAddr() net.Addr  { return c.ws.LocalAddr() }
func (c *wsConn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

func (c *wsConn) SetDeadline(t time.Time) error {
	if err := c.ws.SetReadDeadline(t); err != nil {
		return err
	}
	return c.ws.SetWriteDeadline(t)
}

func (c *wsConn) SetReadDeadline(t time.Time) error  { return c.ws.SetReadDeadline(t) }
func (c *wsConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }
