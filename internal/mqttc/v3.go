package mqttc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// v3Client is MQTT 3.1 / 3.1.1 on paho.mqtt.golang, used one-shot: explicit protocol
// version (no fallback), no automatic reconnect or connect retry, our dialer, and
// in-order delivery on the library's network goroutine.
type v3Client struct {
	o Options

	mu      sync.Mutex
	mc      mqtt.Client
	conn    *killableConn   // the socket our dialer opened, for Kill
	dialed  net.Conn        // what Dial returned, for a graceful close after DISCONNECT
	dialCtx context.Context // the Connect call's context, used by the dialer
	dialErr error           // why the dialer failed, already worded for users

	connected atomic.Bool
	closing   atomic.Bool
	lostOnce  sync.Once
	lostCh    chan struct{} // closed when the connection is gone (lost, killed or disconnected)
	goneOnce  sync.Once
	acks      ackGate // Disconnect waits here for the acks of delivered messages
}

func newV3(o Options) Client { return &v3Client{o: o, lostCh: make(chan struct{})} }

func (c *v3Client) openConn(_ *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
	c.mu.Lock()
	ctx := c.dialCtx
	c.mu.Unlock()
	conn, err := Dial(ctx, &c.o)
	if err != nil {
		c.mu.Lock()
		c.dialErr = err
		c.mu.Unlock()
		return nil, err
	}
	dialed := conn
	conn = traced(conn, c.o.Version, c.o.OnPacket)
	if c.o.HasPassword && c.o.Password == "" && c.o.Username != "" {
		// paho.mqtt.golang drops an empty password; MQTT allows one.
		conn = &connectFixConn{Conn: conn, fix: addEmptyPassword}
	}
	kc := &killableConn{Conn: conn}
	c.mu.Lock()
	c.conn, c.dialed = kc, dialed
	c.mu.Unlock()
	return kc, nil
}

// killableConn reports reads failing after Kill with its own error: paho.mqtt.golang
// treats "use of closed network connection" as a deliberate close and would not notice
// the loss until the next keepalive.
type killableConn struct {
	net.Conn
	killed atomic.Bool
}

var errKilled = errors.New("connection killed")

func (k *killableConn) Read(p []byte) (int, error) {
	n, err := k.Conn.Read(p)
	if err != nil && k.killed.Load() {
		err = errKilled
	}
	return n, err
}

func (k *killableConn) kill() error {
	k.killed.Store(true)
	return k.Conn.Close()
}

func (c *v3Client) Connect(ctx context.Context) (*ConnAck, error) {
	if c.connected.Load() || c.mc != nil {
		return nil, errors.New("already connected: make a new client to connect again")
	}
	addr := c.o.addr()
	ctx, cancel := context.WithTimeout(ctx, c.o.ConnectTimeout)
	defer cancel()

	opts := mqtt.NewClientOptions()
	opts.AddBroker("tcp://" + addr)
	opts.SetProtocolVersion(uint(c.o.Version))
	opts.SetClientID(c.o.ClientID)
	opts.SetUsername(c.o.Username)
	opts.SetPassword(c.o.Password)
	opts.SetCleanSession(c.o.CleanStart)
	opts.SetKeepAlive(time.Duration(c.o.KeepAlive) * time.Second)
	// A broker that stops answering is noticed within the keepalive and this, so a QoS
	// 1/2 publish waiting for its acknowledgement ends (as in pinger.go for MQTT 5).
	opts.SetPingTimeout(min(max(time.Duration(c.o.KeepAlive)*time.Second, time.Second), maxPingWait))
	opts.SetAutoReconnect(false)
	opts.SetConnectRetry(false)
	opts.SetResumeSubs(false)
	opts.SetOrderMatters(true)
	// We acknowledge in onMessage, so Disconnect can tell when every ack is queued.
	opts.SetAutoAckDisabled(true)
	opts.SetConnectTimeout(c.o.ConnectTimeout)
	opts.SetWriteTimeout(0)
	opts.SetCustomOpenConnectionFn(c.openConn)
	if w := c.o.Will; w != nil {
		opts.SetBinaryWill(w.Topic, w.Payload, w.QoS, w.Retain)
	}
	opts.SetDefaultPublishHandler(c.onMessage)
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) { c.lost(err) })

	mc := mqtt.NewClient(opts)
	c.mu.Lock()
	c.dialCtx = ctx
	c.mc = mc
	c.mu.Unlock()

	tok := mc.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		// Abort a handshake in progress by closing our socket, then let the library finish.
		c.mu.Lock()
		if c.conn != nil {
			_ = c.conn.kill()
		}
		c.mu.Unlock()
		<-tok.Done()
		c.markGone()
		if tok.Error() == nil {
			mc.Disconnect(0)
		}
		return nil, timeoutErr(ctx, addr, c.o.ConnectTimeout, ctx.Err(), false)
	}
	ct := tok.(*mqtt.ConnectToken)
	if err := tok.Error(); err != nil {
		c.markGone()
		rc := ct.ReturnCode()
		if rc >= 1 && rc <= 5 {
			reason := ReturnCodeText(rc)
			if rc == 2 && c.o.ClientID == "" && !c.o.CleanStart {
				reason += ": an empty client id needs a clean session; give a client id or connect with clean session"
			} else if rc == 2 && c.o.Version == V31 {
				reason += ": MQTT 3.1 needs a client id of 1 to 23 characters"
			}
			return nil, &RefusedError{Op: "connect", Code: rc, Reason: reason}
		}
		// The library wraps network errors as "network Error : <cause>"; keep the cause.
		cause := err
		if j, ok := err.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) == 2 {
			cause = j.Unwrap()[1]
		} else if u := errors.Unwrap(err); u != nil {
			cause = u
		}
		var ne net.Error
		if ctx.Err() != nil || (errors.As(cause, &ne) && ne.Timeout()) {
			return nil, fmt.Errorf("connect %s: no answer within %s (raise the connect timeout or check host and port)", addr, c.o.ConnectTimeout)
		}
		if errors.Is(cause, io.EOF) {
			return nil, fmt.Errorf("connect %s: connection closed by broker before CONNACK", addr)
		}
		c.mu.Lock()
		dialErr := c.dialErr
		c.mu.Unlock()
		if dialErr != nil {
			return nil, dialErr
		}
		if h := resetHint(addr, cause); h != nil {
			return nil, h
		}
		return nil, fmt.Errorf("connect %s: %w", addr, cause)
	}
	c.connected.Store(true)
	return &ConnAck{SessionPresent: ct.SessionPresent(), ReasonCode: 0, ClientID: c.o.ClientID}, nil
}

func (c *v3Client) markGone() { c.goneOnce.Do(func() { close(c.lostCh) }) }

func (c *v3Client) lost(err error) {
	c.markGone()
	if c.closing.Load() {
		return
	}
	c.lostOnce.Do(func() {
		if c.o.OnConnectionLost != nil {
			c.o.OnConnectionLost(fmt.Errorf("connection lost: %w", err))
		}
	})
}

func (c *v3Client) onMessage(_ mqtt.Client, m mqtt.Message) {
	if !c.acks.enter() {
		// Disconnect has begun: leave the message unacknowledged so the broker delivers
		// it again, instead of acknowledging it after DISCONNECT or not at all.
		return
	}
	defer c.acks.leave()
	if c.o.OnMessage != nil {
		accepted := c.o.OnMessage(Message{
			Topic:      m.Topic(),
			Payload:    m.Payload(),
			QoS:        m.Qos(),
			Retain:     m.Retained(),
			Dup:        m.Duplicate(),
			ReceivedAt: time.Now(),
		})
		if !accepted {
			// Declined: neither this message nor any later one is acknowledged, so the
			// acknowledgements stay in arrival order; the broker sends them all again.
			c.acks.stop()
			return
		}
	}
	// Ack returns once the library's output goroutine has taken the PUBACK/PUBREC from
	// the unbuffered ack channel. That goroutine forwards it to the socket writer before
	// it takes anything else, and DISCONNECT travels the same way, so a DISCONNECT sent
	// after this returns is written after the acknowledgement.
	m.Ack()
}

func (c *v3Client) client() (mqtt.Client, error) {
	if !c.connected.Load() {
		return nil, errors.New("not connected: call Connect first")
	}
	return c.mc, nil
}

// wait waits for tok, the caller's context or the loss of the connection, whichever
// comes first.
func (c *v3Client) wait(ctx context.Context, tok mqtt.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-c.lostCh:
		select {
		case <-tok.Done():
			return tok.Error()
		default:
		}
		return errors.New("connection lost before the broker answered")
	}
}

func (c *v3Client) Publish(ctx context.Context, m Message) error {
	mc, err := c.client()
	if err != nil {
		return err
	}
	if m.QoS > 2 {
		return fmt.Errorf("invalid qos %d: must be 0, 1 or 2", m.QoS)
	}
	if m.Properties != nil {
		return errors.New("publish properties need MQTT 5: connect with mqtt version 5")
	}
	if err := checkSize(c.o.Version, m, 0); err != nil {
		return err
	}
	payload := m.Payload
	if payload == nil {
		payload = []byte{}
	}
	if err := c.wait(ctx, mc.Publish(m.Topic, m.QoS, m.Retain, payload)); err != nil {
		return fmt.Errorf("publish to %q: %w", m.Topic, err)
	}
	return nil
}

func (c *v3Client) Subscribe(ctx context.Context, subs []Subscription, opts SubscribeOptions) ([]byte, error) {
	mc, err := c.client()
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return nil, errors.New("subscribe: no topic filters given")
	}
	if opts.SubscriptionID != nil || len(opts.UserProperties) > 0 {
		return nil, errors.New("subscription identifier and user properties need MQTT 5: connect with mqtt version 5")
	}
	filters := make(map[string]byte, len(subs))
	for _, s := range subs {
		if s.NoLocal || s.RetainAsPublished || s.RetainHandling != 0 {
			return nil, fmt.Errorf("subscription options for %q (no local, retain as published, retain handling) need MQTT 5", s.Topic)
		}
		filters[s.Topic] = s.QoS
	}
	tok := mc.SubscribeMultiple(filters, nil)
	if err := c.wait(ctx, tok); err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	// The library reports granted QoS per filter in a map; put it back in request order.
	res := tok.(*mqtt.SubscribeToken).Result()
	codes := make([]byte, len(subs))
	var refused error
	for i, s := range subs {
		codes[i] = res[s.Topic]
		if codes[i] >= 0x80 && refused == nil {
			refused = &RefusedError{Op: "subscribe", Code: codes[i], Reason: "failure for " + strconv.Quote(s.Topic)}
		}
	}
	return codes, refused
}

func (c *v3Client) Unsubscribe(ctx context.Context, topics ...string) error {
	mc, err := c.client()
	if err != nil {
		return err
	}
	if err := c.wait(ctx, mc.Unsubscribe(topics...)); err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	return nil
}

func (c *v3Client) Disconnect(ctx context.Context) error {
	if !c.connected.Load() || c.closing.Swap(true) {
		return nil
	}
	select {
	case <-c.lostCh:
		return nil
	default:
	}
	// Messages already handed to OnMessage are acknowledged first; otherwise DISCONNECT
	// can overtake an acknowledgement and a persistent session redelivers the message.
	var ackErr error
	select {
	case <-c.acks.close():
	case <-c.lostCh:
		return nil
	case <-ctx.Done():
		ackErr = fmt.Errorf("disconnect: message acknowledgements not sent: %w", ctx.Err())
	}
	quiesce := uint(1000)
	if dl, ok := ctx.Deadline(); ok {
		if ms := time.Until(dl).Milliseconds(); ms < 1000 {
			quiesce = uint(max(ms, 0))
		}
	}
	c.mu.Lock()
	dialed := c.dialed
	c.mu.Unlock()
	if dialed != nil {
		lingerOnClose(dialed)
	}
	c.mc.Disconnect(quiesce)
	c.markGone()
	return ackErr
}

func (c *v3Client) Kill() error {
	if !c.connected.Load() {
		return nil
	}
	c.closing.Store(true)
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		return nil
	}
	err := conn.kill()
	// Let the library notice the dead socket and stop its goroutines.
	select {
	case <-c.lostCh:
	case <-time.After(5 * time.Second):
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("kill: %w", err)
	}
	return nil
}
