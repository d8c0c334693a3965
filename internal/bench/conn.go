package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/packet"
)

// DialFunc opens the transport to addr. Without one, Dial dials plain TCP itself and
// reaches TLS and WebSocket through mqttc.Dial, the client commands' dialer.
type DialFunc func(ctx context.Context, addr string) (net.Conn, error)

// ConnOptions configures one load connection.
type ConnOptions struct {
	// Client holds the shared connection settings, as the client commands resolve them:
	// protocol version, credentials, keep alive, clean start, session expiry, will, MQTT
	// 5 CONNECT properties and the transport (Scheme mqtt, mqtts, ws or wss, with TLS
	// and WebSocket options). Host and Port are ignored: Dial takes the address. Its
	// ClientID is the client id unless the caller names one per connection.
	Client mqttc.Options
	// LocalAddr, when set, is the source address of plain TCP connections (to open
	// more connections than one source address has ports).
	LocalAddr net.IP
	// ReadBufferSize and WriteBufferSize size the bufio buffers (default 16 KiB each).
	ReadBufferSize  int
	WriteBufferSize int
	Dial            DialFunc // replaces the transport; default: see DialFunc
}

func (o *ConnOptions) version() packet.Version {
	if o.Client.Version == 0 {
		return packet.V311
	}
	return o.Client.Version
}

// plainTCP reports whether the options dial plain TCP without a DialFunc.
func (o *ConnOptions) plainTCP() bool {
	switch o.Client.Scheme {
	case "", "mqtt", "tcp":
		return o.Dial == nil
	}
	return false
}

// dial opens the transport to addr.
func (o *ConnOptions) dial(ctx context.Context, addr string) (net.Conn, error) {
	if o.Dial != nil {
		return o.Dial(ctx, addr)
	}
	if o.plainTCP() {
		// No TCP keep-alive: MQTT has its own, and the setsockopt calls would cost the
		// load generator CPU on every connection.
		d := net.Dialer{KeepAlive: -1}
		if o.LocalAddr != nil {
			d.LocalAddr = &net.TCPAddr{IP: o.LocalAddr}
		}
		return d.DialContext(ctx, "tcp", addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("invalid address %q: %w", addr, err)
	}
	co := o.Client
	co.Host = host
	if co.Port, err = strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("invalid port in %q", addr)
	}
	return mqttc.Dial(ctx, &co)
}

// Conn is a lean MQTT client connection for load generation: raw packets from
// internal/packet over a buffered socket, reused buffers, no background goroutines of
// its own. Writes are buffered until Flush (or until the buffer fills), so a caller can
// batch many packets into one syscall. Writing methods are safe for concurrent use;
// ReadRaw must be called from one goroutine at a time.
type Conn struct {
	nc      net.Conn
	version packet.Version
	r       *bufio.Reader
	rbuf    []byte

	wmu  sync.Mutex
	w    *bufio.Writer
	wbuf []byte
	ack  packet.Ack

	receiveMax uint16
	keepAlive  uint16 // the CONNACK's Server Keep Alive; 0 when it sets none
}

// Dial connects to addr and completes the CONNECT/CONNACK handshake. A refused CONNACK
// is a *mqttc.RefusedError, as from the client commands.
func Dial(ctx context.Context, addr string, o ConnOptions) (*Conn, error) {
	nc, err := o.dial(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	rs, ws := o.ReadBufferSize, o.WriteBufferSize
	if rs <= 0 {
		rs = 16 << 10
	}
	if ws <= 0 {
		ws = 16 << 10
	}
	c := &Conn{
		nc:      nc,
		version: o.version(),
		r:       bufio.NewReaderSize(nc, rs),
		w:       bufio.NewWriterSize(nc, ws),
		rbuf:    make([]byte, 0, 512),
		wbuf:    make([]byte, 0, 512),
	}
	if err := c.handshake(ctx, &o); err != nil {
		nc.Close()
		var refused *mqttc.RefusedError
		if errors.As(err, &refused) {
			return nil, err
		}
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	return c, nil
}

func connectPacket(o *ConnOptions) *packet.Connect {
	return mqttc.ConnectPacket(&o.Client, o.version())
}

// refused returns the client commands' error for a refused CONNACK.
func refused(ca *packet.Connack, v packet.Version) error {
	code := byte(ca.ReasonCode)
	reason := ""
	if v == packet.V5 {
		reason = string(ca.Properties.ReasonString)
		if reason == "" {
			reason = mqttc.ReasonText(code)
		}
	} else {
		reason = mqttc.ReturnCodeText(code)
	}
	return &mqttc.RefusedError{Op: "connect", Code: code, Reason: reason}
}

// handshake sends CONNECT and waits for CONNACK, honouring ctx's deadline.
func (c *Conn) handshake(ctx context.Context, o *ConnOptions) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.nc.SetDeadline(dl)
		defer c.nc.SetDeadline(time.Time{})
	}
	if err := c.WritePacket(connectPacket(o)); err != nil {
		return err
	}
	if err := c.Flush(); err != nil {
		return err
	}
	ca, err := readConnack(c.r, c.version, &c.rbuf)
	if err != nil {
		return err
	}
	c.receiveMax = 65535
	if ca.Properties.Has(packet.PropReceiveMaximum) && ca.Properties.ReceiveMaximum > 0 {
		c.receiveMax = ca.Properties.ReceiveMaximum
	}
	c.keepAlive = serverKeepAlive(ca)
	return nil
}

// ServerKeepAlive is the keep alive the broker set in its CONNACK (MQTT 5 Server Keep
// Alive), which the client must use instead of its own; 0 when it set none.
func (c *Conn) ServerKeepAlive() uint16 { return c.keepAlive }

// serverKeepAlive returns ca's Server Keep Alive, 0 when it has none.
func serverKeepAlive(ca *packet.Connack) uint16 {
	if ca.Properties.Has(packet.PropServerKeepAlive) {
		return ca.Properties.ServerKeepAlive
	}
	return 0
}

// ReceiveMaximum is how many QoS 1 and 2 messages the broker accepts in flight from
// this connection (its CONNACK's Receive Maximum; 65535 when it sets none).
func (c *Conn) ReceiveMaximum() int { return int(c.receiveMax) }

func readConnack(r *bufio.Reader, v packet.Version, buf *[]byte) (*packet.Connack, error) {
	h, body, nb, err := packet.ReadRaw(r, 0, *buf)
	*buf = nb
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("broker closed the connection before CONNACK")
		}
		return nil, fmt.Errorf("read CONNACK: %w", err)
	}
	if h.Type != packet.CONNACK {
		return nil, fmt.Errorf("expected CONNACK, got %v", h.Type)
	}
	var ca packet.Connack
	if err := ca.DecodeInto(h.First(), body, v); err != nil {
		return nil, fmt.Errorf("decode CONNACK: %w", err)
	}
	if ca.ReasonCode != 0 {
		return nil, refused(&ca, v)
	}
	return &ca, nil
}

// Version returns the connection's protocol version.
func (c *Conn) Version() packet.Version { return c.version }

// WritePacket encodes p into the write buffer; call Flush to send it.
func (c *Conn) WritePacket(p packet.Packet) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(p)
}

func (c *Conn) writeLocked(p packet.Packet) error {
	var err error
	c.wbuf, err = p.AppendTo(c.wbuf[:0], c.version)
	if err != nil {
		return fmt.Errorf("encode %v: %w", p.Type(), err)
	}
	_, err = c.w.Write(c.wbuf)
	return err
}

// Publish encodes a PUBLISH into the write buffer; call Flush to send it.
func (c *Conn) Publish(p *packet.Publish) error {
	return c.WritePacket(p)
}

// Ack buffers a PUBACK (or PUBREC/PUBREL/PUBCOMP, by t) for packet id.
func (c *Conn) Ack(t packet.Type, id uint16) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ack = packet.Ack{PacketType: t, PacketID: id}
	return c.writeLocked(&c.ack)
}

// Flush sends everything buffered.
func (c *Conn) Flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.w.Flush()
}

// Buffered returns the number of received bytes already buffered, so a read loop can
// flush its acknowledgements only when it is about to block.
func (c *Conn) Buffered() int { return c.r.Buffered() }

// ReadRaw reads the next packet. The body aliases an internal buffer that the next
// ReadRaw reuses.
func (c *Conn) ReadRaw() (packet.FixedHeader, []byte, error) {
	h, body, buf, err := packet.ReadRaw(c.r, 0, c.rbuf)
	c.rbuf = buf
	return h, body, err
}

// Subscribe subscribes to filter and waits for the SUBACK. It must be called before any
// other goroutine reads from c. A failure reason code in SUBACK is an error.
func (c *Conn) Subscribe(ctx context.Context, filter string, qos byte) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.nc.SetReadDeadline(dl)
		defer c.nc.SetReadDeadline(time.Time{})
	}
	const id = 1
	sub := &packet.Subscribe{PacketID: id, Subscriptions: []packet.Subscription{{Filter: filter, QoS: qos}}}
	if err := c.WritePacket(sub); err != nil {
		return err
	}
	if err := c.Flush(); err != nil {
		return err
	}
	for {
		h, body, err := c.ReadRaw()
		if err != nil {
			return fmt.Errorf("subscribe %q: %w", filter, err)
		}
		if h.Type != packet.SUBACK {
			continue // retained messages or acks may precede it
		}
		var sa packet.Suback
		if err := sa.DecodeInto(h.First(), body, c.version); err != nil {
			return fmt.Errorf("subscribe %q: decode SUBACK: %w", filter, err)
		}
		if sa.PacketID != id || len(sa.ReasonCodes) != 1 {
			return fmt.Errorf("subscribe %q: unexpected SUBACK (id %d, %d codes)", filter, sa.PacketID, len(sa.ReasonCodes))
		}
		if rc := sa.ReasonCodes[0]; rc >= 0x80 {
			reason := "failure for " + strconv.Quote(filter)
			if c.version == packet.V5 {
				reason = mqttc.ReasonText(byte(rc)) + " for " + strconv.Quote(filter)
			}
			return &mqttc.RefusedError{Op: "subscribe", Code: byte(rc), Reason: reason}
		}
		return nil
	}
}

// Disconnect sends DISCONNECT and closes the connection.
func (c *Conn) Disconnect() error {
	c.wmu.Lock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	err := c.writeLocked(&packet.Disconnect{})
	if err == nil {
		err = c.w.Flush()
	}
	c.wmu.Unlock()
	if cerr := c.nc.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close closes the connection without DISCONNECT; a blocked ReadRaw returns an error.
func (c *Conn) Close() error { return c.nc.Close() }

// handshakeOnly dials addr, completes CONNECT/CONNACK with minimal buffers and returns
// the bare socket: the cheapest way to hold many idle connections.
func handshakeOnly(ctx context.Context, addr string, o *ConnOptions, scratch *[]byte, keepAlive *uint16) (net.Conn, error) {
	nc, err := o.dial(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	b, err := connectPacket(o).AppendTo((*scratch)[:0], o.version())
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("encode CONNECT: %w", err)
	}
	*scratch = b
	if _, err := nc.Write(b); err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	r := bufio.NewReaderSize(nc, 16)
	ca, err := readConnack(r, o.version(), scratch)
	if err != nil {
		nc.Close()
		var refused *mqttc.RefusedError
		if errors.As(err, &refused) {
			return nil, err
		}
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	*keepAlive = serverKeepAlive(ca)
	_ = nc.SetDeadline(time.Time{})
	return nc, nil
}

// ProtocolVersion returns the protocol version the options select (3.1.1 by default).
func (o *ConnOptions) ProtocolVersion() packet.Version { return o.version() }
