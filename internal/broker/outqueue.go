package broker

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/mqttx/mqttx/internal/packet"
)

// writerPool keeps idle connections small: a connection holds a write buffer
// only while its writer runs.
var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 16384) }}

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

// enqueue queues it for the writer. When the queue is full (in messages or
// bytes), QoS 0 messages are dropped first; if that does not make room the
// client is too slow (see enqueueFrom).
func (c *conn) enqueue(it outItem) bool { return c.enqueueFrom(it, false) == enqOK }

// reply queues a packet from c's own reader goroutine. It does not start
// the writer: the reader writes its replies itself once it has no more
// input buffered (flushReplies), so a request and its answer cost no
// goroutine wake-up, and a burst of requests gets one write for all.
func (c *conn) reply(it outItem) bool { return c.enqueueFrom(it, true) == enqOK }

// What enqueueFrom did with an item.
const (
	enqOK      = iota
	enqClosed  // the connection is closing: nothing more is written
	enqDropped // a QoS 0 message dropped for want of room
)

// partialMark in n (unused when buf is set) marks the rest of a packet
// partly written: it is never dropped, or the stream would be corrupt.
const partialMark = 1

func (it *outItem) partial() bool { return it.buf != nil && it.n == partialMark }

// size is the number of bytes it takes in the queue.
func (it *outItem) size() int {
	if it.buf != nil {
		return len(it.buf)
	}
	return int(it.n)
}

// inlineGap is how long after its last write a connection with nothing
// queued gets a message written at once by its sender (writeInline) rather
// than by a writer goroutine. Messages closer together than a writer's
// round (a wake-up and a write) batch in its queue; further apart, each
// would wake a writer of its own, and the inline write saves that.
const inlineGap = 100 * time.Microsecond

// inlineBurst is how many messages closer together than inlineGap are
// still written inline after a pause: a light stream's sender catching up
// sends a few at once, each of which would otherwise start a writer; a
// heavy stream soon has them go to the writer, until its next pause.
const inlineBurst = 3

// enqueueFrom queues it (own: see reply). A QoS 0 message that does not fit
// within the queue's bounds (MaxOutboundQueue messages, MaxOutboundBytes) is
// dropped, and so are the QoS 0 messages already queued when another packet
// needs their room. QoS 1/2 messages are kept within the bytes bound by
// their senders (see conn.full); acknowledgements and the like always go
// in. A queue full of messages that cannot be dropped means a client that
// does not read: it is disconnected.
func (c *conn) enqueueFrom(it outItem, own bool) int {
	c.qmu.Lock()
	if c.closed {
		c.qmu.Unlock()
		return enqClosed
	}
	if !own && !c.writing && len(c.q) == 0 && c.raw != nil && !it.close {
		// Nothing queued, no writer, and nothing written lately (light
		// traffic): try to write at once without blocking, which saves
		// waking a writer goroutine per message. Busy connections go
		// through the writer, which batches.
		now := time.Now().UnixNano()
		if now-c.lastWrite > int64(inlineGap) {
			c.quick = 0
		} else if c.quick < inlineBurst {
			c.quick++
		} else {
			now = 0
		}
		if now != 0 {
			c.lastWrite = now
			c.writing = true
			c.qmu.Unlock()
			c.writeInline(&it)
			return enqOK
		}
	}
	size := it.size()
	opts := &c.srv.opts
	if len(c.q) >= opts.MaxOutboundQueue || c.qbytes+size > opts.MaxOutboundBytes {
		if it.qos0 {
			c.slowLocked().drops++
			c.qmu.Unlock()
			c.srv.dropped.Add(1)
			return enqDropped
		}
		kept := c.q[:0]
		purged := 0
		for _, x := range c.q {
			if !x.qos0 || x.partial() {
				kept = append(kept, x)
			} else {
				c.qbytes -= x.size()
				purged++
			}
		}
		clear(c.q[len(kept):])
		c.q = kept
		c.slowLocked().drops += purged
		if purged > 0 {
			c.srv.dropped.Add(uint64(purged))
		}
		if len(c.q) >= opts.MaxOutboundQueue {
			c.closed = true
			c.slowLocked().why = "outbound queue full"
			c.qmu.Unlock()
			c.srv.log.Warn("broker: outbound queue full, disconnecting", "client", c.clientID, "limit", opts.MaxOutboundQueue)
			c.closeNow()
			return enqClosed
		}
	}
	c.q = append(c.q, it)
	c.qbytes += size
	if it.close {
		c.closed = true
		c.closeQueued = true
	}
	if !c.writing && (!own || it.close) {
		c.writing = true
		c.startWriterLocked()
	}
	c.qmu.Unlock()
	return enqOK
}

// full reports whether the queue holds at least frac/2 of its bounds
// (frac 2: all of them), so a QoS 1/2 message or a retained one should wait
// in the session for the writer to make room (see waitRoom).
func (c *conn) full(frac int) bool {
	opts := &c.srv.opts
	c.qmu.Lock()
	full := c.qbytes*2 >= opts.MaxOutboundBytes*frac || len(c.q)*2 >= opts.MaxOutboundQueue*frac
	c.qmu.Unlock()
	return full
}

// waitRoom notes that a QoS 1/2 message or retained messages wait for room
// in the queue: the writer drains the session once there is (roomMade). A
// client that keeps messages waiting for longer than SlowClientGrace is
// disconnected (MQTT 5: 0x97 Quota exceeded); its session keeps what the
// limits allow. The caller holds the session's lock.
func (c *conn) waitRoom(now int64) {
	c.askRoom()
	c.qmu.Lock()
	sl := c.slowLocked()
	if sl.overSince == 0 {
		sl.overSince = now
		// Checked again after the grace period even if nothing more is
		// delivered meanwhile; one timer per connection.
		if d := c.srv.opts.SlowClientGrace + time.Millisecond; sl.timer == nil {
			sl.timer = time.AfterFunc(d, c.checkSlow)
		} else {
			sl.timer.Reset(d)
		}
	}
	over := now-sl.overSince > int64(c.srv.opts.SlowClientGrace) && !c.closed
	if over {
		// What is queued is dropped: QoS 1/2 messages stay in flight in
		// the session, to be sent again on the next connection.
		kept := c.q[:0]
		for _, x := range c.q {
			if x.partial() || (x.buf == nil && !x.close) {
				kept = append(kept, x)
			} else {
				c.qbytes -= x.size()
			}
		}
		clear(c.q[len(kept):])
		c.q = kept
		sl.why = "slow client: outbound queue over its byte limit"
	}
	c.qmu.Unlock()
	if over {
		c.srv.log.Warn("broker: slow client over its outbound byte limit, disconnecting", "client", c.clientID, "limit", c.srv.opts.MaxOutboundBytes, "grace", c.srv.opts.SlowClientGrace)
		c.disconnect(packet.QuotaExceeded)
		// A client that does not read will not take the DISCONNECT
		// either: do not wait long for it.
		c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	}
}

// checkSlow disconnects a client still waiting for room (see waitRoom).
func (c *conn) checkSlow() {
	x := c.sess
	x.mu.Lock()
	defer x.mu.Unlock()
	c.qmu.Lock()
	waiting := c.slow != nil && c.slow.overSince != 0 && !c.closed
	c.qmu.Unlock()
	if waiting && x.conn == c {
		c.waitRoom(time.Now().UnixNano())
	}
}

// askRoom asks the writer to call roomMade once the queue has room. It
// starts one if none runs: the last may have finished just before.
func (c *conn) askRoom() {
	c.needRoom.Store(true)
	c.qmu.Lock()
	if !c.writing && !c.closed {
		c.writing = true
		c.startWriterLocked()
	}
	c.qmu.Unlock()
}

// roomMade is called by the writer once the queue has room again: the
// session's waiting messages (queued QoS 1/2, retained) go on.
func (c *conn) roomMade() {
	c.needRoom.Store(false)
	c.qmu.Lock()
	if c.slow != nil {
		c.slow.overSince = 0
	}
	c.qmu.Unlock()
	x := c.sess
	if x == nil {
		return
	}
	x.mu.Lock()
	if x.conn == c {
		x.drainLocked(c)
	}
	x.mu.Unlock()
}

// noteDrop logs dropped QoS 0 messages: the first for a client, then at
// most one line a second with the count since.
func (c *conn) noteDrop(topic string) {
	now := time.Now().UnixNano()
	c.qmu.Lock()
	sl := c.slowLocked()
	if now-sl.lastDropLog < int64(time.Second) {
		c.qmu.Unlock()
		return
	}
	sl.lastDropLog = now
	n := sl.drops
	sl.drops = 0
	c.qmu.Unlock()
	opts := &c.srv.opts
	c.srv.log.Warn("broker: outbound queue full, QoS 0 messages dropped", "client", c.clientID, "topic", topic, "dropped", n,
		"limit", strconv.Itoa(opts.MaxOutboundQueue)+" messages, "+strconv.Itoa(opts.MaxOutboundBytes)+" bytes")
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
	c.writeInlineBytes(b, it)
	if cap(b) <= 64<<10 {
		*bp = b[:0]
		inlinePool.Put(bp)
	}
}

// writeInlineBytes writes b, the bytes of it (nil: of acknowledgements and
// the like, see flushReplies), with one non-blocking attempt; the caller has
// claimed the writer role. The rest, if any, goes to a writer goroutine
// ahead of anything queued meanwhile, as does what was queued meanwhile.
func (c *conn) writeInlineBytes(b []byte, it *outItem) {
	n, err := c.raw.try(b)
	c.countOut(n)
	c.qmu.Lock()
	switch {
	case err != nil:
		c.closed = true
		c.writing = false
		c.qmu.Unlock()
		c.closeNow()
	case n < len(b):
		var rest outItem
		if it != nil && n == 0 && !it.alias {
			rest = *it
		} else {
			// An aliased packet is kept as written: its alias is taken.
			rest = outItem{buf: append([]byte(nil), b[n:]...)}
			if n > 0 || it == nil {
				// Never dropped: the stream would be corrupt, or an
				// acknowledgement lost.
				rest.n = partialMark
			}
		}
		c.q = append(c.q, outItem{})
		copy(c.q[1:], c.q)
		c.q[0] = rest
		c.qbytes += rest.size()
		c.startWriterLocked()
		c.qmu.Unlock()
	case len(c.q) > 0 || c.needRoom.Load():
		c.startWriterLocked()
		c.qmu.Unlock()
	default:
		c.writing = false
		c.qmu.Unlock()
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
	if c.raw != nil && !c.needRoom.Load() && len(c.q) <= 8 {
		// A few acknowledgements (the usual case): one non-blocking
		// write, as for a message (writeInline).
		bp := inlinePool.Get().(*[]byte)
		b := (*bp)[:0]
		for i := range c.q {
			it := &c.q[i]
			if it.close || it.alias {
				b = nil
				break
			}
			b = appendItem(b, it)
		}
		if b != nil {
			clear(c.q)
			c.q = c.q[:0]
			c.qbytes = 0
			c.qmu.Unlock()
			c.writeInlineBytes(b, nil)
			if cap(b) <= 64<<10 {
				*bp = b[:0]
				inlinePool.Put(bp)
			}
			return
		}
		inlinePool.Put(bp)
	}
	c.srv.wg.Add(1)
	c.qmu.Unlock()
	c.writeLoop()
}

// startWriterLocked starts a writer goroutine; the caller holds qmu and has
// claimed the writer role. The goroutine runs c.writeLoop bound once per
// connection, so that starting one allocates nothing.
func (c *conn) startWriterLocked() {
	c.srv.wg.Add(1)
	if c.writeFn == nil {
		c.writeFn = c.writeLoop
	}
	go c.writeFn()
}

// output returns what the writer goroutine writes to, made once per
// connection; only the holder of the writer role calls it.
func (c *conn) output() io.Writer {
	if c.out == nil {
		c.out = outputOf(c.nc)
	}
	return c.out
}

// writeLoop drains the queue into one buffered writer, flushing only when
// the queue is empty, and exits when there is nothing left to write.
func (c *conn) writeLoop() {
	defer c.srv.wg.Done()
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(c.output())
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
			if err == nil && c.needRoom.Load() {
				c.qmu.Unlock()
				c.roomMade()
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
		written := 0
		for i := range batch {
			written += batch[i].size()
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
		if err == nil {
			c.countOut(written)
		}
		clear(batch)
		c.qmu.Lock()
		c.spare = batch[:0]
		c.qbytes -= written
		c.qmu.Unlock()
		if err == nil && !closeAfter && c.needRoom.Load() && !c.full(1) {
			c.roomMade()
		}
		if closeAfter {
			if err == nil {
				err = bw.Flush()
			}
			if err == nil {
				c.closeAfterDrain()
				err = net.ErrClosed
			} else {
				c.closeNow()
			}
		}
		if err != nil {
			c.shut()
		}
	}
	bw.Reset(nil)
	writerPool.Put(bw)
}

// drainTime bounds how long a connection the server ends keeps reading
// after its last packet (DISCONNECT with a reason).
const drainTime = time.Second

// closeAfterDrain ends a connection whose last packet was written:
// closing a socket with unread input would reset it, and a client that is
// still writing would then often lose the DISCONNECT and its reason. So
// the write side is shut first (the client reads the end of the stream
// after DISCONNECT) and input is read and discarded until the client
// closes or drainTime passes. While the reader runs it drains (and closes,
// see finish); once it has ended the writer does.
func (c *conn) closeAfterDrain() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.draining.Store(true)
	c.qmu.Lock()
	c.closeWritten = true
	done := c.readerDone
	c.qmu.Unlock()
	c.nc.SetReadDeadline(time.Now().Add(drainTime))
	if !done {
		return
	}
	var b [512]byte
	for {
		if _, err := c.nc.Read(b[:]); err != nil {
			break
		}
	}
	c.closeNow()
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
//
// A connected client's close goes through the queue, after what is queued
// and after CONNACK: a connection taken over just after it connected still
// gets its CONNACK first [MQTT-3.2.0-1].
func (c *conn) disconnect(code packet.ReasonCode) {
	if !c.ready.Load() {
		c.shut()
		return
	}
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	it := outItem{close: true}
	if c.version == packet.V5 {
		it.n = 3
		it.ctl[0], it.ctl[1], it.ctl[2] = byte(packet.DISCONNECT)<<4, 1, byte(code)
	}
	if !c.enqueue(it) {
		c.closeNow()
	}
}
