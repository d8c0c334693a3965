package broker

import (
	"bufio"
	"net"
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
