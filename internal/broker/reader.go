package broker

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// readerPool keeps idle connections small: a connection holds a read buffer
// only while it is busy.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

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
	n, err := c.pre.r.Read(c.small[:])
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

// keepAliveDeadline is the read deadline (unix ns) for a client with a keep
// alive whose last packet came at last: one and a half times the keep alive
// [MQTT-3.1.2-24].
func (c *conn) keepAliveDeadline(last int64) int64 {
	return last + int64(c.keepAlive)*int64(1500*time.Millisecond)
}

// setKeepAliveDeadline moves the read deadline to keepAliveDeadline of the
// last packet, before the reader waits for more: once per wait, not per
// packet. lastDL holds the deadline set.
func (c *conn) setKeepAliveDeadline(now int64) {
	last := c.lastRead
	if last == 0 {
		last = now
	}
	dl := c.keepAliveDeadline(last)
	if dl == c.lastDL {
		return
	}
	c.nc.SetReadDeadline(time.Unix(0, dl))
	c.lastDL = dl
	if c.takeover.Load() {
		// A taker set its short deadline meanwhile: restore it.
		c.nc.SetReadDeadline(time.Now().Add(takeoverGrace))
	}
}

func (c *conn) maxIn() uint32 { return c.srv.opts.MaxPacketSize }

// readLoop reads and handles packets until the connection ends; nil means a
// DISCONNECT from the client.
func (c *conn) readLoop(waited bool) error {
	for {
		// One clock reading per packet: it stamps the packet just read (for
		// expiry) and measures the gap since the previous one.
		now := time.Now().UnixNano()
		if c.keepAlive > 0 && c.br.Buffered() == 0 && len(c.pre.b) == 0 && !c.takeover.Load() && !c.draining.Load() {
			// About to wait for input (or to park).
			c.setKeepAliveDeadline(now)
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
		c.countIn(h.PacketSize())
		if waited || before < h.PacketSize() {
			// readPacket may have blocked: read the clock again.
			now = time.Now().UnixNano()
		}
		if waited {
			waited = false
			// Steady from 100 packets a second on; once steady, a client
			// stays so through the jitter of its timing, down to 20 a
			// second, rather than start a goroutine per packet again.
			limit := int64(10 * time.Millisecond)
			if c.shortWaits >= 2 {
				limit = int64(50 * time.Millisecond)
			}
			if now-c.idleSince < limit {
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
