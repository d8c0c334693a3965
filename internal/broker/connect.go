package broker

import (
	"strconv"
	"sync"
	"time"

	"github.com/mqttx/mqttx/internal/packet"
)

// protocolLevel returns the protocol level byte of a CONNECT body, or 0.
func protocolLevel(body []byte) byte {
	if len(body) < 2 {
		return 0
	}
	n := int(body[0])<<8 | int(body[1])
	if len(body) < 2+n+1 {
		return 0
	}
	return body[2+n]
}

// writeNow writes b directly, for refusals before the writer exists.
func (c *conn) writeNow(b []byte) {
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	n, _ := c.nc.Write(b)
	c.countOut(n)
}

func (c *conn) refuse(code packet.ReasonCode, v packet.Version, why string) {
	b, err := (&packet.Connack{ReasonCode: code}).AppendTo(nil, v)
	if err == nil {
		c.writeNow(b)
	}
	c.srv.emit(Event{Kind: EventRefused, ClientID: c.clientID, Remote: c.remote, Version: byte(v), Reason: why})
}

// connect reads CONNECT, authenticates, attaches the session (queueing any
// resent and offline messages) and returns the CONNACK to write first, or
// nil when the connection is refused or failed.
func (c *conn) connect() []byte {
	srv := c.srv
	// The deadline counts from accept: a client that trickles its CONNECT
	// does not get more time for it.
	accepted := time.Now()
	if c.lastRead != 0 {
		accepted = time.Unix(0, c.lastRead)
		c.lastRead = 0 // from CONNECT on, the time of the last packet
	}
	c.nc.SetReadDeadline(accepted.Add(srv.opts.ConnectTimeout))
	// Wait for input here, in a shallow frame: the read system call path
	// is deep, and below readPacket it would grow this new goroutine's
	// stack. CONNECT usually arrives whole, and readPacket then reads it
	// from the buffer.
	if _, err := c.br.Peek(1); err != nil {
		return nil
	}
	h, body, buf, err := c.readConnect()
	c.buf = buf
	if err != nil || h.Type != packet.CONNECT {
		// The first packet must be CONNECT [MQTT-3.1.0-1].
		return nil
	}
	// The packets come from a pool: on this goroutine's stack they would
	// make it grow past its initial 2 KiB, and on the heap they would be
	// garbage once per connection. Nothing keeps them after connect: what
	// stays (client id, will) is copied out of them.
	sc := connectPool.Get().(*connectScratch)
	defer connectPool.Put(sc)
	cp := &sc.connect
	if err := cp.DecodeInto(h.First(), body, 0); err != nil {
		c.refuseMalformed(err, body)
		return nil
	}
	ack := &sc.connack
	ack.SessionPresent, ack.ReasonCode = false, packet.Success
	ack.Properties.Reset()
	return c.accept(cp, ack)
}

// readConnect reads the first packet within the server's budget of CONNECT
// bytes in flight (MaxConnectBytes): a packet that does not fit is refused
// at its header, before its body is read. The budget is given back once
// the packet is read: what connect keeps of it is copied.
func (c *conn) readConnect() (h packet.FixedHeader, body, buf []byte, err error) {
	srv := c.srv
	var held int64
	h, body, buf, err = readPacketFunc(c.br, c.maxIn(), c.buf, func(h packet.FixedHeader) error {
		n := int64(h.Remaining)
		if srv.connecting.Add(n) > int64(srv.opts.MaxConnectBytes) {
			srv.connecting.Add(-n)
			return errConnectBudget
		}
		held = n
		return nil
	})
	srv.connecting.Add(-held)
	if err == nil {
		c.countIn(h.PacketSize())
	}
	return h, body, buf, err
}

// errConnectBudget refuses a CONNECT larger than what may be in flight.
var errConnectBudget = &packet.Error{Code: packet.ServerBusy, Msg: "CONNECT larger than the bytes all connecting clients may send at once"}

// connectScratch holds the packets connect decodes and encodes.
type connectScratch struct {
	connect packet.Connect
	connack packet.Connack
}

var connectPool = sync.Pool{New: func() any { return new(connectScratch) }}

// The helpers of connect below are not inlined: each keeps its locals
// (packets, properties, events) in a frame of its own, so the path from a
// new connection's goroutine through CONNECT stays within its initial stack.

// refuseMalformed answers a CONNECT that did not decode, when the protocol
// has a CONNACK for the error.
//
//go:noinline
func (c *conn) refuseMalformed(err error, body []byte) {
	level := protocolLevel(body)
	switch code := packet.CodeOf(err); {
	case code == packet.UnsupportedProtocolVersion && level > 5:
		c.refuse(packet.UnsupportedProtocolVersion, packet.V5, err.Error())
	case code == packet.UnsupportedProtocolVersion:
		// [MQTT-3.1.2-2]: return code 0x01 then close.
		c.refuse(packet.UnsupportedProtocolVersion, packet.V311, err.Error())
	case level == 5 && code == packet.ClientIdentifierNotValid:
		c.refuse(code, packet.V5, err.Error())
	case level == 4 && code == packet.ClientIdentifierNotValid:
		c.refuse(code, packet.V311, err.Error())
	case level == 5 && code >= 0x80:
		c.refuse(code, packet.V5, err.Error())
	}
}

// accept checks a decoded CONNECT, attaches the session and returns CONNACK.
//
//go:noinline
func (c *conn) accept(cp *packet.Connect, ack *packet.Connack) []byte {
	srv := c.srv
	v := cp.Version
	c.version = v
	c.clientID = cp.ClientID
	assigned := false
	if cp.ClientID == "" {
		// v3.1.1 allows an empty id only with a clean session [MQTT-3.1.3-7]
		// [MQTT-3.1.3-8]; v5 assigns one [MQTT-3.1.3-6]; v3.1 requires an id.
		if v == packet.V31 || (v == packet.V311 && !cp.CleanStart) {
			c.refuse(packet.ClientIdentifierNotValid, v, "empty client id")
			return nil
		}
		c.clientID = srv.assignID()
		assigned = true
	}
	if cp.Properties.Has(packet.PropAuthenticationMethod) {
		c.refuse(packet.BadAuthenticationMethod, v, "enhanced authentication not supported")
		return nil
	}
	if srv.opts.Authorizer != nil && !c.admit(cp) {
		return nil
	}

	c.recvMax = 65535
	c.keepAlive = cp.KeepAlive
	var expiry uint32
	if v == packet.V5 {
		expiry = c.negotiate(cp, ack, assigned)
	} else if !cp.CleanStart {
		expiry = expiryNever
		if m := srv.opts.MaxSessionExpiry; m > 0 {
			expiry = m
		}
	}
	// A client never has more unacknowledged QoS 1/2 messages than half
	// its outbound queue holds; the rest wait in the session's queue. So
	// resending them all on a reconnect [MQTT-4.4.0-1] always fits the
	// queue: a larger backlog would get the client disconnected on every
	// reconnect, for ever.
	if lim := srv.opts.MaxOutboundQueue / 2; lim < int(c.recvMax) {
		c.recvMax = uint16(max(lim, 1))
	}
	if cp.WillFlag && !c.setWill(cp) {
		return nil
	}
	return c.attachAndAckAs(cp.Username, cp.CleanStart, expiry, ack)
}

// assignID returns a client identifier for a client that sent none.
//
//go:noinline
func (s *Server) assignID() string {
	return "mqttx-" + strconv.FormatUint(s.nextID.Add(1), 36) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
}

// negotiate applies an MQTT 5 CONNECT's properties and the server's limits
// to c, sets the CONNACK properties that tell the client, and returns the
// session expiry interval.
//
//go:noinline
func (c *conn) negotiate(cp *packet.Connect, ack *packet.Connack, assigned bool) (expiry uint32) {
	srv := c.srv
	p := &cp.Properties
	if p.Has(packet.PropReceiveMaximum) && p.ReceiveMaximum > 0 {
		c.recvMax = p.ReceiveMaximum
	}
	if p.Has(packet.PropMaximumPacketSize) {
		c.maxOut = p.MaximumPacketSize
	}
	c.setOutboundAliases(p.TopicAliasMaximum)
	expiry = p.SessionExpiry
	if m := srv.opts.MaxKeepAlive; m > 0 && (c.keepAlive == 0 || c.keepAlive > m) {
		c.keepAlive = m
		ack.Properties.ServerKeepAlive = m
		ack.Properties.Set(packet.PropServerKeepAlive)
	}
	if m := srv.opts.MaxSessionExpiry; m > 0 && expiry > m {
		expiry = m
		ack.Properties.SessionExpiry = m
		ack.Properties.Set(packet.PropSessionExpiryInterval)
	}
	if assigned {
		ack.Properties.AssignedClientID = []byte(c.clientID)
		ack.Properties.Set(packet.PropAssignedClientIdentifier)
	}
	if srv.opts.MaxInflight != 65535 {
		ack.Properties.ReceiveMaximum = srv.opts.MaxInflight
		ack.Properties.Set(packet.PropReceiveMaximum)
	}
	if srv.opts.TopicAliasMaximum > 0 {
		ack.Properties.TopicAliasMaximum = srv.opts.TopicAliasMaximum
		ack.Properties.Set(packet.PropTopicAliasMaximum)
	}
	if srv.opts.MaxPacketSize < packet.MaxPacketSize {
		ack.Properties.MaximumPacketSize = srv.opts.MaxPacketSize
		ack.Properties.Set(packet.PropMaximumPacketSize)
	}
	if p.Has(packet.PropRequestResponseInformation) && p.RequestResponseInfo == 1 {
		ack.Properties.ResponseInfo = []byte("mqttx/response/" + c.clientID)
		ack.Properties.Set(packet.PropResponseInformation)
	}
	return expiry
}

// setWill keeps the CONNECT's will message; false when it was refused.
//
//go:noinline
func (c *conn) setWill(cp *packet.Connect) bool {
	v := cp.Version
	switch c.srv.checkPublishTopic(cp.WillTopic) {
	case packet.TopicNameInvalid:
		c.refuse(packet.TopicNameInvalid, v, "will topic too deep or too long")
		return false
	case packet.NotAuthorized:
		c.refuse(packet.NotAuthorized, v, "will topic under $SYS/")
		return false
	}
	w := &message{
		topic:   cp.WillTopic,
		payload: clone(cp.WillPayload),
		qos:     cp.WillQoS,
		retain:  cp.WillRetain,
		origin:  c.clientID,
	}
	if w.payload == nil {
		w.payload = []byte{}
	}
	if v == packet.V5 {
		wp := &cp.WillProperties
		if wp.Has(packet.PropPayloadFormatIndicator) && wp.PayloadFormat == 1 && !packet.ValidUTF8(cp.WillPayload) {
			c.refuse(packet.PayloadFormatInvalid, v, "will payload is not UTF-8")
			return false
		}
		w.props = forwardProps(wp)
		if wp.Has(packet.PropMessageExpiryInterval) {
			w.expiresAt = int64(wp.MessageExpiry) // seconds until published; see publishWill
		}
		c.willDelay = wp.WillDelay
	}
	c.will = w
	return true
}

// attachAndAck attaches the session (taking over an old connection), queues
// the resent and offline messages and returns the CONNACK that serve writes
// ahead of them.
//
//go:noinline
func (c *conn) attachAndAck(clean bool, expiry uint32, ack *packet.Connack) []byte {
	// Only the event loop's hand-over comes here: the username waits in
	// Server.laterUsers.
	user := ""
	if u, ok := c.srv.laterUsers.LoadAndDelete(c); ok {
		user = u.(string)
	}
	return c.attachAndAckAs(user, clean, expiry, ack)
}

// attachAndAckAs is attachAndAck for a client logged in as user, who owns
// the session it creates.
//
//go:noinline
func (c *conn) attachAndAckAs(user string, clean bool, expiry uint32, ack *packet.Connack) []byte {
	srv := c.srv
	v := c.version
	if old := srv.sessions.Get(c.clientID); old != nil {
		old.mu.Lock()
		oc := old.conn
		old.mu.Unlock()
		if oc != nil {
			if c.onLoop {
				// drainForTakeover waits for the old connection's
				// reader, which the event loop must not do: it hands
				// this connection over to go on from here.
				c.later = &laterAttach{clean: clean, expiry: expiry, ack: *ack}
				if user != "" {
					srv.laterUser(c, user)
				}
				return nil
			}
			oc.drainForTakeover()
		}
	}
	// The reader takes the writer role before the connection becomes
	// visible to publishers (attach): serve writes the CONNACK built here
	// in c.small, and whatever is queued meanwhile follows (writeConnack).
	c.qmu.Lock()
	c.writing = true
	c.qmu.Unlock()
	srv.connMu.Lock()
	if srv.ownedByOther(c.clientID, user) {
		srv.connMu.Unlock()
		c.qmu.Lock()
		c.writing = false
		c.qmu.Unlock()
		c.refuse(packet.ClientIdentifierNotValid, v, "client id in use by another user")
		return nil
	}
	x, present, oldConn, oldWill := srv.attach(c, clean, expiry)
	x.user = user
	x.storeSessionLocked(v, 0)
	if v != packet.V31 {
		ack.SessionPresent = present
	}
	var b []byte
	if v == packet.V5 {
		var err error
		if b, err = ack.AppendTo(c.small[:0], v); err != nil {
			x.mu.Unlock()
			srv.connMu.Unlock()
			srv.log.Error("broker: encode CONNACK", "err", err)
			return nil
		}
	} else {
		// A 3.x CONNACK is four bytes.
		var flags byte
		if ack.SessionPresent {
			flags = 1
		}
		b = append(c.small[:0], byte(packet.CONNACK)<<4, 2, flags, byte(packet.V3ConnackCode(ack.ReasonCode)))
	}
	c.ready.Store(true)
	if len(x.inflight) > 0 || x.pendingLen() > 0 {
		// Only then: resumeLocked's frame is large, and a new connection's
		// stack should not grow for nothing.
		c.resumeLocked(x)
	}
	x.mu.Unlock()
	srv.connMu.Unlock()

	if oldConn != nil {
		c.emitConnEvent(EventTakenOver, oldConn)
		oldConn.disconnect(packet.SessionTakenOver)
	}
	if oldWill != nil {
		srv.publishWill(oldWill, c.clientID)
	}
	c.emitConnEvent(EventConnected, c)
	return b
}

// laterAttach is what attachAndAck needs to go on after a hand-over.
type laterAttach struct {
	clean  bool
	expiry uint32
	ack    packet.Connack
}

// writeConnack writes CONNACK on the reader goroutine, which holds the
// writer role, then leaves what was queued meanwhile (resent and offline
// messages) to flushReplies, like any reply. A new connection's answer thus costs no queue entry, buffer
// or writer goroutine. It is called from serve, the shallowest frame: the
// write system call path is deep and would grow the new goroutine's stack.
// A failed write closes the connection; the reader then finds it closed.
func (c *conn) writeConnack(b []byte) {
	n, err := c.nc.Write(b)
	c.countOut(n)
	c.qmu.Lock()
	c.writing = false
	c.lastWrite = time.Now().UnixNano()
	c.qmu.Unlock()
	if err != nil {
		c.shut()
		return
	}
	c.flushReplies()
}

// emitConnEvent reports an event about conn (c or the one it took over)
// with c's client id, in a frame of its own.
//
//go:noinline
func (c *conn) emitConnEvent(kind string, conn *conn) {
	if c.srv.opts.OnEvent == nil {
		return
	}
	c.srv.emit(Event{Kind: kind, ClientID: c.clientID, Remote: conn.remote, Version: byte(conn.version)})
}

// attach finds or creates the session for c and makes c its connection. It
// returns the session locked, whether it was resumed, a connection it took
// over, and a will to publish now. The caller holds srv.connMu.
func (s *Server) attach(c *conn, clean bool, expiry uint32) (x *session, present bool, oldConn *conn, oldWill *message) {
	old := s.sessions.Get(c.clientID)
	if old != nil {
		old.mu.Lock()
		if oc := old.conn; oc != nil {
			old.conn = nil
			oldConn = oc
			// The old connection's will is sent unless the new connection
			// resumes the session and the will has a delay [MQTT-3.1.4-3].
			if oc.will != nil && (clean || oc.willDelay == 0) {
				oldWill = oc.will
			}
			oc.will = nil
		}
		// A delayed will is not sent when the session is resumed in time
		// [MQTT-3.1.3-9]; a clean start ends the session, which sends it.
		pending := old.will
		old.will = nil
		if pending != nil {
			old.recordWillLocked(nil, 0)
		}
		old.stopTimers()
		if clean || old.ended {
			s.endSessionLocked(old)
			if pending != nil && oldWill == nil {
				oldWill = pending
			}
			old.mu.Unlock()
			old = nil
		}
	}
	if old == nil {
		x = newSession(s, c.clientID)
		x.mu.Lock()
		s.sessions.Put(x)
	} else {
		x = old
		present = true
	}
	x.conn = c
	x.online.v.Store(true)
	x.expiry = expiry
	c.sess = x
	return x, present, oldConn, oldWill
}

// resumeLocked resends unacknowledged messages in their original order with
// DUP set (PUBREL for those already PUBRECed) [MQTT-4.4.0-1], then sends
// queued messages up to the client's receive maximum, but for those queued
// longer than MaxOfflineAge.
func (c *conn) resumeLocked(x *session) {
	if x.pendingLen() > 0 {
		if n := x.dropStaleLocked(time.Now().UnixNano()); n > 0 {
			c.srv.log.Warn("broker: queued messages older than the offline age dropped", "client", c.clientID, "dropped", n, "limit", c.srv.opts.MaxOfflineAge)
		}
	}
	if len(x.inflight) > 0 {
		now := time.Now().UnixNano()
		for _, pid := range x.sortedInflight() {
			e := x.inflight[pid]
			if e.state == stateRelSent {
				c.reply(ackItem(packet.PUBREL, pid, packet.Success, c.version))
				continue
			}
			enc, err := encodePublish(&e.d, c.version, pid, true, now)
			if err != nil {
				delete(x.inflight, pid)
				x.recordDoneLocked(&e.d)
				continue
			}
			c.reply(outItem{buf: enc.buf, alias: c.aliasMax > 0})
		}
	}
	x.drainLocked(c)
}

// drainLocked sends queued messages while the client's receive maximum and
// the room in its outbound queue allow; expired ones are dropped
// [MQTT-3.3.2-5]. Then the retained messages of new subscriptions go on.
func (x *session) drainLocked(c *conn) {
	if x.pendingLen() == 0 {
		if x.retWaiting() {
			x.streamRetainedLocked(c, time.Now().UnixNano())
		}
		return
	}
	now := time.Now().UnixNano()
	for len(x.inflight) < int(c.recvMax) {
		if c.full(2) {
			c.waitRoom(now)
			return
		}
		d, ok := x.popPending()
		if !ok {
			if x.retWaiting() {
				x.streamRetainedLocked(c, now)
			}
			return
		}
		x.sendWaitingLocked(c, d, now)
	}
}

// sendWaitingLocked sends a delivery that waited in the session, unless it
// expired meanwhile [MQTT-3.3.2-5].
func (x *session) sendWaitingLocked(c *conn, d delivery, now int64) {
	if d.msg.expired(now) {
		x.recordDoneLocked(&d)
		return
	}
	enc, err := encodePublish(&d, c.version, 0, false, now)
	if err != nil {
		x.recordDoneLocked(&d)
		return
	}
	x.sendLocked(c, d, &enc, true)
}

// streamRetainedLocked sends the retained messages waiting for a new
// subscription as flow control allows: QoS 1/2 within the client's receive
// maximum (an acknowledgement goes on), all of them only while the outbound
// queue is less than half full (the writer goes on, see roomMade). None is
// dropped for want of room [MQTT-3.3.1-9].
func (x *session) streamRetainedLocked(c *conn, now int64) {
	for x.retWaiting() {
		r := x.ret
		d := r.q[r.head]
		if d.qos > 0 && len(x.inflight) >= int(c.recvMax) {
			return
		}
		if c.full(1) {
			c.askRoom()
			return
		}
		r.q[r.head] = delivery{}
		r.head++
		x.sendWaitingLocked(c, d, now)
	}
	x.ret = nil
}

// sendLocked queues d to c with the encoding enc; QoS 1/2 take a packet
// identifier and an inflight slot. A packet larger than the client's
// Maximum Packet Size is dropped for this client [MQTT-3.1.2-25].
//
// own is true when called on c's reader goroutine or its writer (see
// conn.reply).
func (x *session) sendLocked(c *conn, d delivery, enc *encoded, own bool) {
	if c.maxOut > 0 && uint32(len(enc.buf)) > c.maxOut {
		x.recordDoneLocked(&d)
		return
	}
	x.sent++
	if d.qos == 0 {
		if c.enqueueFrom(outItem{buf: enc.buf, qos0: true, alias: c.aliasMax > 0}, own) == enqDropped {
			c.noteDrop(d.msg.topic)
		}
		return
	}
	pid := x.allocPID()
	x.seq++
	if x.inflight == nil {
		x.inflight = make(map[uint16]inflight)
	}
	if x.stored {
		if d.seq == 0 {
			x.queueLocked(&d, pid)
		} else {
			x.recordSentLocked(&d, pid, stateSent)
		}
	}
	x.inflight[pid] = inflight{d: d, seq: x.seq}
	c.enqueueFrom(outItem{buf: enc.buf, pidOff: int32(enc.pidOff), pid: pid, alias: c.aliasMax > 0}, own)
}
