package simulate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/mqttx/mqttx/internal/bench"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/packet"
)

// Transport connects devices to a broker. The runner only needs this much, so devices
// can move onto another engine by implementing it.
type Transport interface {
	// Connect opens one device's connection (CONNECT/CONNACK done). A refusal by the
	// broker is a *mqttc.RefusedError. onAck, when not nil, is called for each
	// completed QoS 1/2 flow, ok false when the broker refused the message.
	Connect(ctx context.Context, clientID string, onAck func(ok bool)) (Link, error)
}

// Link is one device's connection. Publish and Ping are called from the device's
// goroutine only; Done and Err from any.
type Link interface {
	// Publish sends one message without waiting for the broker: at QoS 1 and 2, when
	// too many earlier messages are unacknowledged, it returns ErrInflight at once, so
	// one slow device never holds up the others.
	Publish(topic string, payload []byte, qos byte, retain bool) error
	// Ping sends PINGREQ, to keep an idle connection alive.
	Ping() error
	// Done is closed when the connection is lost (or closed); Err then says why.
	Done() <-chan struct{}
	Err() error
	// Disconnect waits briefly for outstanding acknowledgements, sends DISCONNECT and
	// closes the connection.
	Disconnect() error
}

// BenchTransport drives devices with internal/bench's lean Conn: packets from
// internal/packet over one buffered socket, a reader goroutine per device for
// acknowledgements, no client library state.
type BenchTransport struct {
	// Options is the connection as the shared flags describe it: transport (TCP, TLS,
	// WebSocket), version, credentials, keep alive. Its ClientID is replaced per device.
	Options mqttc.Options
	// Inflight caps unacknowledged QoS 1/2 messages per device (default 32).
	Inflight int
}

func (t *BenchTransport) addr() string {
	port := t.Options.Port
	if port == 0 {
		port = mqttc.DefaultPort(t.Options.Scheme)
	}
	return net.JoinHostPort(t.Options.Host, fmt.Sprint(port))
}

// Connect dials the broker and completes CONNECT/CONNACK for clientID.
func (t *BenchTransport) Connect(ctx context.Context, clientID string, onAck func(ok bool)) (Link, error) {
	o := t.Options
	timeout := o.ConnectTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	o.ClientID = clientID
	c, err := bench.Dial(ctx, t.addr(), bench.ConnOptions{
		Client:          o,
		ReadBufferSize:  512,
		WriteBufferSize: 4096,
	})
	if err != nil {
		return nil, err // a refused CONNACK is already *mqttc.RefusedError
	}
	n := t.Inflight
	if n <= 0 {
		n = 32
	}
	// Never more in flight than the broker's Receive Maximum (MQTT 5 CONNACK).
	if rm := c.ReceiveMaximum(); rm > 0 && rm < n {
		n = rm
	}
	l := &benchLink{c: c, done: make(chan struct{}), sem: make(chan struct{}, n), onAck: onAck}
	go l.read()
	return l, nil
}

// ErrInflight says a QoS 1/2 message was not sent: the device's window of
// unacknowledged messages is full.
var ErrInflight = errors.New("too many unacknowledged messages")

type benchLink struct {
	c     *bench.Conn
	onAck func(bool)
	sem   chan struct{} // one token per unacknowledged QoS 1/2 message

	// Used by the device goroutine only.
	pub    packet.Publish
	topic  []byte
	nextID uint16

	mu      sync.Mutex
	err     error
	closing bool
	done    chan struct{}
}

func (l *benchLink) Done() <-chan struct{} { return l.done }

func (l *benchLink) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func (l *benchLink) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.done:
		return
	default:
	}
	if l.closing {
		err = nil
	}
	l.err = err
	close(l.done)
}

func (l *benchLink) Publish(topic string, payload []byte, qos byte, retain bool) error {
	if qos > 0 {
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			return l.lost()
		default:
			return ErrInflight
		}
		l.nextID++
		if l.nextID == 0 {
			l.nextID = 1
		}
	}
	l.topic = append(l.topic[:0], topic...)
	l.pub = packet.Publish{Topic: l.topic, Payload: payload, QoS: qos, Retain: retain}
	if qos > 0 {
		l.pub.PacketID = l.nextID
	}
	err := l.c.Publish(&l.pub)
	if err == nil {
		err = l.c.Flush()
	}
	if err != nil {
		l.c.Close()
		return l.lost()
	}
	return nil
}

func (l *benchLink) lost() error {
	<-l.done
	if err := l.Err(); err != nil {
		return err
	}
	return errors.New("connection closed")
}

func (l *benchLink) Ping() error {
	if err := l.c.WritePacket(&packet.Pingreq{}); err != nil {
		return err
	}
	return l.c.Flush()
}

// read handles what the broker sends: acknowledgements, PINGRESP, DISCONNECT.
func (l *benchLink) read() {
	var ack packet.Ack
	v := l.c.Version()
	for {
		h, body, err := l.c.ReadRaw()
		if err != nil {
			l.fail(err)
			return
		}
		switch h.Type {
		case packet.PUBACK, packet.PUBCOMP:
			ok := true
			if ack.DecodeInto(h.First(), body, v) == nil && ack.ReasonCode >= 0x80 {
				ok = false
			}
			select {
			case <-l.sem:
			default:
			}
			if l.onAck != nil {
				l.onAck(ok)
			}
		case packet.PUBREC:
			if err := ack.DecodeInto(h.First(), body, v); err != nil {
				l.fail(err)
				return
			}
			if ack.ReasonCode >= 0x80 {
				select {
				case <-l.sem:
				default:
				}
				if l.onAck != nil {
					l.onAck(false)
				}
				continue
			}
			if err := l.c.Ack(packet.PUBREL, ack.PacketID); err == nil {
				_ = l.c.Flush()
			}
		case packet.DISCONNECT:
			var d packet.Disconnect
			_ = d.DecodeInto(h.First(), body, v)
			l.fail(fmt.Errorf("broker sent DISCONNECT: %v", d.ReasonCode))
			_ = l.c.Close()
			return
		}
	}
}

func (l *benchLink) Disconnect() error {
	// Give outstanding QoS 1/2 messages a moment to be acknowledged: filling the
	// semaphore succeeds once every token is returned.
	deadline := time.NewTimer(2 * time.Second)
	defer deadline.Stop()
fill:
	for i := 0; i < cap(l.sem); i++ {
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			break fill
		case <-deadline.C:
			break fill
		}
	}
	l.mu.Lock()
	l.closing = true
	l.mu.Unlock()
	err := l.c.Disconnect()
	<-l.done
	return err
}
