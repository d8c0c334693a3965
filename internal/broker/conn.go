package broker

import (
	"bufio"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mqttx/mqttx/internal/packet"
)

// conn is one network connection of a client.
type conn struct {
	srv *Server
	nc  net.Conn
	raw *rawWriter // plain sockets only: lets publishers write inline
	out io.Writer  // what the writer goroutine writes to (output)
	// writeFn is c.writeLoop, bound once (startWriterLocked); under qmu.
	writeFn func()
	remote  string // for events; empty without Options.OnEvent

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
	lastRead int64 // unix ns of the last packet; before CONNECT, of accept
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
	lastWrite   int64      // unix ns of the last write, guarded by qmu
	quick       uint8      // inline writes since the last pause (see enqueueFrom), guarded by qmu
	qbytes      int        // bytes queued or being written, guarded by qmu
	slow        *slowState // made when the queue first meets a bound, guarded by qmu
	// needRoom asks the writer to call roomMade once the queue has room.
	needRoom atomic.Bool
	// readerDone and closeWritten (guarded by qmu) decide who closes
	// after the last packet was written: see closeAfterDrain and finish.
	readerDone   bool
	closeWritten bool
	draining     atomic.Bool // the last packet was written: only drain input

	// Outbound topic aliases, used by the holder of the writer role only.
	outAlias map[string]uint16
	aliasBuf []byte
}

// slowState is what a connection that met its queue's bounds keeps: most
// never do, and an idle connection should stay small. Guarded by qmu.
type slowState struct {
	drops       int         // QoS 0 drops not yet logged
	lastDropLog int64       // unix ns
	overSince   int64       // since when QoS 1/2 wait for room; 0 when they do not
	timer       *time.Timer // checks overSince after the grace
	why         string      // why the broker closed the connection
}

// slowLocked returns c's slowState, made on first use; the caller holds qmu.
func (c *conn) slowLocked() *slowState {
	if c.slow == nil {
		c.slow = new(slowState)
	}
	return c.slow
}

// protoErr is a protocol violation answered (MQTT 5) with a DISCONNECT
// carrying code before the connection is closed.
type protoErr struct{ code packet.ReasonCode }

func (e protoErr) Error() string { return e.code.String() }

func (c *conn) closeNow() {
	c.closeOnce.Do(func() { c.nc.Close() })
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
	c.pre.r = inputOf(c.nc)
	if canTryWrite {
		if sc, ok := c.nc.(syscall.Conn); ok {
			if rc, err := sc.SyscallConn(); err == nil {
				c.raw = newRawWriter(rc)
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
		c.startWriterLocked()
	}
	c.qmu.Unlock()
}
