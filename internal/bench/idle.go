package bench

import (
	"context"
	"net"

	"github.com/mqttx/mqttx/internal/packet"
)

// IdleConn is a connection opened by IdleDialer.
type IdleConn interface {
	// Ping writes a PINGREQ, keeping the connection alive when keep alive is on. The
	// PINGRESP is never read: two bytes per ping wait in the socket's receive buffer.
	Ping() error
	Close() error
}

var pingreq = []byte{byte(packet.PINGREQ) << 4, 0}

type netIdle struct{ net.Conn }

func (c netIdle) Ping() error {
	_, err := c.Write(pingreq)
	return err
}

// IdleDialer opens connections that only hold: CONNECT, CONNACK, then the bare socket
// with no goroutine or buffer, the cheapest way to keep many connections open. Plain
// TCP on Linux completes the handshake with blocking system calls outside the Go
// netpoller; anything else goes through ConnOptions.Dial. An IdleDialer is not safe for
// concurrent use: give each goroutine its own Clone.
type IdleDialer struct {
	addr    string
	o       ConnOptions
	raw     *rawDialer
	scratch []byte
	buf     []byte
	// keepAlive is the Server Keep Alive of the last CONNACK; 0 when it set none.
	keepAlive uint16
}

// ServerKeepAlive is the keep alive the broker set in the last connection's CONNACK
// (MQTT 5 Server Keep Alive); 0 when it set none.
func (d *IdleDialer) ServerKeepAlive() uint16 { return d.keepAlive }

// NewIdleDialer returns a dialer for addr with o as the template of every connection.
func NewIdleDialer(addr string, o ConnOptions) *IdleDialer {
	d := &IdleDialer{addr: addr, o: o, scratch: make([]byte, 0, 128), buf: make([]byte, 256)}
	if o.plainTCP() {
		d.raw, _ = newRawDialer(addr, o.LocalAddr)
	}
	return d
}

// Clone returns a dialer with the same settings and buffers of its own.
func (d *IdleDialer) Clone() *IdleDialer {
	c := &IdleDialer{addr: d.addr, o: d.o, scratch: make([]byte, 0, 128), buf: make([]byte, 256)}
	if d.raw != nil {
		c.raw = d.raw.clone()
	}
	return c
}

// Dial opens one connection as clientID. A refused CONNACK is a *mqttc.RefusedError.
// The connection needs no keep alive traffic only when ConnOptions.Client.KeepAlive
// is 0; otherwise the broker closes it after one and a half keep alive periods.
func (d *IdleDialer) Dial(ctx context.Context, clientID string) (IdleConn, error) {
	co := d.o
	co.Client.ClientID = clientID
	if d.raw == nil {
		nc, err := handshakeOnly(ctx, d.addr, &co, &d.scratch, &d.keepAlive)
		if err != nil {
			return nil, err
		}
		return netIdle{nc}, nil
	}
	var err error
	d.scratch, err = connectPacket(&co).AppendTo(d.scratch[:0], co.version())
	if err != nil {
		return nil, err
	}
	return d.raw.handshake(ctx, d.addr, d.scratch, co.version(), d.buf, &d.keepAlive)
}
