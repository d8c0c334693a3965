package broker

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttx/mqttx/internal/broker/auth"
	"github.com/mqttx/mqttx/internal/broker/store"
	"github.com/mqttx/mqttx/internal/packet"
)

// Options configures a Server. The zero value is a usable anonymous broker.
type Options struct {
	// MaxKeepAlive caps the keep alive in seconds; 0 means no cap. MQTT 5
	// clients asking for more (or for 0) learn the cap via Server Keep Alive.
	MaxKeepAlive uint16
	// MaxSessionExpiry caps the session expiry interval in seconds,
	// including MQTT 3 persistent sessions; 0 means no cap.
	MaxSessionExpiry uint32
	// MaxOfflineQueue bounds the QoS 1/2 messages queued per session while
	// it is offline or waiting for the client's receive maximum; default
	// 1000. QoS 0 messages are never queued.
	MaxOfflineQueue int
	// MaxOfflineAge drops the QoS 1/2 messages queued for a session that
	// have waited longer than this when its client comes back (and, while
	// it is offline, to make room for newer ones); each is counted as
	// dropped. 0 keeps them however old (the default here; serve's is
	// DefaultMaxOfflineAge).
	MaxOfflineAge time.Duration
	// MaxInflight is our Receive Maximum towards MQTT 5 clients: the QoS 2
	// messages a client may have unreleased at once; default 1024.
	MaxInflight uint16
	// MaxPacketSize is the largest packet accepted from clients, in bytes;
	// default 1 MiB (DefaultMaxPacketSize). packet.MaxPacketSize lifts the
	// limit to the protocol's.
	MaxPacketSize uint32
	// MaxTopicLevels bounds the levels of topic names and filters from
	// clients; default 128.
	MaxTopicLevels int
	// MaxTopicLength bounds the bytes of topic names and filters from
	// clients; default 65535, the protocol's limit.
	MaxTopicLength int
	// MaxSubscriptions bounds the subscriptions of one session; default
	// 1000.
	MaxSubscriptions int
	// MaxConnectBytes bounds the bytes of CONNECT packets being read at
	// once, across all connections not connected yet: a CONNECT that does
	// not fit is refused at its header; default 16 MiB.
	MaxConnectBytes int
	// TopicAliasMaximum is the number of topic aliases MQTT 5 clients may
	// use towards us; 0 disables inbound aliases.
	TopicAliasMaximum uint16
	// OutboundTopicAliases is the most topic aliases we use when sending
	// to one MQTT 5 client, within the Topic Alias Maximum it sent in
	// CONNECT (none when it sent none): the first that many distinct
	// topics on a connection get one. Default 10; negative disables
	// outbound aliases.
	OutboundTopicAliases int
	// MaxOutboundQueue bounds the packets waiting to be written to one
	// connection: when it is full, QoS 0 messages are dropped, and a
	// client whose queue is full of other packets is disconnected. A
	// client has at most half this many unacknowledged QoS 1/2 messages
	// (within its Receive Maximum); the rest wait, in order, in its
	// session's queue (MaxOfflineQueue). Default 10000.
	MaxOutboundQueue int
	// MaxOutboundBytes bounds the bytes waiting to be written to one
	// connection: QoS 0 messages beyond it are dropped, QoS 1/2 messages
	// wait in the session's queue. Default 16 MiB.
	MaxOutboundBytes int
	// SlowClientGrace is how long a client may keep QoS 1/2 messages
	// waiting for room in its outbound queue (see MaxOutboundBytes) before
	// it is disconnected (MQTT 5: 0x97 Quota exceeded). Default 30s.
	SlowClientGrace time.Duration
	// ConnectTimeout is how long a new connection may take to send
	// CONNECT; default 10s.
	ConnectTimeout time.Duration
	// Authorizer decides who may connect and what each client may publish,
	// subscribe to and receive; nil allows everything. With one, CONNECT is
	// handled off the event loop, and at most GOMAXPROCS password checks run
	// at once (see authorize.go).
	Authorizer auth.Authorizer
	// SysInterval is how often the $SYS/broker topics are published
	// (retained, as mosquitto's); 0 publishes none.
	SysInterval time.Duration
	// Version is the broker version $SYS/broker/version reports.
	Version string
	// OnEvent receives client events; it must not block. nil is fine.
	OnEvent func(Event)
	// Store keeps sessions, their queues and retained messages across
	// restarts: New restores what it holds. nil keeps them in memory only.
	Store store.Store
	// Logger receives internal errors; nil discards them.
	Logger *slog.Logger
	// NoEventLoop serves plain TCP listeners with a goroutine per
	// connection from the start, as on systems without epoll. By default,
	// on Linux, an event loop accepts, reads CONNECT, answers it and holds
	// quiet connections, handing a connection to a goroutine once it has
	// something to do.
	NoEventLoop bool
}

// Defaults of Options.
const (
	DefaultMaxPacketSize    = 1 << 20
	DefaultMaxTopicLevels   = 128
	DefaultMaxTopicLength   = 65535
	DefaultMaxSubscriptions = 1000
	DefaultMaxConnectBytes  = 16 << 20
	DefaultMaxOutboundBytes = 16 << 20
	DefaultMaxOutboundQueue = 10000
	DefaultSlowClientGrace  = 30 * time.Second
	DefaultMaxOfflineAge    = 5 * time.Minute
	DefaultConnectTimeout   = 10 * time.Second
)

// DroppedMessages returns how many messages were dropped since the server
// started: QoS 0 for want of room in a client's outbound queue, QoS 1/2 for
// want of room in a session's queue (MaxOfflineQueue) or for having waited
// in it longer than MaxOfflineAge.
func (s *Server) DroppedMessages() uint64 { return s.dropped.Load() }

// Event kinds reported through Options.OnEvent.
const (
	EventConnected    = "connected"
	EventDisconnected = "disconnected"
	EventSubscribed   = "subscribed"
	EventUnsubscribed = "unsubscribed"
	EventWill         = "will"
	EventRefused      = "refused"
	EventTakenOver    = "taken_over"
)

// Event is one client event.
type Event struct {
	Time     time.Time
	Kind     string // one of the Event* constants
	ClientID string
	Remote   string
	Version  byte   // protocol level: 3, 4 or 5
	Topic    string // subscribed, unsubscribed, will
	QoS      byte   // subscribed (granted), will
	Reason   string // disconnected, refused: why
}

// Server is a broker engine. Create it with New.
type Server struct {
	opts     Options
	tree     topicTree
	retained retainedStore
	sessions sessionStore
	connMu   sync.Mutex // serialises CONNECT handling (session takeover)

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     connList // every connection, for Shutdown
	closing   bool
	done      chan struct{}
	wg        sync.WaitGroup

	nextID  atomic.Uint64
	dropped atomic.Uint64 // messages dropped: see DroppedMessages
	// connecting is the bytes of CONNECT packets being read (MaxConnectBytes).
	connecting atomic.Int64
	log        *slog.Logger
	authSem    chan struct{} // password checks running; see authorize.go
	sys        sysCounters   // see sys.go
	// laterUsers: *conn -> username of a CONNECT handed over by the loop.
	laterUsers sync.Map
	// store receives the durable events (persist.go); persist is whether
	// it keeps them.
	store   store.Store
	persist bool
}

// New returns a Server with opts, defaults filled in.
func New(opts Options) *Server {
	if opts.MaxOfflineQueue <= 0 {
		opts.MaxOfflineQueue = 1000
	}
	if opts.MaxInflight == 0 {
		opts.MaxInflight = 1024
	}
	if opts.OutboundTopicAliases == 0 {
		opts.OutboundTopicAliases = defaultOutboundTopicAliases
	}
	if opts.MaxOutboundQueue <= 0 {
		opts.MaxOutboundQueue = DefaultMaxOutboundQueue
	}
	if opts.MaxPacketSize == 0 {
		opts.MaxPacketSize = DefaultMaxPacketSize
	}
	if opts.MaxTopicLevels <= 0 {
		opts.MaxTopicLevels = DefaultMaxTopicLevels
	}
	if opts.MaxTopicLength <= 0 || opts.MaxTopicLength > 65535 {
		opts.MaxTopicLength = DefaultMaxTopicLength
	}
	if opts.MaxSubscriptions <= 0 {
		opts.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if opts.MaxConnectBytes <= 0 {
		opts.MaxConnectBytes = DefaultMaxConnectBytes
	}
	if opts.MaxOutboundBytes <= 0 {
		opts.MaxOutboundBytes = DefaultMaxOutboundBytes
	}
	if opts.SlowClientGrace <= 0 {
		opts.SlowClientGrace = DefaultSlowClientGrace
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:      opts,
		sessions:  newMemStore(),
		listeners: make(map[net.Listener]struct{}),
		done:      make(chan struct{}),
		log:       log,
		authSem:   newAuthSem(opts.Authorizer),
	}
	s.store = opts.Store
	if s.store == nil {
		s.store = store.Memory{}
	}
	s.persist = s.store.Durable()
	if s.persist {
		if err := s.restore(); err != nil {
			log.Error("broker: restore from the store", "err", err)
		}
	}
	s.sys.start = time.Now()
	if opts.SysInterval > 0 {
		s.wg.Add(1)
		go s.runSys()
	}
	return s
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("broker: server closed")

// Serve accepts connections on ln until ln fails or Shutdown is called. It
// may run for several listeners at once.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	if tl, ok := ln.(*net.TCPListener); ok && loopSupported && !s.opts.NoEventLoop {
		if ok, err := s.serveLoop(tl); ok {
			return err
		}
	}
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return ErrServerClosed
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.ServeConn(nc)
	}
}

// ServeConn handles one accepted connection in its own goroutine and returns
// at once.
func (s *Server) ServeConn(nc net.Conn) {
	c := &conn{srv: s, nc: nc, lastRead: time.Now().UnixNano()} // accepted now
	if !s.track(c) {
		nc.Close()
		return
	}
	go c.serve()
}

// track adds a new connection, unless the server is shutting down.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns.add(c)
	s.wg.Add(1)
	return true
}

// Shutdown stops every listener, disconnects every client (MQTT 5 clients
// with DISCONNECT 0x8B Server shutting down) and waits for the connection
// goroutines to end or ctx to be done; then it closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing {
		s.closing = true
		close(s.done)
	}
	for ln := range s.listeners {
		ln.Close()
	}
	conns := s.conns.all()
	s.mu.Unlock()
	// The wills of clients still connected are published first, while
	// their subscribers are still connected to get them: the broker going
	// away ends those connections without a DISCONNECT from the client.
	for _, c := range conns {
		if !c.ready.Load() {
			continue
		}
		x := c.sess
		x.mu.Lock()
		var w *message
		if x.conn == c {
			w, c.will = c.will, nil
		}
		x.mu.Unlock()
		if w != nil {
			s.sendWill(w, c.clientID)
		}
	}
	for _, c := range conns {
		c.disconnect(packet.ServerShuttingDown)
	}
	finished := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(finished)
	}()
	var err error
	select {
	case <-finished:
	case <-ctx.Done():
		err = ctx.Err()
		s.mu.Lock()
		for _, c := range s.conns.all() {
			c.closeNow()
		}
		s.mu.Unlock()
		<-finished
	}
	// Stop the timers of offline sessions so no will fires after Shutdown.
	s.sessions.Range(func(x *session) bool {
		x.mu.Lock()
		x.stopTimers()
		x.ended = true
		x.mu.Unlock()
		return true
	})
	s.flushStore()
	return err
}

func (s *Server) emit(e Event) {
	if s.opts.OnEvent == nil {
		return
	}
	e.Time = time.Now()
	s.opts.OnEvent(e)
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	s.conns.remove(c)
	s.mu.Unlock()
}

// endSession removes x's subscriptions and forgets it; the caller holds x.mu.
func (s *Server) endSessionLocked(x *session) {
	if x.ended {
		return
	}
	x.ended = true
	x.stopTimers()
	s.foldCounts(x)
	for f := range x.subs {
		s.tree.remove(x, f)
	}
	x.subs = nil
	x.pending = nil
	x.pendHead = 0
	x.ret = nil
	x.inflight = nil
	x.endStoredLocked()
	s.sessions.Delete(x.id, x)
}

// connList is an intrusive doubly linked list of connections: adding and
// removing one costs no hashing, no allocation and no table growth, which
// a map would on every connect.
type connList struct{ head *conn }

func (l *connList) add(c *conn) {
	c.next = l.head
	if l.head != nil {
		l.head.prev = c
	}
	l.head = c
}

func (l *connList) remove(c *conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else if l.head == c {
		l.head = c.next
	} else {
		return // not in the list
	}
	if c.next != nil {
		c.next.prev = c.prev
	}
	c.prev, c.next = nil, nil
}

func (l *connList) all() []*conn {
	var all []*conn
	for c := l.head; c != nil; c = c.next {
		all = append(all, c)
	}
	return all
}
