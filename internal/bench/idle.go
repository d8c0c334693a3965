package bench

import (
	"context"
	"io"
)

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
}

// NewIdleDialer returns a dialer for addr with o as the template of every connection.
func NewIdleDialer(addr string, o ConnOptions) *IdleDialer {
	d := &IdleDialer{addr: addr, o: o, scratch: make([]byte, 0, 128), buf: make([]byte, 256)}
	if o.Dial == nil {
		d.raw, _ = newRawDialer(addr)
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
func (d *IdleDialer) Dial(ctx context.Context, clientID string) (io.Closer, error) {
	co := d.o
	co.ClientID = clientID
	if d.raw == nil {
		return handshakeOnly(ctx, d.addr, &co, &d.scratch)
	}
	var err error
	d.scratch, err = connectPacket(&co).AppendTo(d.scratch[:0], co.version())
	if err != nil {
		return nil, err
	}
	return d.raw.handshake(ctx, d.addr, d.scratch, co.version(), d.buf)
}
