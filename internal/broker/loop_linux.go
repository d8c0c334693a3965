//go:build linux

package broker

import (
	"container/heap"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mqttx/mqttx/internal/packet"
)

// The event loop serves a plain TCP listener's new and idle connections
// without a goroutine each. One goroutine waits in epoll for the listener and
// for every connection it holds: it accepts, reads CONNECT, writes CONNACK
// and keeps the connection in its epoll set while the client is quiet. A
// connection that has something to do (input, a write that would block, a
// takeover, a deadline) is handed over to Go's netpoller through os.NewFile,
// without a dup, and from then on is served by the goroutine code like any
// other: the loop is only a cheaper way to wait for the first packet after
// CONNACK. Connecting thus costs no goroutine start and no scheduler wake-up,
// and an idle connection no goroutine stack.

const loopSupported = true

// Connection states of a pollConn. The loop owns the connection in the first
// three; in pcFile the goroutine code owns it through f.
const (
	pcWaitConnect pcState = iota // in the epoll set, waiting for CONNECT
	pcRunning                    // the loop is running its CONNECT
	pcIdle                       // connected, in the epoll set, quiet
	pcFile                       // handed over to f
	pcClosed
)

type pcState uint8

// Event identifiers in the epoll set, besides the connections' ids.
const (
	idListener = 1
	idWake     = 2
	firstID    = 3
)

// loopBufSize is the loop's read buffer, and the largest CONNECT it handles
// itself: the size of a connection's bufio.Reader, so the whole packet is in
// that reader after one fill.
const loopBufSize = 4096

type pollLoop struct {
	srv  *Server
	lrc  syscall.RawConn // the listener's
	epfd int
	wake [2]int // a pipe: Shutdown writes to wake[1]

	mu     sync.Mutex
	conns  map[uint64]*pollConn // in the epoll set, by id
	closed bool                 // epfd is closing: no more epoll_ctl
	nextID uint64

	// Read deadlines of the connections held, loop only: a FIFO for the
	// CONNECT deadlines, which all come ConnectTimeout after accepting,
	// and a heap for the idle connections' keep alive.
	waiting []connectDeadline
	timers  deadlines
	buf     []byte
}

// serveLoop serves tl from an event loop until tl fails or Shutdown; ok is
// false when the loop could not be set up (then the caller accepts the usual
// way).
func (s *Server) serveLoop(tl *net.TCPListener) (ok bool, err error) {
	lrc, err := tl.SyscallConn()
	if err != nil {
		return false, nil
	}
	lfd := -1
	if lrc.Control(func(fd uintptr) { lfd = int(fd) }) != nil {
		return false, nil
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return false, nil
	}
	lp := &pollLoop{srv: s, lrc: lrc, epfd: epfd, conns: make(map[uint64]*pollConn), nextID: firstID, buf: make([]byte, loopBufSize)}
	if err := syscall.Pipe2(lp.wake[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return false, nil
	}
	if lp.add(lfd, idListener) != nil || lp.add(lp.wake[0], idWake) != nil {
		lp.closeFDs()
		return false, nil
	}
	stopped, gone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(gone)
		select {
		case <-s.done:
			syscall.Write(lp.wake[1], []byte{1})
		case <-stopped:
		}
	}()
	err = lp.run()
	close(stopped)
	<-gone
	lp.stop()
	select {
	case <-s.done:
		return true, ErrServerClosed
	default:
	}
	return true, err
}

func (lp *pollLoop) add(fd int, id uint64) error {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
	return syscall.EpollCtl(lp.epfd, syscall.EPOLL_CTL_ADD, fd, &ev)
}

func (lp *pollLoop) closeFDs() {
	syscall.Close(lp.epfd)
	syscall.Close(lp.wake[0])
	syscall.Close(lp.wake[1])
}

// run waits for events until the listener fails or the server shuts down.
func (lp *pollLoop) run() error {
	events := make([]syscall.EpollEvent, 128)
	var delay time.Duration
	for {
		// Goroutines started from the loop (hand-overs, writers) wait in
		// its P's run queue, where a P blocked in epoll_wait leaves them
		// until sysmon takes the P back, which can take milliseconds. Let
		// them run first.
		runtime.Gosched()
		n, err := syscall.EpollWait(lp.epfd, events, lp.timeout(time.Now()))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		now := time.Now()
		for i := range events[:n] {
			ev := &events[i]
			switch id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32; id {
			case idListener:
				if err := lp.accept(now, &delay); err != nil {
					return err
				}
			case idWake:
				return ErrServerClosed
			default:
				lp.ready(id)
			}
		}
		lp.expire(now)
		if n == 0 {
			// A listener closed by someone else sends no event.
			if err := lp.lrc.Control(func(uintptr) {}); err != nil {
				return err
			}
		}
	}
}

// timeout is how long epoll_wait may wait, in milliseconds: until the next
// deadline, at most a second (see run).
func (lp *pollLoop) timeout(now time.Time) int {
	next := now.Add(time.Second).UnixNano()
	if len(lp.waiting) > 0 {
		next = min(next, lp.waiting[0].when)
	}
	if len(lp.timers) > 0 {
		next = min(next, lp.timers[0].when)
	}
	d := time.Duration(next - now.UnixNano())
	return int(max(d/time.Millisecond+1, 0))
}

// accept takes every pending connection.
func (lp *pollLoop) accept(now time.Time, delay *time.Duration) error {
	for {
		var nfd int
		var sa syscall.Sockaddr
		var aerr error
		if err := lp.lrc.Control(func(fd uintptr) {
			nfd, sa, aerr = syscall.Accept4(int(fd), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		}); err != nil {
			return err // closed
		}
		switch aerr {
		case nil:
			*delay = 0
		case syscall.EAGAIN:
			return nil
		case syscall.EINTR, syscall.ECONNABORTED:
			continue
		case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM:
			// Out of descriptors or memory: wait, as net/http does.
			*delay = min(max(2**delay, 5*time.Millisecond), time.Second)
			lp.srv.log.Error("broker: accept", "err", aerr, "retry in", *delay)
			time.Sleep(*delay)
			return nil
		default:
			return os.NewSyscallError("accept4", aerr)
		}
		// As Go does for every accepted TCP connection.
		syscall.SetsockoptInt(nfd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		if pc := lp.hold(nfd, sa, now); pc != nil {
			// CONNECT often follows the handshake at once: read it now
			// rather than after another epoll_wait.
			lp.ready(pc.id)
		}
	}
}

// hold takes a new connection into the epoll set to wait for CONNECT.
func (lp *pollLoop) hold(fd int, sa syscall.Sockaddr, now time.Time) *pollConn {
	s := lp.srv
	c := &conn{srv: s, lastRead: now.UnixNano()} // accepted now
	pc := &pollConn{lp: lp, fd: fd, sa: sa, c: c, hidx: -1, rdl: now.Add(s.opts.ConnectTimeout)}
	c.nc = pc
	lp.mu.Lock()
	pc.id = lp.nextID
	lp.nextID++
	lp.conns[pc.id] = pc
	lp.mu.Unlock()
	if lp.add(fd, pc.id) != nil || !s.track(c) {
		lp.mu.Lock()
		delete(lp.conns, pc.id)
		lp.mu.Unlock()
		syscall.Close(fd)
		return nil
	}
	lp.waiting = append(lp.waiting, connectDeadline{when: pc.rdl.UnixNano(), id: pc.id})
	return pc
}

func (lp *pollLoop) lookup(id uint64) *pollConn {
	lp.mu.Lock()
	pc := lp.conns[id]
	lp.mu.Unlock()
	return pc
}

// forget takes pc out of the loop: out of its map and its epoll set.
func (lp *pollLoop) forget(pc *pollConn, del bool) {
	lp.mu.Lock()
	delete(lp.conns, pc.id)
	if del && !lp.closed {
		syscall.EpollCtl(lp.epfd, syscall.EPOLL_CTL_DEL, pc.fd, nil)
	}
	lp.mu.Unlock()
}

// ready handles input (or a hang-up) on a connection held by the loop.
func (lp *pollLoop) ready(id uint64) {
	pc := lp.lookup(id)
	if pc == nil {
		return // handed over or closed since
	}
	c := pc.c
	pc.mu.Lock()
	switch pc.state {
	case pcIdle:
		// Read here what a parked reader would read first (see park):
		// a client that closed then costs no hand-over.
		n, err := syscall.Read(pc.fd, c.small[:])
		if err == syscall.EAGAIN || err == syscall.EINTR {
			pc.mu.Unlock()
			return
		}
		if pc.hidx >= 0 {
			heap.Remove(&lp.timers, pc.hidx)
		}
		if n > 0 {
			pc.toFileLocked()
			pc.mu.Unlock()
			go c.resume(n, nil)
			return
		}
		if err == nil {
			err = io.EOF
		}
		pc.closeLocked()
		pc.mu.Unlock()
		go c.resume(0, err)
	case pcWaitConnect:
		n, err := syscall.Read(pc.fd, lp.buf)
		if err == syscall.EAGAIN || err == syscall.EINTR {
			pc.mu.Unlock()
			return
		}
		if n <= 0 {
			// Closed before CONNECT.
			pc.closeLocked()
			pc.mu.Unlock()
			c.refused()
			return
		}
		pc.state = pcRunning
		pc.mu.Unlock()
		lp.connect(pc, lp.buf[:n])
	default:
		pc.mu.Unlock()
	}
}

// connect runs the CONNECT in b, when b holds all of it, then holds the
// connection as idle or hands it over; otherwise it hands it over at once.
func (lp *pollLoop) connect(pc *pollConn, b []byte) {
	c := pc.c
	if !wholePacket(b) || c.srv.authOffLoop() {
		// CONNECT in pieces (or not CONNECT at all): serve waits for the
		// rest, and refuses what it has to, the usual way. With an
		// Authorizer, checking a password may take long: serve does it.
		c.pre.b = append([]byte(nil), b...)
		pc.handOver(c.serve)
		return
	}
	c.start()
	c.pre.b = b
	c.pre.r = noInput{} // b holds the whole packet: never wait in the loop
	c.onLoop = true
	ack := c.connect()
	c.onLoop = false
	c.pre.r = c.nc
	c.pre.b = nil // b is the loop's buffer; the bufio.Reader has its bytes
	if ack == nil {
		if c.later != nil {
			// A session to take over: drainForTakeover waits for the old
			// connection's reader, which the loop must not do.
			pc.handOver(c.attachLater)
			return
		}
		c.refused()
		return
	}
	n, err := c.nc.Write(ack)
	c.countOut(n)
	if err != nil {
		c.shut()
	}
	if c.keepAlive == 0 {
		c.nc.SetReadDeadline(time.Time{})
	} else {
		c.lastRead = time.Now().UnixNano()
		c.lastDL = c.keepAliveDeadline(c.lastRead)
		c.nc.SetReadDeadline(time.Unix(0, c.lastDL))
	}
	// The reader: pipelined input goes on at once, on a goroutine; else the
	// connection waits here, without its buffers.
	pc.mu.Lock()
	switch {
	case pc.state == pcClosed:
		pc.mu.Unlock()
		c.releaseInput()
		go c.resume(0, net.ErrClosed)
	case c.br.Buffered() > 0:
		pc.toFileLocked()
		pc.mu.Unlock()
		go c.runConnected()
	default:
		// Before pcIdle: from then on another goroutine may start the
		// reader (Close, SetReadDeadline).
		c.releaseInput()
		pc.state = pcIdle
		if !pc.rdl.IsZero() {
			heap.Push(&lp.timers, deadline{when: pc.rdl.UnixNano(), pc: pc})
		}
		pc.mu.Unlock()
	}
	// The writer: what was queued meanwhile (resent and offline messages)
	// goes out on a writer goroutine, behind CONNACK.
	c.releaseWriter()
}

// wholePacket reports whether b starts with a whole CONNECT.
func wholePacket(b []byte) bool {
	if len(b) < 2 || packet.Type(b[0]>>4) != packet.CONNECT {
		return false
	}
	rem, n, err := packet.DecodeVarInt(b[1:])
	return err == nil && 1+n+int(rem) <= len(b)
}

// noInput is what the loop's CONNECT reads after the bytes it was given.
type noInput struct{}

var errNoInput = errors.New("broker: CONNECT read past the bytes the event loop had")

func (noInput) Read([]byte) (int, error) { return 0, errNoInput }

// expire acts on the deadlines that passed: a connection that sent no
// CONNECT in time is closed; an idle one is handed over, its read deadline
// passed, and its reader ends it (keep alive timeout) or reads what came.
// Entries are checked against their connection when they come due, so one
// handed over meanwhile needs no removal.
func (lp *pollLoop) expire(now time.Time) {
	t := now.UnixNano()
	for len(lp.waiting) > 0 && lp.waiting[0].when <= t {
		pc := lp.lookup(lp.waiting[0].id)
		lp.waiting = lp.waiting[1:]
		if pc == nil {
			continue
		}
		pc.mu.Lock()
		if pc.state != pcWaitConnect {
			pc.mu.Unlock()
			continue
		}
		pc.closeLocked()
		pc.mu.Unlock()
		pc.c.refused()
	}
	for len(lp.timers) > 0 && lp.timers[0].when <= t {
		pc := heap.Pop(&lp.timers).(deadline).pc
		pc.mu.Lock()
		if pc.state != pcIdle {
			pc.mu.Unlock()
			continue
		}
		// An idle connection's deadline does not move: setting one hands
		// the connection over (SetReadDeadline).
		pc.toFileLocked()
		pc.mu.Unlock()
		go pc.c.park()
	}
}

// stop hands every connection still held over to the goroutine code (the
// server goes on serving them, or Shutdown ends them) and closes the loop.
func (lp *pollLoop) stop() {
	lp.mu.Lock()
	held := make([]*pollConn, 0, len(lp.conns))
	for _, pc := range lp.conns {
		held = append(held, pc)
	}
	lp.closed = true
	lp.mu.Unlock()
	for _, pc := range held {
		c := pc.c
		pc.mu.Lock()
		switch pc.state {
		case pcWaitConnect:
			pc.toFileLocked()
			pc.mu.Unlock()
			go c.serve()
		case pcIdle:
			pc.toFileLocked()
			pc.mu.Unlock()
			go c.park()
		default:
			pc.mu.Unlock()
		}
	}
	lp.closeFDs()
}

// connectDeadline is when a connection must have sent CONNECT. It names the
// connection by id, not pointer: most are long gone when it comes due.
type connectDeadline struct {
	when int64
	id   uint64
}

// deadline is the read deadline of an idle connection held by the loop.
type deadline struct {
	when int64
	pc   *pollConn
}

// deadlines is a heap; each connection knows its index (hidx) so the loop
// can take it out when the connection is handed over.
type deadlines []deadline

func (h deadlines) Len() int           { return len(h) }
func (h deadlines) Less(i, j int) bool { return h[i].when < h[j].when }
func (h deadlines) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pc.hidx, h[j].pc.hidx = i, j
}
func (h *deadlines) Push(x any) {
	d := x.(deadline)
	d.pc.hidx = len(*h)
	*h = append(*h, d)
}
func (h *deadlines) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = deadline{}
	*h = old[:len(old)-1]
	x.pc.hidx = -1
	return x
}

// pollConn is the net.Conn of a connection accepted by the loop. While the
// loop holds it, reads are the loop's, writes are non-blocking attempts and
// deadlines are kept for later; anything that must wait hands it over to an
// os.File on Go's netpoller, which then serves every call.
type pollConn struct {
	lp *pollLoop
	id uint64
	fd int
	sa syscall.Sockaddr
	c  *conn
	// hidx is pc's index in the loop's heap, -1 for none; loop only.
	hidx int

	// filed is set, after f and raw, once pc is handed over: from then on
	// every call goes to f without taking mu (the message path).
	filed atomic.Bool

	mu       sync.Mutex
	state    pcState
	f        *os.File
	raw      syscall.RawConn // f's
	out      *rawWriter      // on raw, for the writer role
	in       *rawReader      // reads raw, the reader's only
	rdl, wdl time.Time       // deadlines set while held by the loop
}

// toFileLocked hands pc over to Go's netpoller. The caller holds pc.mu and
// starts the reader goroutine.
func (pc *pollConn) toFileLocked() {
	pc.lp.forget(pc, true)
	pc.f = os.NewFile(uintptr(pc.fd), "tcp")
	if !pc.rdl.IsZero() {
		pc.f.SetReadDeadline(pc.rdl)
	}
	if !pc.wdl.IsZero() {
		pc.f.SetWriteDeadline(pc.wdl)
	}
	pc.raw, _ = pc.f.SyscallConn()
	pc.in = newRawReader(pc.raw)
	pc.out = newRawWriter(pc.raw)
	pc.state = pcFile
	pc.filed.Store(true)
}

// handOver hands pc over from the loop, running a CONNECT not finished (no
// session attached yet), and runs read on a new goroutine.
func (pc *pollConn) handOver(read func()) {
	pc.mu.Lock()
	if pc.state == pcClosed {
		pc.mu.Unlock()
		pc.c.refused()
		return
	}
	pc.toFileLocked()
	pc.mu.Unlock()
	go read()
}

// closeLocked closes a connection held by the loop.
func (pc *pollConn) closeLocked() {
	pc.state = pcClosed
	pc.lp.forget(pc, false) // closing the descriptor takes it out of the epoll set
	syscall.Close(pc.fd)
}

// file returns f once pc is handed over. Only the reader reads, and while
// the loop holds pc the loop is the reader.
func (pc *pollConn) file() (*os.File, error) {
	if pc.filed.Load() {
		return pc.f, nil
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	switch pc.state {
	case pcFile:
		return pc.f, nil
	case pcClosed:
		return nil, net.ErrClosed
	}
	return nil, errNoInput // the loop's own CONNECT reads never get here
}

func (pc *pollConn) Read(b []byte) (int, error) {
	if _, err := pc.file(); err != nil {
		return 0, err
	}
	return pc.in.Read(b)
}

func (pc *pollConn) Write(b []byte) (int, error) {
	if pc.filed.Load() {
		return pc.out.Write(b)
	}
	pc.mu.Lock()
	switch pc.state {
	case pcFile:
		pc.mu.Unlock()
		return pc.out.Write(b)
	case pcClosed:
		pc.mu.Unlock()
		return 0, net.ErrClosed
	}
	written := 0
	for written < len(b) {
		n, err := syscall.Write(pc.fd, b[written:])
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			break
		}
		if err != nil {
			pc.mu.Unlock()
			return written, err
		}
		written += n
	}
	if written == len(b) {
		pc.mu.Unlock()
		return written, nil
	}
	if pc.state != pcIdle {
		// The loop's own CONNACK on a new connection, whose socket
		// buffer is empty: it does not block.
		pc.mu.Unlock()
		return written, syscall.EAGAIN
	}
	// A writer goroutine with more than the socket takes: wait on the
	// netpoller for the rest.
	pc.toFileLocked()
	pc.mu.Unlock()
	go pc.c.park()
	n, err := pc.out.Write(b[written:])
	return written + n, err
}

func (pc *pollConn) Close() error {
	if pc.filed.Load() {
		return fileErr(pc.f.Close())
	}
	pc.mu.Lock()
	switch pc.state {
	case pcFile:
		pc.mu.Unlock()
		return fileErr(pc.f.Close())
	case pcClosed:
		pc.mu.Unlock()
		return nil
	}
	state := pc.state
	pc.closeLocked()
	pc.mu.Unlock()
	// The reader the loop stood in for ends as a parked one would.
	switch state {
	case pcWaitConnect:
		go pc.c.refused()
	case pcIdle:
		go pc.c.resume(0, net.ErrClosed)
	}
	// pcRunning: the loop, running the reader, finds it closed.
	return nil
}

// CloseWrite shuts the write side down: the client reads the end of the
// stream while pc may go on reading (see closeAfterDrain).
func (pc *pollConn) CloseWrite() error {
	if !pc.filed.Load() {
		pc.mu.Lock()
		switch pc.state {
		case pcClosed:
			pc.mu.Unlock()
			return net.ErrClosed
		case pcFile:
		default:
			err := syscall.Shutdown(pc.fd, syscall.SHUT_WR)
			pc.mu.Unlock()
			return err
		}
		pc.mu.Unlock()
	}
	var err error
	if cerr := pc.raw.Control(func(fd uintptr) { err = syscall.Shutdown(int(fd), syscall.SHUT_WR) }); cerr != nil {
		return fileErr(cerr)
	}
	return err
}

func (pc *pollConn) SetReadDeadline(t time.Time) error {
	if pc.filed.Load() {
		return pc.f.SetReadDeadline(t)
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	switch pc.state {
	case pcFile:
		return pc.f.SetReadDeadline(t)
	case pcIdle:
		// Another goroutine (a session takeover) wants the reader to
		// run: it does, on the netpoller.
		pc.rdl = t
		pc.toFileLocked()
		go pc.c.park()
	default:
		pc.rdl = t
	}
	return nil
}

func (pc *pollConn) SetWriteDeadline(t time.Time) error {
	if pc.filed.Load() {
		return pc.f.SetWriteDeadline(t)
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.state == pcFile {
		return pc.f.SetWriteDeadline(t)
	}
	pc.wdl = t
	return nil
}

func (pc *pollConn) SetDeadline(t time.Time) error {
	pc.SetWriteDeadline(t)
	return pc.SetReadDeadline(t)
}

func (pc *pollConn) RemoteAddr() net.Addr { return tcpAddr(pc.sa) }

func (pc *pollConn) LocalAddr() net.Addr {
	var sa syscall.Sockaddr
	pc.rawCall(func(fd uintptr) bool { sa, _ = syscall.Getsockname(int(fd)); return true }, false)
	return tcpAddr(sa)
}

func tcpAddr(sa syscall.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: sa.Port}
	case *syscall.SockaddrInet6:
		a := &net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port}
		if sa.ZoneId != 0 {
			a.Zone = strconv.FormatUint(uint64(sa.ZoneId), 10)
		}
		return a
	}
	return nil
}

// SyscallConn lets publishers try non-blocking writes (tryWrite).
func (pc *pollConn) SyscallConn() (syscall.RawConn, error) { return pollRaw{pc}, nil }

// rawCall runs fn on the descriptor once, or through f's RawConn (write
// side) once handed over.
func (pc *pollConn) rawCall(fn func(fd uintptr) bool, read bool) error {
	if pc.filed.Load() {
		if read {
			return pc.raw.Read(fn)
		}
		return pc.raw.Write(fn)
	}
	pc.mu.Lock()
	switch pc.state {
	case pcFile:
		pc.mu.Unlock()
		if read {
			return pc.raw.Read(fn)
		}
		return pc.raw.Write(fn)
	case pcClosed:
		pc.mu.Unlock()
		return net.ErrClosed
	}
	done := fn(uintptr(pc.fd))
	if done || pc.state != pcIdle {
		pc.mu.Unlock()
		return nil
	}
	pc.toFileLocked()
	pc.mu.Unlock()
	go pc.c.park()
	if read {
		return pc.raw.Read(fn)
	}
	return pc.raw.Write(fn)
}

type pollRaw struct{ pc *pollConn }

func (r pollRaw) Control(fn func(fd uintptr)) error {
	return r.pc.rawCall(func(fd uintptr) bool { fn(fd); return true }, false)
}
func (r pollRaw) Read(fn func(fd uintptr) bool) error  { return r.pc.rawCall(fn, true) }
func (r pollRaw) Write(fn func(fd uintptr) bool) error { return r.pc.rawCall(fn, false) }

// fileErr makes an os.File's closed error the net package's, as the reader
// expects of a closed connection.
func fileErr(err error) error {
	if err != nil && errors.Is(err, os.ErrClosed) {
		return net.ErrClosed
	}
	return err
}
