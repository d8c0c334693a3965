package mqttc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	paholog "github.com/eclipse/paho.golang/paho/log"
	"github.com/eclipse/paho.golang/paho/session/state"
)

// v5Client is MQTT 5 on paho.golang's low-level paho package. We own the connection's
// lifetime: one dial, one CONNECT, no reconnects.
type v5Client struct {
	o Options

	mu   sync.Mutex
	pc   *paho.Client
	conn net.Conn
	// quota keeps our in-flight QoS 1/2 publishes within the broker's Receive Maximum, so
	// paho's own send quota never has to wait; its cancelled-wait path prints to stdout.
	quota chan struct{}
	// aliasMax is the CONNACK's Topic Alias Maximum; 0 when absent (no aliases allowed).
	aliasMax uint16
	// maxPacket is the CONNACK's Maximum Packet Size; 0 when absent (no limit but MQTT's).
	maxPacket uint32

	// connCtx ends when the paho client has shut down, so waits for acknowledgements end
	// with the connection instead of at the caller's deadline.
	connCtx context.Context

	// aliases maps the broker's topic aliases to topics; paho's low-level client leaves
	// them unresolved. Only the publish-routing goroutine touches it.
	aliases map[uint16]string

	closing  atomic.Bool // Disconnect or Kill called: connection loss is expected
	lostOnce sync.Once

	// acks keeps DISCONNECT behind the acknowledgements of delivered messages. handed
	// says whether the message being routed went to OnMessage (and so holds the gate),
	// declined whether OnMessage refused it (and so it is not acknowledged); only the
	// publish-routing goroutine touches them, in onPublish and then in Ack.
	acks     ackGate
	handed   bool
	declined bool
}

func newV5(o Options) Client { return &v5Client{o: o} }

func (c *v5Client) client() (*paho.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pc == nil {
		return nil, errors.New("not connected: call Connect first")
	}
	return c.pc, nil
}

func userProps(in []UserProperty) paho.UserProperties {
	if len(in) == 0 {
		return nil
	}
	out := make(paho.UserProperties, len(in))
	for i, p := range in {
		out[i] = paho.UserProperty{Key: p.Key, Value: p.Value}
	}
	return out
}

func fromUserProps(in paho.UserProperties) []UserProperty {
	if len(in) == 0 {
		return nil
	}
	out := make([]UserProperty, len(in))
	for i, p := range in {
		out[i] = UserProperty{Key: p.Key, Value: p.Value}
	}
	return out
}

func (c *v5Client) connectPacket() *paho.Connect {
	o := &c.o
	cp := &paho.Connect{
		ClientID:   o.ClientID,
		KeepAlive:  o.KeepAlive,
		CleanStart: o.CleanStart,
		Properties: &paho.ConnectProperties{
			SessionExpiryInterval: o.SessionExpiry,
			ReceiveMaximum:        o.ReceiveMaximum,
			MaximumPacketSize:     o.MaximumPacketSize,
			TopicAliasMaximum:     o.TopicAliasMaximum,
			RequestResponseInfo:   o.RequestResponseInfo,
			RequestProblemInfo:    o.RequestProblemInfo == nil || *o.RequestProblemInfo,
			User:                  userProps(o.UserProperties),
			AuthMethod:            o.AuthenticationMethod,
			AuthData:              o.AuthenticationData,
		},
	}
	if o.Username != "" {
		cp.UsernameFlag = true
		cp.Username = o.Username
	}
	if o.HasPassword || o.Password != "" {
		cp.PasswordFlag = true
		cp.Password = []byte(o.Password)
	}
	if w := o.Will; w != nil {
		cp.WillMessage = &paho.WillMessage{Topic: w.Topic, Payload: w.Payload, QoS: w.QoS, Retain: w.Retain}
		cp.WillProperties = &paho.WillProperties{
			WillDelayInterval: w.DelayInterval,
			PayloadFormat:     w.PayloadFormat,
			MessageExpiry:     w.MessageExpiry,
			ContentType:       w.ContentType,
			ResponseTopic:     w.ResponseTopic,
			CorrelationData:   w.CorrelationData,
			User:              userProps(w.UserProperties),
		}
	}
	return cp
}

func (c *v5Client) Connect(ctx context.Context) (*ConnAck, error) {
	c.mu.Lock()
	if c.pc != nil {
		c.mu.Unlock()
		return nil, errors.New("already connected: make a new client to connect again")
	}
	c.mu.Unlock()
	addr := c.o.addr()
	ctx, cancel := context.WithTimeout(ctx, c.o.ConnectTimeout)
	defer cancel()
	conn, err := Dial(ctx, &c.o)
	if err != nil {
		return nil, timeoutErr(ctx, addr, c.o.ConnectTimeout, err, false)
	}
	conn = traced(conn, V5, c.o.OnPacket)
	cc := &captureConn{Conn: conn}
	cc.on.Store(true)
	var wire net.Conn = cc
	if needsOwnConnect(&c.o) {
		own, err := encodeConnectV5(&c.o)
		if err != nil {
			conn.Close()
			return nil, err
		}
		wire = &connectFixConn{Conn: cc, fix: func([]byte) []byte { return own }}
	}
	safe := packets.NewThreadSafeConn(wire)
	sess := ackSession{State: state.NewInMemory(), c: c}
	pc := paho.NewClient(paho.ClientConfig{
		ClientID: c.o.ClientID,
		Conn:     safe,
		Session:  sess,
		// Publish, Subscribe and Unsubscribe are bounded by the caller's context.
		PacketTimeout:      24 * time.Hour,
		OnPublishReceived:  []func(paho.PublishReceived) (bool, error){c.onPublish},
		OnServerDisconnect: c.onServerDisconnect,
		OnClientError:      c.onClientError,
		PingHandler:        &pinger{},
		// paho calls the handler unchecked when a CONNACK carries an authentication
		// method, so one is always set.
		AuthHandler: singleStepAuth{method: c.o.AuthenticationMethod},
	})
	pc.SetDebugLogger(paholog.NOOPLogger{})
	pc.SetErrorLogger(paholog.NOOPLogger{})

	ca, err := pc.Connect(ctx, c.connectPacket())
	if err != nil {
		conn.Close()
		_ = sess.Close()
		if ca != nil && ca.ReasonCode >= 0x80 {
			reason := ""
			if ca.Properties != nil {
				reason = ca.Properties.ReasonString
			}
			if reason == "" {
				reason = ReasonText(ca.ReasonCode)
			}
			return nil, &RefusedError{Op: "connect", Code: ca.ReasonCode, Reason: reason}
		}
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("connect %s: connection closed by broker before CONNACK (is it an MQTT 5 broker?)", addr)
		}
		if h := resetHint(addr, err); h != nil {
			return nil, h
		}
		return nil, timeoutErr(ctx, addr, c.o.ConnectTimeout, err, true)
	}
	ack := &ConnAck{SessionPresent: ca.SessionPresent, ReasonCode: ca.ReasonCode, ClientID: c.o.ClientID}
	recvMax := uint16(65535)
	if p := ca.Properties; p != nil {
		ack.Properties = connAckProps(p, cc.connack())
		if p.AssignedClientID != "" {
			ack.ClientID = p.AssignedClientID
			ack.AssignedID = true
		}
		if p.ReceiveMaximum != nil && *p.ReceiveMaximum > 0 {
			recvMax = *p.ReceiveMaximum
		}
	}
	var aliasMax uint16
	var maxPacket uint32
	if ack.Properties != nil && ack.Properties.TopicAliasMaximum != nil {
		aliasMax = *ack.Properties.TopicAliasMaximum
	}
	if ack.Properties != nil && ack.Properties.MaximumPacketSize != nil {
		maxPacket = *ack.Properties.MaximumPacketSize
	}
	connCtx, connCancel := context.WithCancel(context.Background())
	go func() {
		<-pc.Done()
		// paho closes only a session it made itself; closing ends waits on it.
		_ = sess.Close()
		connCancel()
	}()
	c.mu.Lock()
	c.pc, c.conn, c.quota, c.connCtx, c.aliasMax, c.maxPacket = pc, conn, make(chan struct{}, recvMax), connCtx, aliasMax, maxPacket
	c.mu.Unlock()
	return ack, nil
}

// timeoutErr turns a deadline hit during Connect into one clear sentence. Other errors
// are returned as they are, or with the address in front when wrap is set.
func timeoutErr(ctx context.Context, addr string, d time.Duration, err error, wrap bool) error {
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("connect %s: no answer within %s (raise the connect timeout or check host and port)", addr, d)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("connect %s: %w", addr, context.Canceled)
	}
	if wrap {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	return err
}

// connAckProps maps paho's CONNACK properties. paho reports the four "available" flags
// as true when absent, so they are taken from the raw CONNACK when we have it; without
// it only an explicit false is reported.
func connAckProps(p *paho.ConnackProperties, raw *packets.Properties) *ConnAckProperties {
	out := &ConnAckProperties{
		SessionExpiryInterval: p.SessionExpiryInterval,
		ReceiveMaximum:        p.ReceiveMaximum,
		MaximumQoS:            p.MaximumQoS,
		MaximumPacketSize:     p.MaximumPacketSize,
		AssignedClientID:      p.AssignedClientID,
		TopicAliasMaximum:     p.TopicAliasMaximum,
		ReasonString:          p.ReasonString,
		UserProperties:        fromUserProps(p.User),
		ServerKeepAlive:       p.ServerKeepAlive,
		ResponseInformation:   p.ResponseInfo,
		ServerReference:       p.ServerReference,
		AuthenticationMethod:  p.AuthMethod,
	}
	if raw != nil {
		out.RetainAvailable = flag(raw.RetainAvailable)
		out.WildcardSubAvailable = flag(raw.WildcardSubAvailable)
		out.SubIDAvailable = flag(raw.SubIDAvailable)
		out.SharedSubAvailable = flag(raw.SharedSubAvailable)
		return out
	}
	f := false
	if !p.RetainAvailable {
		out.RetainAvailable = &f
	}
	if !p.WildcardSubAvailable {
		out.WildcardSubAvailable = &f
	}
	if !p.SubIDAvailable {
		out.SubIDAvailable = &f
	}
	if !p.SharedSubAvailable {
		out.SharedSubAvailable = &f
	}
	return out
}

func flag(b *byte) *bool {
	if b == nil {
		return nil
	}
	v := *b == 1
	return &v
}

// captureConn records what is read until the CONNACK has been seen, so the CONNACK's
// properties can be decoded as sent (paho's own mapping fills in defaults).
type captureConn struct {
	net.Conn
	on  atomic.Bool
	mu  sync.Mutex
	buf []byte
}

func (c *captureConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.on.Load() {
		c.mu.Lock()
		if c.on.Load() && len(c.buf) < 1<<20 {
			c.buf = append(c.buf, p[:n]...)
		}
		c.mu.Unlock()
	}
	return n, err
}

// connack stops recording and decodes the CONNACK's properties; nil if it cannot.
func (c *captureConn) connack() *packets.Properties {
	c.mu.Lock()
	c.on.Store(false)
	buf := c.buf
	c.buf = nil
	c.mu.Unlock()
	r := bytes.NewReader(buf)
	for {
		cp, err := packets.ReadPacket(r)
		if err != nil {
			return nil
		}
		if ca, ok := cp.Content.(*packets.Connack); ok {
			return ca.Properties
		}
	}
}

// singleStepAuth supports authentication methods that finish within CONNECT/CONNACK.
// A broker asking to continue gets an AUTH with no data, which it will refuse.
type singleStepAuth struct{ method string }

func (a singleStepAuth) Authenticate(*paho.Auth) *paho.Auth {
	return &paho.Auth{ReasonCode: 0x18, Properties: &paho.AuthProperties{AuthMethod: a.method}}
}

func (singleStepAuth) Authenticated() {}

// ackSession is paho's in-memory session state, telling the ack gate when the
// acknowledgement of a message handed to OnMessage has been written. paho calls Ack on
// the publish-routing goroutine once the handlers have returned, and writes the
// PUBACK/PUBREC before Ack returns.
type ackSession struct {
	*state.State
	c *v5Client
}

func (s ackSession) Ack(pb *packets.Publish) error {
	if !s.c.handed {
		// Not delivered because Disconnect has begun: the broker will send it again.
		return nil
	}
	s.c.handed = false
	defer s.c.acks.leave()
	if s.c.declined {
		// OnMessage declined it: no acknowledgement, and the gate refuses later messages.
		s.c.declined = false
		return nil
	}
	if pb.QoS == 0 {
		return nil
	}
	return s.State.Ack(pb)
}

func (c *v5Client) onPublish(pr paho.PublishReceived) (bool, error) {
	if !c.acks.enter() {
		return true, nil // see ackSession.Ack
	}
	c.handed = true
	if c.o.OnMessage == nil {
		return true, nil
	}
	p := pr.Packet
	if p.Properties != nil && p.Properties.TopicAlias != nil {
		a := *p.Properties.TopicAlias
		if p.Topic != "" {
			if c.aliases == nil {
				c.aliases = make(map[uint16]string)
			}
			c.aliases[a] = p.Topic
		} else {
			p.Topic = c.aliases[a]
		}
	}
	m := Message{
		Topic:      p.Topic,
		Payload:    p.Payload,
		QoS:        p.QoS,
		Retain:     p.Retain,
		Dup:        p.Duplicate(),
		ReceivedAt: time.Now(),
	}
	if q := p.Properties; q != nil {
		props := &PublishProperties{
			PayloadFormat:   q.PayloadFormat,
			MessageExpiry:   q.MessageExpiry,
			TopicAlias:      q.TopicAlias,
			ResponseTopic:   q.ResponseTopic,
			CorrelationData: q.CorrelationData,
			UserProperties:  fromUserProps(q.User),
			ContentType:     q.ContentType,
		}
		if q.SubscriptionIdentifier != nil {
			props.SubscriptionIDs = []int{*q.SubscriptionIdentifier}
		}
		if props.PayloadFormat != nil || props.MessageExpiry != nil || props.TopicAlias != nil || props.ResponseTopic != "" ||
			props.CorrelationData != nil || props.UserProperties != nil || props.SubscriptionIDs != nil || props.ContentType != "" {
			m.Properties = props
		}
	}
	if !c.o.OnMessage(m) {
		c.declined = true
		c.acks.stop()
	}
	return true, nil
}

func (c *v5Client) lost(err error) {
	if c.closing.Load() {
		return
	}
	c.lostOnce.Do(func() {
		if c.o.OnConnectionLost != nil {
			c.o.OnConnectionLost(err)
		}
	})
}

func (c *v5Client) onClientError(err error) {
	c.lost(fmt.Errorf("connection lost: %w", err))
}

func (c *v5Client) onServerDisconnect(d *paho.Disconnect) {
	e := &DisconnectError{Code: d.ReasonCode}
	if d.Properties != nil {
		e.Reason = d.Properties.ReasonString
	}
	if e.Reason == "" {
		e.Reason = ReasonText(d.ReasonCode)
	}
	c.lost(e)
}

func (c *v5Client) Publish(ctx context.Context, m Message) error {
	pc, err := c.client()
	if err != nil {
		return err
	}
	if m.QoS > 2 {
		return fmt.Errorf("invalid qos %d: must be 0, 1 or 2", m.QoS)
	}
	c.mu.Lock()
	maxPacket := c.maxPacket
	c.mu.Unlock()
	if err := checkSize(V5, m, maxPacket); err != nil {
		return err
	}
	p := &paho.Publish{Topic: m.Topic, Payload: m.Payload, QoS: m.QoS, Retain: m.Retain}
	if q := m.Properties; q != nil {
		// A broker drops the connection on an alias above its maximum [MQTT-3.3.2-9];
		// say so instead. Alias 0 is left to the broker, which refuses it the same way.
		if q.TopicAlias != nil && *q.TopicAlias > c.aliasMax {
			return fmt.Errorf("topic alias %d exceeds the broker's topic alias maximum %d", *q.TopicAlias, c.aliasMax)
		}
		p.Properties = &paho.PublishProperties{
			PayloadFormat:   q.PayloadFormat,
			MessageExpiry:   q.MessageExpiry,
			TopicAlias:      q.TopicAlias,
			ResponseTopic:   q.ResponseTopic,
			CorrelationData: q.CorrelationData,
			User:            userProps(q.UserProperties),
			ContentType:     q.ContentType,
		}
	}
	ctx, cancel := c.withConn(ctx)
	defer cancel()
	if m.QoS > 0 {
		select {
		case c.quota <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("publish to %q: %w", m.Topic, c.ctxErr(ctx))
		}
	}
	pr, err := pc.Publish(ctx, p)
	if m.QoS > 0 && (err == nil || pr != nil) {
		// The flow is complete. A cancelled flow keeps its slot in paho's quota until the
		// broker answers, so it keeps ours too.
		<-c.quota
	}
	if pr != nil && pr.ReasonCode >= 0x80 {
		reason := ""
		if pr.Properties != nil {
			reason = pr.Properties.ReasonString
		}
		if reason == "" {
			reason = ReasonText(pr.ReasonCode)
		}
		return &RefusedError{Op: "publish", Code: pr.ReasonCode, Reason: reason}
	}
	if err != nil {
		if ctx.Err() != nil {
			err = c.ctxErr(ctx)
		}
		return fmt.Errorf("publish to %q: %w", m.Topic, err)
	}
	return nil
}

// withConn returns ctx, also cancelled when the connection ends.
func (c *v5Client) withConn(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.connCtx, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// errConnLost says an acknowledgement can no longer come.
var errConnLost = errors.New("connection lost before the broker answered")

func (c *v5Client) ctxErr(ctx context.Context) error {
	if c.connCtx.Err() != nil {
		return errConnLost
	}
	return ctx.Err()
}

func (c *v5Client) Subscribe(ctx context.Context, subs []Subscription, opts SubscribeOptions) ([]byte, error) {
	pc, err := c.client()
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return nil, errors.New("subscribe: no topic filters given")
	}
	s := &paho.Subscribe{Subscriptions: make([]paho.SubscribeOptions, len(subs))}
	for i, sub := range subs {
		s.Subscriptions[i] = paho.SubscribeOptions{
			Topic:             sub.Topic,
			QoS:               sub.QoS,
			NoLocal:           sub.NoLocal,
			RetainAsPublished: sub.RetainAsPublished,
			RetainHandling:    sub.RetainHandling,
		}
	}
	if opts.SubscriptionID != nil || len(opts.UserProperties) > 0 {
		s.Properties = &paho.SubscribeProperties{SubscriptionIdentifier: opts.SubscriptionID, User: userProps(opts.UserProperties)}
	}
	ctx, cancel := c.withConn(ctx)
	defer cancel()
	sa, err := pc.Subscribe(ctx, s)
	if err != nil && ctx.Err() != nil {
		err = c.ctxErr(ctx)
	}
	if sa != nil {
		for _, code := range sa.Reasons {
			if code >= 0x80 {
				reason := ""
				if sa.Properties != nil {
					reason = sa.Properties.ReasonString
				}
				if reason == "" {
					reason = ReasonText(code)
				}
				return sa.Reasons, &RefusedError{Op: "subscribe", Code: code, Reason: reason}
			}
		}
		if err == nil {
			return sa.Reasons, nil
		}
	}
	return nil, fmt.Errorf("subscribe: %w", err)
}

func (c *v5Client) Unsubscribe(ctx context.Context, topics ...string) error {
	pc, err := c.client()
	if err != nil {
		return err
	}
	ctx, cancel := c.withConn(ctx)
	defer cancel()
	ua, err := pc.Unsubscribe(ctx, &paho.Unsubscribe{Topics: topics})
	if err != nil && ctx.Err() != nil {
		err = c.ctxErr(ctx)
	}
	if ua != nil {
		for _, code := range ua.Reasons {
			if code >= 0x80 {
				reason := ""
				if ua.Properties != nil {
					reason = ua.Properties.ReasonString
				}
				if reason == "" {
					reason = ReasonText(code)
				}
				return &RefusedError{Op: "unsubscribe", Code: code, Reason: reason}
			}
		}
	}
	if err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	return nil
}

func (c *v5Client) Disconnect(ctx context.Context) error {
	c.mu.Lock()
	pc, conn := c.pc, c.conn
	c.mu.Unlock()
	if pc == nil || c.closing.Swap(true) {
		return nil
	}
	select {
	case <-pc.Done():
		return nil // already gone; OnConnectionLost has said why
	default:
	}
	// Messages already handed to OnMessage are acknowledged first; otherwise DISCONNECT
	// can overtake an acknowledgement and a persistent session redelivers the message.
	var ackErr error
	select {
	case <-c.acks.close():
	case <-pc.Done():
		return nil
	case <-ctx.Done():
		ackErr = fmt.Errorf("disconnect: message acknowledgements not sent: %w", ctx.Err())
	}
	lingerOnClose(conn)
	done := make(chan error, 1)
	go func() { done <- pc.Disconnect(&paho.Disconnect{ReasonCode: 0}) }()
	select {
	case err := <-done:
		if ackErr != nil {
			return ackErr
		}
		if err != nil {
			return fmt.Errorf("disconnect: %w", err)
		}
		return nil
	case <-ctx.Done():
		conn.Close()
		<-done
		if ackErr != nil {
			return ackErr
		}
		return fmt.Errorf("disconnect: %w", ctx.Err())
	}
}

func (c *v5Client) Kill() error {
	c.mu.Lock()
	pc, conn := c.pc, c.conn
	c.mu.Unlock()
	if pc == nil {
		return nil
	}
	c.closing.Store(true)
	err := conn.Close()
	select {
	case <-pc.Done():
	case <-time.After(5 * time.Second):
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("kill: %w", err)
	}
	return nil
}
