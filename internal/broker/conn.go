package broker

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mqttx/mqttx/internal/packet"
)

// Pools keep idle connections small: a connection holds a read buffer only
// while it is busy and a write buffer only while its writer runs.
var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 16384) }}
)

// outItem is one packet waiting to be written. Shared PUBLISH bytes are
// written with this subscriber's packet identifier and DUP flag patched in;
// small control packets live inline in ctl.
type outItem struct {
	buf    []byte
	pidOff int32
	pid    uint16
	dup    bool
	qos0   bool
	close  bool // close the connection once this is written
	alias  bool // a PUBLISH that may get a topic alias (see alias.go)
	n      uint8
	ctl    [5]byte
}

// prefixReader serves b, then reads from r.
type prefixReader struct {
	b []byte
	r io.Reader
}

func (p *prefixReader) Read(dst []byte) (int, error) {
	if len(p.b) > 0 {
		n := copy(dst, p.b)
		p.b = p.b[n:]
		return n, nil
	}
	return p.r.Read(dst)
}

// conn is one network connection of a client.
type conn struct {
	srv    *Server
	nc     net.Conn
	raw    syscall.RawConn // plain sockets only: lets publishers write inline
	remote string          // for events; empty without Options.OnEvent

	prev, next *conn // in Server.conns, guarded by Server.mu

	// Set while handling CONNECT, read-only afterwards.
	sess      *session
	version   packet.Version
	clientID  string
	keepAlive uint16
	recvMax   uint16 // the client's Receive Maximum
	maxOut    uint32 // the client's Maximum Packet Size, 0 for none
	aliasMax  uint16 // topic aliases we may use towards the client, 0 for none
	ready     atomic.Bool

	// Guarded by sess.mu.
	will       *message
	willDelay  uint32
	normalDisc bool

	// Reader state, reader goroutine only.
	br       *bufio.Reader
	pre      prefixReader
	small    [64]byte
	buf      []byte
	inPub    *packet.Publish // allocated on the first PUBLISH
	ack      *packet.Ack
	aliases  map[uint16]string
	lastRead int64
	lastDL   int64
	now      int64 // when the packet being handled was read
	burst    int
	// idleSince is when the reader last ran out of input; shortWaits
	// counts the recent waits shorter than 10 ms (up to 2).
	idleSince  int64
	shortWaits uint8
	// waitHere lets the first goroutine park in place once: its stack is
	// still the initial one after CONNECT, so a fresh goroutine would cost
	// a goroutine start (and often a thread wake-up) per connection for
	// nothing.
	waitHere bool
	// onLoop is set while the event loop runs this connection's CONNECT;
	// later holds that CONNECT's attach when the loop must hand it over.
	onLoop bool
	later  *laterAttach

	// Session takeover: a new connection for the same client id sets
	// takeover and a short read deadline, then waits (bounded) for the
	// reader to handle what already arrived and exit (see drainForTakeover).
	takeover atomic.Bool
	exited   bool          // reader done, guarded by qmu
	exitCh   chan struct{} // made by a waiting taker, guarded by qmu

	// Outbound queue.
	qmu         sync.Mutex
	q, spare    []outItem
	writing     bool
	closed      bool
	closeQueued bool
	closeOnce   sync.Once
	lastWrite   int64 // unix ns of the last write, guarded by qmu

	// Outbound topic aliases, used by the holder of the writer role only.
	outAlias map[string]uint16
	aliasBuf []byte
}

// protoErr is a protocol violation answered (MQTT 5) with a DISCONNECT
// carrying code before the connection is closed.
type protoErr struct{ code packet.ReasonCode }

func (e protoErr) Error() string { return e.code.String() }

func (c *conn) closeNow() {
	c.closeOnce.Do(func() { c.nc.Close() })
}

// enqueue queues it for the writer. When the queue is full, QoS 0 messages
// are dropped first; if that does not make room the client is too slow and
// is disconnected.
func (c *conn) enqueue(it outItem) bool { return c.enqueueFrom(it, false) }

// reply queues a packet from c's own reader goroutine. It does not start
// the writer: the reader writes its replies itself once it has no more
// input buffered (flushReplies), so a request and its answer cost no
// goroutine wake-up, and a burst of requests gets one write for all.
func (c *conn) reply(it outItem) bool { return c.enqueueFrom(it, true) }

func (c *conn) enqueueFrom(it outItem, own bool) bool {
	c.qmu.Lock()
	if c.closed {
		c.qmu.Unlock()
		return false
	}
	if !own && !c.writing && len(c.q) == 0 && c.raw != nil && !it.close {
		// Nothing queued, no writer, and nothing written lately (light
		// traffic): try to write at once without blocking, which saves
		// waking a writer goroutine per message. Busy connections go
		// through the writer, which batches.
		if now := time.Now().UnixNano(); now-c.lastWrite > int64(500*time.Microsecond) {
			c.lastWrite = now
			c.writing = true
			c.qmu.Unlock()
			c.writeInline(&it)
			return true
		}
	}
	if len(c.q) >= c.srv.opts.MaxOutboundQueue {
		if it.qos0 {
			c.qmu.Unlock()
			return false
		}
		kept := c.q[:0]
		for _, x := range c.q {
			if !x.qos0 {
				kept = append(kept, x)
			}
		}
		clear(c.q[len(kept):])
		c.q = kept
		if len(c.q) >= c.srv.opts.MaxOutboundQueue {
			c.closed = true
			c.qmu.Unlock()
			c.srv.log.Debug("broker: outbound queue full, disconnecting", "client", c.clientID)
			c.closeNow()
			return false
		}
	}
	c.q = append(c.q, it)
	if it.close {
		c.closed = true
		c.closeQueued = true
	}
	if !c.writing && (!own || it.close) {
		c.writing = true
		c.srv.wg.Add(1)
		go c.writeLoop()
	}
	c.qmu.Unlock()
	return true
}

var inlinePool = sync.Pool{New: func() any { return new([]byte) }}

// writeInline writes it with one non-blocking attempt; the caller has
// claimed the writer role. What does not fit in the socket buffer goes to
// the writer goroutine ahead of anything queued meanwhile.
func (c *conn) writeInline(it *outItem) {
	bp := inlinePool.Get().(*[]byte)
	var b []byte
	if it.alias {
		b = c.appendAliased((*bp)[:0], it)
	} else {
		b = appendItem((*bp)[:0], it)
	}
	n, err := tryWrite(c.raw, b)
	c.qmu.Lock()
	switch {
	case err != nil:
		c.closed = true
		c.writing = false
		c.qmu.Unlock()
		c.closeNow()
	case n < len(b):
		rest := *it
		if n > 0 || it.alias {
			// An aliased packet is kept as written: its alias is taken.
			rest = outItem{buf: append([]byte(nil), b[n:]...)}
		}
		c.q = append(c.q, outItem{})
		copy(c.q[1:], c.q)
		c.q[0] = rest
		c.srv.wg.Add(1)
		go c.writeLoop()
		c.qmu.Unlock()
	case len(c.q) > 0:
		c.srv.wg.Add(1)
		go c.writeLoop()
		c.qmu.Unlock()
	default:
		c.writing = false
		c.qmu.Unlock()
	}
	if cap(b) <= 64<<10 {
		*bp = b[:0]
		inlinePool.Put(bp)
	}
}

// appendItem appends the bytes of it, with its packet identifier and DUP
// flag patched in.
func appendItem(dst []byte, it *outItem) []byte {
	if it.buf == nil {
		return append(dst, it.ctl[:it.n]...)
	}
	b := it.buf
	if it.pidOff == 0 {
		return append(dst, b...)
	}
	first := b[0]
	if it.dup {
		first |= 0x08
	}
	dst = append(dst, first)
	dst = append(dst, b[1:it.pidOff]...)
	dst = append(dst, byte(it.pid>>8), byte(it.pid))
	return append(dst, b[it.pidOff+2:]...)
}

// flushReplies writes what the reader queued, on the reader goroutine,
// unless a writer is already running or more input is waiting (then the
// replies go out with the answers to that input).
func (c *conn) flushReplies() {
	c.qmu.Lock()
	if c.writing || len(c.q) == 0 || c.br.Buffered() >= 5 {
		c.qmu.Unlock()
		return
	}
	c.writing = true
	c.srv.wg.Add(1)
	c.qmu.Unlock()
	c.writeLoop()
}

// writeLoop drains the queue into one buffered writer, flushing only when
// the queue is empty, and exits when there is nothing left to write.
func (c *conn) writeLoop() {
	defer c.srv.wg.Done()
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(c.nc)
	var err error
	for {
		c.qmu.Lock()
		if len(c.q) == 0 {
			if err == nil && bw.Buffered() > 0 {
				c.qmu.Unlock()
				if err = bw.Flush(); err != nil {
					c.shut()
				}
				continue
			}
			c.writing = false
			c.lastWrite = time.Now().UnixNano()
			c.qmu.Unlock()
			break
		}
		batch := c.q
		c.q = c.spare[:0]
		c.spare = nil
		c.qmu.Unlock()
		closeAfter := false
		for i := range batch {
			if err == nil {
				if batch[i].alias {
					c.aliasBuf = c.appendAliased(c.aliasBuf[:0], &batch[i])
					_, err = bw.Write(c.aliasBuf)
					if cap(c.aliasBuf) > 64<<10 {
						c.aliasBuf = nil // do not keep a large message's buffer
					}
				} else {
					err = writeItem(bw, &batch[i])
				}
			}
			closeAfter = closeAfter || batch[i].close
		}
		clear(batch)
		c.qmu.Lock()
		c.spare = batch[:0]
		c.qmu.Unlock()
		if closeAfter {
			if err == nil {
				err = bw.Flush()
			}
			c.closeNow()
			if err == nil {
				err = net.ErrClosed
			}
		}
		if err != nil {
			c.shut()
		}
	}
	bw.Reset(nil)
	writerPool.Put(bw)
}

// shut marks the connection closed and closes it.
func (c *conn) shut() {
	c.qmu.Lock()
	c.closed = true
	c.qmu.Unlock()
	c.closeNow()
}

func writeItem(bw *bufio.Writer, it *outItem) error {
	if it.buf == nil {
		_, err := bw.Write(it.ctl[:it.n])
		return err
	}
	b := it.buf
	if it.pidOff == 0 {
		_, err := bw.Write(b)
		return err
	}
	first := b[0]
	if it.dup {
		first |= 0x08
	}
	bw.WriteByte(first)
	bw.Write(b[1:it.pidOff])
	bw.WriteByte(byte(it.pid >> 8))
	bw.WriteByte(byte(it.pid))
	_, err := bw.Write(b[it.pidOff+2:])
	return err
}

func ackItem(t packet.Type, pid uint16, rc packet.ReasonCode, v packet.Version) outItem {
	var it outItem
	it.ctl[0] = byte(t) << 4
	if t == packet.PUBREL {
		it.ctl[0] |= 0x02
	}
	it.ctl[2], it.ctl[3] = byte(pid>>8), byte(pid)
	if v == packet.V5 && rc != packet.Success {
		it.ctl[1], it.ctl[4], it.n = 3, byte(rc), 5
	} else {
		it.ctl[1], it.n = 2, 4
	}
	return it
}

// sendPacket queues an encoded control packet.
func (c *conn) sendPacket(p packet.Packet) {
	b, err := p.AppendTo(nil, c.version)
	if err != nil {
		c.srv.log.Error("broker: encode", "type", p.Type(), "err", err)
		return
	}
	c.reply(outItem{buf: b})
}

// disconnect closes the connection, telling MQTT 5 clients why first.
func (c *conn) disconnect(code packet.ReasonCode) {
	if !c.ready.Load() || c.version != packet.V5 {
		c.shut()
		return
	}
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	it := outItem{close: true, n: 3}
	it.ctl[0], it.ctl[1], it.ctl[2] = byte(packet.DISCONNECT)<<4, 1, byte(code)
	if !c.enqueue(it) {
		c.closeNow()
	}
}

func (c *conn) serve() {
	c.start()
	c.afterConnect(c.connect())
}

// start sets up the reader of a new connection.
func (c *conn) start() {
	if c.srv.opts.OnEvent != nil {
		// Only events report the remote address: without them it costs
		// a string per connection for nothing.
		if a := c.nc.RemoteAddr(); a != nil {
			c.remote = a.String()
		}
	}
	c.pre.r = c.nc
	if canTryWrite {
		if sc, ok := c.nc.(syscall.Conn); ok {
			if rc, err := sc.SyscallConn(); err == nil {
				c.raw = rc
			}
		}
	}
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(&c.pre)
}

// afterConnect writes CONNACK and goes on reading, or closes a refused or
// failed connection (nil ack).
func (c *conn) afterConnect(ack []byte) {
	if ack == nil {
		c.refused()
		return
	}
	c.writeConnack(ack)
	if c.keepAlive == 0 {
		// No keep alive: the CONNECT deadline ends here (a client with
		// one gets its deadline from readLoop).
		c.nc.SetReadDeadline(time.Time{})
	}
	c.runConnected()
}

// runConnected reads the packets after CONNECT.
func (c *conn) runConnected() {
	c.waitHere = true
	c.run(false)
}

// refused ends a connection that never connected.
func (c *conn) refused() {
	c.shut()
	c.exit()
}

// attachLater finishes a CONNECT that the event loop handed over because
// it takes over a session (see attachAndAck).
func (c *conn) attachLater() {
	l := c.later
	c.later = nil
	c.afterConnect(c.attachAndAck(l.clean, l.expiry, &l.ack))
}

// releaseInput gives the reader's buffers back while it waits.
func (c *conn) releaseInput() {
	if c.br != nil {
		c.br.Reset(nil)
		readerPool.Put(c.br)
		c.br = nil
	}
	if cap(c.buf) > 1024 {
		c.buf = nil
	}
}

// releaseWriter ends the reader's hold on the writer role after CONNACK,
// starting the writer for what was queued meanwhile.
func (c *conn) releaseWriter() {
	c.qmu.Lock()
	c.writing = false
	c.lastWrite = time.Now().UnixNano()
	if len(c.q) > 0 {
		c.writing = true
		c.srv.wg.Add(1)
		go c.writeLoop()
	}
	c.qmu.Unlock()
}

// run reads and handles packets. It returns early, leaving the connection
// to a new goroutine, when the client goes quiet (see park).
func (c *conn) run(waited bool) {
	err := c.readLoop(waited)
	if err == errParked {
		return
	}
	if err == errWaitHere {
		c.park()
		return
	}
	if err != nil && c.takeover.Load() && isTimeout(err) {
		err = errTakenOver
	}
	c.finish(err)
	c.exit()
}

// park waits for the next input of a quiet client on a fresh goroutine.
// The reader goroutine's stack has grown (decoding CONNECT or SUBSCRIBE
// needs more than the initial 2 KiB) and would never shrink back while it
// waits, so it ends instead: an idle connection costs one small stack.
func (c *conn) park() {
	n, err := c.nc.Read(c.small[:])
	c.resume(n, err)
}

// resume continues park once input arrived, in a frame of its own so the
// parked goroutine's stack stays small.
//
//go:noinline
func (c *conn) resume(n int, err error) {
	c.br = readerPool.Get().(*bufio.Reader)
	c.pre.b = c.small[:n]
	c.br.Reset(&c.pre)
	if err != nil && n == 0 {
		if c.takeover.Load() && isTimeout(err) {
			err = errTakenOver
		}
		c.finish(err)
		c.exit()
		return
	}
	c.run(true)
}

// errParked tells run that the reader continues on a parked goroutine.
var errParked = errors.New("parked")

// errWaitHere tells run to park on the same goroutine (see conn.waitHere).
var errWaitHere = errors.New("wait here")

// exit releases the reader's resources once the connection is finished.
func (c *conn) exit() {
	if c.br != nil {
		c.br.Reset(nil)
		readerPool.Put(c.br)
		c.br = nil
	}
	c.qmu.Lock()
	c.exited = true
	if c.exitCh != nil {
		close(c.exitCh)
	}
	c.qmu.Unlock()
	c.srv.removeConn(c)
	c.srv.wg.Done()
}

// errTakenOver ends a reader stopped by drainForTakeover.
var errTakenOver = errors.New("session taken over")

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// takeoverGrace is how long a connection being taken over keeps reading
// input that already arrived; takeoverWait bounds the wait for its reader.
const (
	takeoverGrace = 5 * time.Millisecond
	takeoverWait  = 50 * time.Millisecond
)

// drainForTakeover lets c's reader handle the input that already arrived
// (an acknowledgement and DISCONNECT written just before the client
// reconnected) and waits, up to takeoverWait, for it to exit, so the new
// connection resumes the session after them.
func (c *conn) drainForTakeover() {
	c.takeover.Store(true)
	c.nc.SetReadDeadline(time.Now().Add(takeoverGrace))
	c.qmu.Lock()
	if c.exited {
		c.qmu.Unlock()
		return
	}
	if c.exitCh == nil {
		c.exitCh = make(chan struct{})
	}
	ch := c.exitCh
	c.qmu.Unlock()
	t := time.NewTimer(takeoverWait)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

// keepAliveDeadline is the read deadline for a client with a keep alive,
// from now (unix ns): one and a half times the keep alive [MQTT-3.1.2-24],
// and a second more, as readLoop moves it at most once a second.
func (c *conn) keepAliveDeadline(now int64) time.Time {
	return time.Unix(0, now).Add(time.Duration(c.keepAlive)*1500*time.Millisecond + time.Second)
}

func (c *conn) maxIn() uint32 { return c.srv.opts.MaxPacketSize }

// readLoop reads and handles packets until the connection ends; nil means a
// DISCONNECT from the client.
func (c *conn) readLoop(waited bool) error {
	for {
		// One clock reading per packet: it stamps the packet just read (for
		// expiry) and measures the gap since the previous one.
		now := time.Now().UnixNano()
		if c.keepAlive > 0 && now-c.lastDL > int64(time.Second) && !c.takeover.Load() {
			c.nc.SetReadDeadline(c.keepAliveDeadline(now))
			c.lastDL = now
			if c.takeover.Load() {
				// A taker set its short deadline meanwhile: restore it.
				c.nc.SetReadDeadline(time.Now().Add(takeoverGrace))
			}
		}
		// A connection that is quiet, or sent only a few packets since it
		// last waited, gives its buffers back and waits on a fresh
		// goroutine with a small stack (park), unless it sends steadily; a
		// busy one keeps them to read many packets per system call.
		if !waited && c.br.Buffered() == 0 && len(c.pre.b) == 0 && (c.burst < 8 || now-c.lastRead > int64(5*time.Millisecond)) {
			c.burst = 0
			c.idleSince = now
			if c.shortWaits >= 2 {
				// A steady client (two short waits in a row) waits here,
				// reading straight into its buffer: handing over costs a
				// goroutine start, and often a thread wake-up, per packet.
				waited = true
			} else {
				c.br.Reset(nil)
				readerPool.Put(c.br)
				c.br = nil
				if cap(c.buf) > 1024 {
					c.buf = nil
				}
				if c.waitHere {
					c.waitHere = false
					return errWaitHere
				}
				go c.park()
				return errParked
			}
		}
		// Refuse a bad first byte before reading (and allocating) a body
		// that may be large.
		first, err := c.br.Peek(1)
		if err != nil {
			return err
		}
		if code := checkFirst(first[0], c.version); code != 0 {
			return protoErr{code}
		}
		before := c.br.Buffered()
		h, body, buf, err := readPacket(c.br, c.maxIn(), c.buf)
		c.buf = buf
		if err != nil {
			return err
		}
		if waited || before < h.PacketSize() {
			// readPacket may have blocked: read the clock again.
			now = time.Now().UnixNano()
		}
		if waited {
			waited = false
			if now-c.idleSince < int64(10*time.Millisecond) {
				c.shortWaits = min(c.shortWaits+1, 2)
			} else {
				c.shortWaits = 0
			}
		}
		c.now = now
		c.lastRead = now
		c.burst++
		if err := c.handle(h, body); err != nil {
			return err
		}
		c.flushReplies()
		if c.normalDisc {
			return nil
		}
	}
}

// The decoders below keep their packet (with its properties) out of
// handle's frame: a small frame lets a parked goroutine answer a PINGREQ
// or DISCONNECT without growing its stack.

//go:noinline
func (c *conn) decodeSubscribe(h packet.FixedHeader, body []byte) error {
	var p packet.Subscribe
	if err := p.DecodeInto(h.First(), body, c.version); err != nil {
		return err
	}
	return c.handleSubscribe(&p)
}

//go:noinline
func (c *conn) decodeUnsubscribe(h packet.FixedHeader, body []byte) error {
	var p packet.Unsubscribe
	if err := p.DecodeInto(h.First(), body, c.version); err != nil {
		return err
	}
	c.handleUnsubscribe(&p)
	return nil
}

//go:noinline
func (c *conn) decodeDisconnect(h packet.FixedHeader, body []byte) error {
	// Pooled, not on the stack: DISCONNECT usually comes to a parked
	// goroutine, whose stack is small.
	p := disconnectPool.Get().(*packet.Disconnect)
	defer disconnectPool.Put(p)
	if err := p.DecodeInto(h.First(), body, c.version); err != nil {
		return err
	}
	return c.handleDisconnect(p)
}

var disconnectPool = sync.Pool{New: func() any { return new(packet.Disconnect) }}

func (c *conn) handle(h packet.FixedHeader, body []byte) error {
	switch h.Type {
	case packet.PUBLISH:
		return c.handlePublish(h, body)
	case packet.PUBACK, packet.PUBREC, packet.PUBREL, packet.PUBCOMP:
		if c.ack == nil {
			c.ack = new(packet.Ack)
		}
		*c.ack = packet.Ack{PacketType: h.Type}
		if err := c.ack.DecodeInto(h.First(), body, c.version); err != nil {
			return err
		}
		return c.handleAck(c.ack)
	case packet.SUBSCRIBE:
		return c.decodeSubscribe(h, body)
	case packet.UNSUBSCRIBE:
		return c.decodeUnsubscribe(h, body)
	case packet.PINGREQ:
		var p packet.Pingreq
		if err := p.DecodeInto(h.First(), body, c.version); err != nil {
			return err
		}
		it := outItem{n: 2}
		it.ctl[0] = byte(packet.PINGRESP) << 4
		c.reply(it)
		return nil
	case packet.DISCONNECT:
		return c.decodeDisconnect(h, body)
	case packet.CONNECT:
		// A second CONNECT is a protocol error [MQTT-3.1.0-2].
		return protoErr{packet.ProtocolError}
	case packet.AUTH:
		// Enhanced authentication was not negotiated in CONNECT.
		return protoErr{packet.ProtocolError}
	}
	return protoErr{packet.ProtocolError}
}

// finish ends the connection: protocol errors are answered, the will is
// published or scheduled, and the session is detached or ended.
func (c *conn) finish(readErr error) {
	reason := "client disconnected"
	if readErr == errTakenOver {
		// The new connection takes the session over and closes this one
		// (with DISCONNECT 0x8E for MQTT 5) once it has attached.
		c.emitDisconnected(readErr.Error())
		return
	}
	if readErr != nil {
		reason = c.readFailed(readErr)
	}
	c.qmu.Lock()
	c.closed = true
	queued := c.closeQueued
	c.qmu.Unlock()
	if !queued {
		c.closeNow()
	}

	srv := c.srv
	x := c.sess
	var willNow *message
	x.mu.Lock()
	if x.conn == c {
		x.conn = nil
		x.online.v.Store(false)
		srv.mu.Lock()
		closing := srv.closing
		srv.mu.Unlock()
		if c.will != nil && !closing {
			w := c.will
			c.will = nil
			delay := min(c.willDelay, x.expiry)
			if delay == 0 {
				willNow = w
			} else {
				x.will = w
				x.willTimer = time.AfterFunc(time.Duration(delay)*time.Second, func() {
					x.mu.Lock()
					if x.will != w {
						x.mu.Unlock()
						return
					}
					x.will = nil
					x.mu.Unlock()
					srv.publishWill(w, x.id)
				})
			}
		}
		switch {
		case x.expiry == 0:
			srv.endSessionLocked(x)
		case x.expiry != expiryNever && !closing:
			x.expTimer = time.AfterFunc(time.Duration(x.expiry)*time.Second, func() {
				x.mu.Lock()
				if x.conn != nil || x.ended {
					x.mu.Unlock()
					return
				}
				w := x.will
				x.will = nil
				srv.endSessionLocked(x)
				x.mu.Unlock()
				if w != nil {
					srv.publishWill(w, x.id)
				}
			})
		}
	}
	x.mu.Unlock()
	if willNow != nil {
		srv.publishWill(willNow, x.id)
	}
	c.emitDisconnected(reason)
}

// emitDisconnected reports the end of the connection, in a frame of its
// own so finish's frame stays small.
//
//go:noinline
func (c *conn) emitDisconnected(reason string) {
	if c.srv.opts.OnEvent == nil {
		return
	}
	c.srv.emit(Event{Kind: EventDisconnected, ClientID: c.clientID, Remote: c.remote, Version: byte(c.version), Reason: reason})
}

// readFailed answers a read or protocol error (with DISCONNECT when the
// protocol has one for it) and returns why the connection ends.
//
//go:noinline
func (c *conn) readFailed(readErr error) (reason string) {
	reason = readErr.Error()
	code := packet.CodeOf(readErr)
	var pe protoErr
	if errors.As(readErr, &pe) {
		code = pe.code
	}
	var ne net.Error
	switch {
	case errors.As(readErr, &ne) && ne.Timeout():
		reason = "keep alive timeout"
		c.disconnect(packet.KeepAliveTimeout)
	case errors.Is(readErr, io.EOF), errors.Is(readErr, net.ErrClosed), errors.Is(readErr, io.ErrUnexpectedEOF):
		reason = "connection closed"
	case code >= 0x80:
		c.disconnect(code)
	}
	return reason
}

// publishWill routes a will message; its expiry starts now.
func (s *Server) publishWill(w *message, clientID string) {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return
	}
	if w.expiresAt != 0 {
		// expiresAt holds the interval in seconds until published.
		m := *w
		m.expiresAt = time.Now().UnixNano() + w.expiresAt*int64(time.Second)
		w = &m
	}
	s.emit(Event{Kind: EventWill, ClientID: clientID, Topic: w.topic, QoS: w.qos})
	if w.retain {
		s.retained.set(w)
	}
	s.route(w)
}

// checkFirst checks the type and flags of a packet a client sent
// [MQTT-2.2.2-1] [MQTT-2.2.2-2] [MQTT-3.3.1-2] [MQTT-3.3.1-4]; it returns 0
// when they are acceptable.
func checkFirst(b byte, v packet.Version) packet.ReasonCode {
	t, flags := packet.Type(b>>4), b&0x0F
	switch t {
	case packet.PUBLISH:
		qos := flags >> 1 & 3
		if qos == 3 || (qos == 0 && flags&0x08 != 0) {
			return packet.MalformedPacket
		}
		return 0
	case packet.PUBREL, packet.SUBSCRIBE, packet.UNSUBSCRIBE:
		if flags != 0x02 {
			return packet.MalformedPacket
		}
		return 0
	case packet.CONNECT, packet.PUBACK, packet.PUBREC, packet.PUBCOMP, packet.PINGREQ, packet.DISCONNECT:
		if flags != 0 {
			return packet.MalformedPacket
		}
		return 0
	case packet.AUTH:
		if v != packet.V5 || flags != 0 {
			return packet.MalformedPacket
		}
		return 0
	case packet.CONNACK, packet.SUBACK, packet.UNSUBACK, packet.PINGRESP:
		return packet.ProtocolError // server to client only
	}
	return packet.MalformedPacket // reserved type 0
}

// bodyStep is how much a packet body larger than the reader's buffer grows
// at a time: memory follows the bytes that actually arrived, not the
// remaining length a client declared.
const bodyStep = 64 << 10

// readPacket reads one packet like packet.ReadRaw, but a body larger than
// buf and bodyStep is read in growing steps, so a client declaring a huge
// remaining length and sending little costs little memory.
func readPacket(r *bufio.Reader, maxSize uint32, buf []byte) (h packet.FixedHeader, body, newBuf []byte, err error) {
	h, err = packet.ReadFixedHeader(r)
	if err != nil {
		return h, nil, buf, err
	}
	if maxSize > 0 && uint64(h.PacketSize()) > uint64(maxSize) {
		return h, nil, buf, &packet.Error{Code: packet.PacketTooLarge, Msg: "packet of " + strconv.Itoa(h.PacketSize()) + " bytes exceeds the maximum packet size " + strconv.FormatUint(uint64(maxSize), 10)}
	}
	n := h.Remaining
	if cap(buf) >= n || n <= bodyStep {
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		body = buf[:n]
		if _, err = io.ReadFull(r, body); err != nil {
			return h, nil, buf, unexpected(err)
		}
		return h, body, buf, nil
	}
	// Grow by doubling from bodyStep: at most twice what arrived is held.
	body = make([]byte, 0, bodyStep)
	for len(body) < n {
		if len(body) == cap(body) {
			nb := make([]byte, len(body), min(2*cap(body), n))
			copy(nb, body)
			body = nb
		}
		m, err := io.ReadFull(r, body[len(body):cap(body)])
		body = body[:len(body)+m]
		if err != nil {
			return h, nil, buf, unexpected(err)
		}
	}
	// A body this large is not kept for the next packet.
	return h, body, buf, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
