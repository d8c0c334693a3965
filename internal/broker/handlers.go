package broker

import (
	"sync"
	"time"
	"unsafe"

	"github.com/mqttx/mqttx/internal/packet"
)

// handlePublish accepts an application message from the client.
func (c *conn) handlePublish(h packet.FixedHeader, body []byte) error {
	srv := c.srv
	if c.inPub == nil {
		c.inPub = new(packet.Publish)
	}
	p := c.inPub
	if err := p.DecodeInto(h.First(), body, c.version); err != nil {
		return err
	}
	c.sess.received.Add(1)
	var topic string
	owned := false // topic does not alias the read buffer
	if c.version == packet.V5 && p.Properties.Has(packet.PropTopicAlias) {
		a := p.Properties.TopicAlias
		if a == 0 || a > srv.opts.TopicAliasMaximum {
			return protoErr{packet.TopicAliasInvalid} // [MQTT-3.3.2-9] [MQTT-3.3.2-10]
		}
		if len(p.Topic) > 0 {
			owned = true
			if old, ok := c.aliases[a]; ok && old == string(p.Topic) {
				topic = old
			} else {
				topic = string(p.Topic)
				if c.aliases == nil {
					c.aliases = make(map[uint16]string)
				}
				c.aliases[a] = topic
			}
		} else {
			t, ok := c.aliases[a]
			if !ok {
				return protoErr{packet.ProtocolError}
			}
			topic, owned = t, true
		}
	} else {
		topic = unsafe.String(unsafe.SliceData(p.Topic), len(p.Topic)) // copied below
	}
	// The decoder has checked the topic name and QoS [MQTT-3.3.2-2]; an
	// aliased topic was checked when it was set.
	pid := p.PacketID
	if c.version == packet.V5 && len(p.Properties.SubscriptionIDs) > 0 {
		return protoErr{packet.ProtocolError} // [MQTT-3.3.4-6]
	}
	if code := srv.checkPublishTopic(topic); code != 0 {
		// Too deep or long, or the broker's own $SYS: refused (MQTT 5,
		// QoS 1/2), or dropped; never routed or retained.
		switch {
		case c.version == packet.V5 && p.QoS == 1:
			c.replyPub(ackItem(packet.PUBACK, pid, code, c.version))
		case c.version == packet.V5 && p.QoS == 2:
			c.replyPub(ackItem(packet.PUBREC, pid, code, c.version))
		case code == packet.TopicNameInvalid:
			return protoErr{code}
		case p.QoS == 1:
			c.replyPub(ackItem(packet.PUBACK, pid, packet.Success, c.version))
		case p.QoS == 2:
			c.replyPub(ackItem(packet.PUBREC, pid, packet.Success, c.version))
		}
		return nil
	}
	if c.version == packet.V5 && p.Properties.Has(packet.PropPayloadFormatIndicator) &&
		p.Properties.PayloadFormat == 1 && !packet.ValidUTF8(p.Payload) {
		// [MQTT-3.3.2-4]: the receiver may answer 0x99 Payload format invalid.
		switch p.QoS {
		case 0:
			return protoErr{packet.PayloadFormatInvalid}
		case 1:
			c.replyPub(ackItem(packet.PUBACK, pid, packet.PayloadFormatInvalid, c.version))
		case 2:
			c.replyPub(ackItem(packet.PUBREC, pid, packet.PayloadFormatInvalid, c.version))
		}
		return nil
	}
	allowed := srv.mayPublish(c.sess, topic)
	if !allowed && c.version == packet.V5 && p.QoS > 0 {
		c.refusePublish(p.QoS, pid)
		return nil
	}
	if p.QoS == 2 {
		x := c.sess
		x.mu.Lock()
		_, dup := x.qos2in[pid]
		if !dup {
			if len(x.qos2in) >= int(srv.opts.MaxInflight) {
				x.mu.Unlock()
				return protoErr{packet.ReceiveMaximumExceeded} // [MQTT-3.3.4-7]
			}
			if x.qos2in == nil {
				x.qos2in = make(map[uint16]struct{})
			}
			x.qos2in[pid] = struct{}{}
		}
		x.mu.Unlock()
		if dup {
			// Exactly once: a resent PUBLISH before PUBREL is not routed
			// again [MQTT-4.3.3-9].
			c.replyPub(ackItem(packet.PUBREC, pid, packet.Success, c.version))
			return nil
		}
	}
	if !allowed {
		// MQTT 3 has no way to say no: acknowledged and dropped, as in mosquitto.
		c.ackPublish(p.QoS, pid)
		return nil
	}
	m := &message{
		topic:  topic,
		qos:    p.QoS,
		retain: p.Retain,
		origin: c.clientID,
	}
	if owned {
		m.payload = append([]byte{}, p.Payload...)
	} else {
		// Topic and payload share one allocation.
		b := make([]byte, len(p.Topic)+len(p.Payload))
		n := copy(b, p.Topic)
		copy(b[n:], p.Payload)
		m.topic = unsafe.String(&b[0], n)
		m.payload = b[n:]
	}
	if c.version == packet.V5 {
		if !p.Properties.Empty() {
			m.props = forwardProps(&p.Properties)
		}
		if p.Properties.Has(packet.PropMessageExpiryInterval) {
			m.expiresAt = c.now + int64(p.Properties.MessageExpiry)*int64(time.Second)
		}
	}
	if srv.persist && p.QoS == 2 {
		c.routeQoS2(m, pid)
		return nil
	}
	if m.retain {
		srv.retained.set(m)
		srv.recordRetained(m)
	} else if srv.persist && p.QoS == 1 {
		c.routeDurable(m, ackItem(packet.PUBACK, pid, packet.Success, c.version))
		return nil
	}
	srv.routeAt(m, c.now)
	switch p.QoS {
	case 1:
		c.replyPub(ackItem(packet.PUBACK, pid, packet.Success, c.version))
	case 2:
		c.replyPub(ackItem(packet.PUBREC, pid, packet.Success, c.version))
	}
	return nil
}

// checkPublishTopic returns why a client may not publish to topic, or 0:
// it is deeper or longer than the limits, or under $SYS/, which is the
// broker's.
func (s *Server) checkPublishTopic(topic string) packet.ReasonCode {
	switch {
	case len(topic) > s.opts.MaxTopicLength || packet.TopicLevels(topic) > s.opts.MaxTopicLevels:
		return packet.TopicNameInvalid
	case packet.IsSysTopic(topic):
		return packet.NotAuthorized
	}
	return 0
}

// handleAck handles PUBACK, PUBREC, PUBCOMP for our messages and PUBREL for
// the client's QoS 2 messages. Identifiers are looked up in the map of the
// direction the packet belongs to, so the two never collide.
func (c *conn) handleAck(a *packet.Ack) error {
	x := c.sess
	x.mu.Lock()
	defer x.mu.Unlock()
	c.ackLocked(x, a)
	// Acknowledgements usually arrive in runs: handle the buffered ones
	// under the same lock so a busy subscriber's acks keep up with the
	// publishers contending for its session.
	for c.br.Buffered() >= 4 {
		b, _ := c.br.Peek(2)
		t := packet.Type(b[0] >> 4)
		if t < packet.PUBACK || t > packet.PUBCOMP || b[1] >= 0x80 || c.br.Buffered() < 2+int(b[1]) {
			return nil
		}
		h, body, buf, err := readPacket(c.br, c.maxIn(), c.buf)
		c.buf = buf
		if err != nil {
			return err
		}
		c.countIn(h.PacketSize())
		*a = packet.Ack{PacketType: h.Type}
		if err := a.DecodeInto(h.First(), body, c.version); err != nil {
			return err
		}
		c.ackLocked(x, a)
	}
	return nil
}

func (c *conn) ackLocked(x *session, a *packet.Ack) {
	switch a.PacketType {
	case packet.PUBACK:
		if e, ok := x.inflight[a.PacketID]; ok && e.d.qos == 1 {
			delete(x.inflight, a.PacketID)
			x.recordDoneLocked(&e.d)
			x.drainLocked(c)
		}
	case packet.PUBREC:
		e, ok := x.inflight[a.PacketID]
		if !ok || e.d.qos != 2 {
			c.replyPub(ackItem(packet.PUBREL, a.PacketID, packet.PacketIdentifierNotFound, c.version))
			return
		}
		if a.ReasonCode >= 0x80 {
			// A failed PUBREC ends the flow [MQTT-4.3.3-?]; no PUBREL.
			delete(x.inflight, a.PacketID)
			x.recordDoneLocked(&e.d)
			x.drainLocked(c)
			return
		}
		e.state = stateRelSent
		e.d = delivery{msg: e.d.msg, qos: 2, seq: e.d.seq} // the message itself is no longer needed for resend
		x.inflight[a.PacketID] = e
		x.recordSentLocked(&e.d, a.PacketID, stateRelSent)
		c.replyPub(ackItem(packet.PUBREL, a.PacketID, packet.Success, c.version))
	case packet.PUBCOMP:
		if e, ok := x.inflight[a.PacketID]; ok && e.state == stateRelSent {
			delete(x.inflight, a.PacketID)
			x.recordDoneLocked(&e.d)
			x.drainLocked(c)
		}
	case packet.PUBREL:
		rc := packet.Success
		if _, ok := x.qos2in[a.PacketID]; ok {
			delete(x.qos2in, a.PacketID)
			x.recordQos2InLocked(a.PacketID, false)
		} else {
			rc = packet.PacketIdentifierNotFound
		}
		c.replyPub(ackItem(packet.PUBCOMP, a.PacketID, rc, c.version))
	}
}

func (c *conn) handleSubscribe(p *packet.Subscribe) error {
	srv := c.srv
	x := c.sess
	var subID uint32
	if len(p.Properties.SubscriptionIDs) > 0 {
		subID = p.Properties.SubscriptionIDs[0]
	}
	codes := make([]packet.ReasonCode, len(p.Subscriptions))
	type retainedFor struct {
		sub  *subscription
		msgs []*message
	}
	var toSend []retainedFor
	now := time.Now().UnixNano()
	for i, s := range p.Subscriptions {
		if !packet.ValidTopicFilter(s.Filter) {
			codes[i] = packet.TopicFilterInvalid // written as 0x80 for 3.x
			continue
		}
		group, filter := splitShared(s.Filter)
		if group != "" && s.NoLocal {
			return protoErr{packet.ProtocolError} // [MQTT-3.8.3-4]
		}
		if len(s.Filter) > srv.opts.MaxTopicLength || packet.TopicLevels(filter) > srv.opts.MaxTopicLevels {
			codes[i] = packet.TopicFilterInvalid
			continue
		}
		if !srv.maySubscribe(x, filter) {
			codes[i] = packet.NotAuthorized // written as 0x80 for 3.x
			continue
		}
		sub := &subscription{
			sess:        x,
			filter:      s.Filter,
			group:       group,
			qos:         min(s.QoS, 2),
			noLocal:     s.NoLocal,
			retainAsPub: s.RetainAsPublished,
			retainHandl: s.RetainHandling,
			id:          subID,
		}
		x.mu.Lock()
		if x.ended {
			x.mu.Unlock()
			codes[i] = packet.UnspecifiedError
			continue
		}
		if _, had := x.subs[s.Filter]; !had && len(x.subs) >= srv.opts.MaxSubscriptions {
			x.mu.Unlock()
			codes[i] = packet.QuotaExceeded // written as 0x80 for 3.x
			continue
		}
		existed := srv.tree.add(sub)
		if x.subs == nil {
			x.subs = make(map[string]*subscription)
		}
		x.subs[s.Filter] = sub
		x.recordSubLocked(sub)
		x.mu.Unlock()
		codes[i] = packet.ReasonCode(sub.qos)
		// Retained messages: not for shared subscriptions; retain
		// handling 1 only for a new subscription, 2 never [MQTT-3.3.1-9..11].
		if group == "" && (sub.retainHandl == 0 || (sub.retainHandl == 1 && !existed)) {
			if msgs := srv.retained.match(filter, now); len(msgs) > 0 {
				toSend = append(toSend, retainedFor{sub, msgs})
			}
		}
		srv.emit(Event{Kind: EventSubscribed, ClientID: c.clientID, Remote: c.remote, Version: byte(c.version), Topic: s.Filter, QoS: sub.qos})
	}
	c.waitCommitted()
	c.sendPacket(&packet.Suback{PacketID: p.PacketID, ReasonCodes: codes})
	if len(toSend) == 0 {
		return nil
	}
	// Retained messages are streamed, not queued at once: there may be
	// more than the outbound queue holds (streamRetainedLocked).
	x.mu.Lock()
	if !x.ended {
		for _, r := range toSend {
			for _, m := range r.msgs {
				// Reading is checked on delivery, retained messages included.
				if srv.opts.Authorizer != nil && !x.mayReadLocked(m.topic) {
					continue
				}
				d := delivery{msg: m, qos: min(m.qos, r.sub.qos), retain: true}
				if r.sub.id != 0 {
					d.subIDs = []uint32{r.sub.id}
				}
				if x.ret == nil {
					x.ret = new(retStream)
				}
				x.ret.q = append(x.ret.q, d)
			}
		}
		if x.conn == c {
			x.streamRetainedLocked(c, now)
		}
	}
	x.mu.Unlock()
	return nil
}

func (c *conn) handleUnsubscribe(p *packet.Unsubscribe) {
	x := c.sess
	codes := make([]packet.ReasonCode, len(p.Filters))
	for i, f := range p.Filters {
		x.mu.Lock()
		_, had := x.subs[f]
		delete(x.subs, f)
		c.srv.tree.remove(x, f)
		if had {
			x.recordUnsubLocked(f)
		}
		x.mu.Unlock()
		if !had {
			codes[i] = packet.NoSubscriptionExisted
		}
		c.srv.emit(Event{Kind: EventUnsubscribed, ClientID: c.clientID, Remote: c.remote, Version: byte(c.version), Topic: f})
	}
	c.waitCommitted()
	c.sendPacket(&packet.Unsuback{PacketID: p.PacketID, ReasonCodes: codes})
}

func (c *conn) handleDisconnect(p *packet.Disconnect) error {
	x := c.sess
	x.mu.Lock()
	defer x.mu.Unlock()
	if c.version == packet.V5 {
		if p.Properties.Has(packet.PropSessionExpiryInterval) {
			// Changing a zero expiry to non-zero is a protocol error [MQTT-3.14.2-2].
			if x.expiry == 0 && p.Properties.SessionExpiry != 0 {
				return protoErr{packet.ProtocolError}
			}
			e := p.Properties.SessionExpiry
			if m := c.srv.opts.MaxSessionExpiry; m > 0 && e > m {
				e = m
			}
			x.expiry = e
		}
		if p.ReasonCode == packet.DisconnectWithWill {
			// 0x04 keeps the will [MQTT-3.14.4-3 does not apply].
			c.normalDisc = true
			return nil
		}
	}
	// A normal DISCONNECT discards the will [MQTT-3.14.4-3].
	c.will = nil
	c.normalDisc = true
	return nil
}

// router holds the per-publish scratch space, pooled.
type router struct {
	mt    matches
	aggs  []agg
	idx   map[*session]int
	forms [12]encoded // by wire form; buf nil when not encoded yet
}

type agg struct {
	sess *session
	qos  byte
	rap  bool
	ids  []uint32
}

var routerPool = sync.Pool{New: func() any { return &router{} }}

// route delivers m to every matching subscription: once per session at the
// highest granted QoS with every matching subscription identifier
// [MQTT-3.3.4-2] [MQTT-3.3.4-3], plus one member of each matching share
// group. Each wire form is encoded once and shared.
func (s *Server) route(m *message) { s.routeAt(m, time.Now().UnixNano()) }

func (s *Server) routeAt(m *message, now int64) {
	if m.expired(now) {
		return
	}
	r := routerPool.Get().(*router)
	s.tree.match(m.topic, &r.mt)
	useMap := len(r.mt.subs) > 16
	if useMap && r.idx == nil {
		r.idx = make(map[*session]int)
	}
	for _, sub := range r.mt.subs {
		if sub.noLocal && sub.sess.id == m.origin {
			continue // [MQTT-3.8.3-3]
		}
		i := -1
		if useMap {
			if j, ok := r.idx[sub.sess]; ok {
				i = j
			}
		} else {
			for j := range r.aggs {
				if r.aggs[j].sess == sub.sess {
					i = j
					break
				}
			}
		}
		if i < 0 {
			i = len(r.aggs)
			r.aggs = append(r.aggs, agg{sess: sub.sess})
			if useMap {
				r.idx[sub.sess] = i
			}
		}
		a := &r.aggs[i]
		a.qos = max(a.qos, sub.qos)
		a.rap = a.rap || sub.retainAsPub
		if sub.id != 0 {
			a.ids = append(a.ids, sub.id)
		}
	}
	for i := range r.aggs {
		a := &r.aggs[i]
		d := delivery{msg: m, qos: min(m.qos, a.qos), retain: m.retain && a.rap, subIDs: a.ids}
		a.sess.deliver(d, r, now, false)
	}
	for _, sub := range r.mt.shared {
		d := delivery{msg: m, qos: min(m.qos, sub.qos), retain: m.retain && sub.retainAsPub}
		if sub.id != 0 {
			d.subIDs = []uint32{sub.id}
		}
		sub.sess.deliver(d, r, now, false)
	}
	r.mt.reset()
	clear(r.aggs)
	r.aggs = r.aggs[:0]
	if useMap {
		clear(r.idx)
	}
	r.forms = [12]encoded{}
	routerPool.Put(r)
}

// deliver sends d now or queues it in order. r, when not nil, caches the
// encoding per wire form for this publish. own: see sendLocked.
func (x *session) deliver(d delivery, r *router, now int64, own bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ended || (x.srv.opts.Authorizer != nil && !x.mayReadLocked(d.msg.topic)) {
		return
	}
	c := x.conn
	wait := c == nil
	if !wait && d.qos > 0 {
		// QoS 1/2 wait for the receive maximum, and for room in the
		// outbound queue, behind those already waiting.
		wait = x.pendingLen() > 0 || len(x.inflight) >= int(c.recvMax)
		if len(x.inflight) < int(c.recvMax) && c.full(2) {
			wait = true
			c.waitRoom(now)
		}
	}
	if wait {
		// Offline, or waiting: QoS 1/2 queue in order, bounded; QoS 0 is
		// not queued.
		if d.qos == 0 {
			return
		}
		if c == nil && x.srv.opts.MaxOfflineAge > 0 {
			x.dropStaleLocked(now) // makes room for newer messages
		}
		if x.pendingLen() < x.srv.opts.MaxOfflineQueue {
			d.queued = now
			x.assignSeqLocked(&d)
			x.pushPending(d)
			return
		}
		x.srv.dropped.Add(1)
		if c != nil {
			// Online and its session's queue is full: as slow a client
			// as one whose outbound queue is full.
			c.waitRoom(now)
		}
		return
	}
	var enc *encoded
	if r != nil && len(d.subIDs) == 0 {
		k := int(d.qos) * 2
		if d.retain {
			k++
		}
		if c.version == packet.V5 {
			k += 6
		}
		enc = &r.forms[k]
		if enc.buf == nil {
			e, err := encodePublish(&d, c.version, 0, false, now)
			if err != nil {
				x.srv.log.Error("broker: encode PUBLISH", "topic", d.msg.topic, "err", err)
				return
			}
			*enc = e
		}
	} else {
		e, err := encodePublish(&d, c.version, 0, false, now)
		if err != nil {
			x.srv.log.Error("broker: encode PUBLISH", "topic", d.msg.topic, "err", err)
			return
		}
		enc = &e
	}
	x.sendLocked(c, d, enc, own)
}
