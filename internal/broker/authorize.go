package broker

import (
	"crypto/tls"
	"runtime"
	"strings"

	"github.com/mqttx/mqttx/internal/broker/auth"
	"github.com/mqttx/mqttx/internal/packet"
)

// Access decisions: every one goes through Options.Authorizer; without one
// everything is allowed and none of this runs.
//
// Password hashing is slow on purpose (a bcrypt check takes tens of
// milliseconds). So with an Authorizer the event loop hands every CONNECT
// to a goroutine (authOffLoop), and authenticate lets at most GOMAXPROCS
// checks run at once: a flood of wrong passwords queues up behind them,
// while connected clients' packets, read on other goroutines, keep being
// served between them.

// newAuthSem returns the semaphore bounding concurrent password checks.
func newAuthSem(a auth.Authorizer) chan struct{} {
	if a == nil {
		return nil
	}
	return make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
}

// authOffLoop reports whether CONNECT must be handled off the event loop:
// when the Authorizer may hash passwords. One that says it never does (an
// ACL alone) authenticates on the loop like no Authorizer.
func (s *Server) authOffLoop() bool {
	if s.opts.Authorizer == nil {
		return false
	}
	h, ok := s.opts.Authorizer.(interface{ HashesPasswords() bool })
	return !ok || h.HashesPasswords()
}

// laterUser keeps the username of a CONNECT the event loop hands over to
// take over a session (see attachAndAck), by connection.
func (s *Server) laterUser(c *conn, user string) { s.laterUsers.Store(c, user) }

// authenticate checks a CONNECT's credentials, waiting for a free slot.
//
//go:noinline
func (c *conn) authenticate(cp *packet.Connect) bool {
	srv := c.srv
	if srv.opts.Authorizer == nil {
		return true
	}
	l := auth.Login{
		ClientID:    c.clientID,
		Username:    cp.Username,
		HasUsername: cp.UsernameFlag,
		Password:    cp.Password,
		HasPassword: cp.PasswordFlag,
	}
	if ts, ok := c.nc.(interface{ ConnectionState() tls.ConnectionState }); ok {
		if st := ts.ConnectionState(); len(st.VerifiedChains) > 0 && len(st.PeerCertificates) > 0 {
			l.CertCN = st.PeerCertificates[0].Subject.CommonName
		}
	}
	var ok bool
	if srv.authOffLoop() {
		srv.authSem <- struct{}{}
		ok = srv.opts.Authorizer.Authenticate(&l)
		<-srv.authSem
	} else {
		ok = srv.opts.Authorizer.Authenticate(&l)
	}
	// From here on the client is who Authenticate says (see auth.Login).
	cp.Username, cp.UsernameFlag = l.Username, l.HasUsername
	return ok
}

// mayPublish reports whether the session's client may publish to topic. A
// publisher usually sends to the same few topics: the decisions are kept.
func (s *Server) mayPublish(x *session, topic string) bool {
	if s.opts.Authorizer == nil {
		return true
	}
	x.mu.Lock()
	ok, found := x.pubCache.lookup(topic)
	x.mu.Unlock()
	if found {
		return ok
	}
	ok = s.opts.Authorizer.MayPublish(x.id, x.user, topic)
	x.mu.Lock()
	x.pubCache = x.pubCache.store(topic, ok)
	x.mu.Unlock()
	return ok
}

// maySubscribe reports whether the session's client may subscribe to filter
// (the filter part of a shared subscription).
func (s *Server) maySubscribe(x *session, filter string) bool {
	return s.opts.Authorizer == nil || s.opts.Authorizer.MaySubscribe(x.id, x.user, filter)
}

// mayReadLocked reports whether a message on topic may be delivered to the
// session; the caller holds x.mu. It is checked on every delivery, so a
// subscription to # never brings a topic the client may not read. A
// subscriber gets runs of messages on a few topics: the decisions are kept.
func (x *session) mayReadLocked(topic string) bool {
	if ok, found := x.readCache.lookup(topic); found {
		return ok
	}
	ok := x.srv.opts.Authorizer.MayRead(x.id, x.user, topic)
	x.readCache = x.readCache.store(topic, ok)
	return ok
}

// aclCacheSize is how many topics' decisions a session keeps per direction:
// a comparison of each costs far less than matching the ACL's rules.
const aclCacheSize = 8

// aclCache is a session's last access decisions by topic, guarded by the
// session's mu. It is made on the first decision, so sessions that never
// publish or receive pay one pointer; topics are copied, so a cached topic
// keeps no message alive.
type aclCache struct {
	topic [aclCacheSize]string
	ok    [aclCacheSize]bool
	n     int // entries in use
	next  int // the entry replaced next
}

func (c *aclCache) lookup(topic string) (ok, found bool) {
	if c == nil {
		return false, false
	}
	for i := range c.n {
		if c.topic[i] == topic {
			return c.ok[i], true
		}
	}
	return false, false
}

// store records a decision, replacing the oldest when full; it returns c,
// made when nil.
func (c *aclCache) store(topic string, ok bool) *aclCache {
	if c == nil {
		c = new(aclCache)
	}
	i := c.next
	c.topic[i], c.ok[i] = strings.Clone(topic), ok
	c.next = (i + 1) % aclCacheSize
	c.n = max(c.n, i+1)
	return c
}

// ownedByOther reports whether client id's existing session belongs to
// another user than user. A session belongs to the user that created it:
// another user presenting its client id is refused (CONNACK 0x85 Client
// Identifier not valid, 3.1.1: 0x02 identifier rejected) rather than given
// its messages or allowed to disconnect its owner. Without an Authorizer
// usernames are not checked, so sessions have no owner.
func (s *Server) ownedByOther(id, user string) bool {
	if s.opts.Authorizer == nil {
		return false
	}
	x := s.sessions.Get(id)
	if x == nil {
		return false
	}
	x.mu.Lock()
	other := !x.ended && x.user != user
	x.mu.Unlock()
	return other
}

// admit authenticates a CONNECT and checks that its client id is not
// another user's session; it refuses the connection and returns false
// otherwise. A will on a topic the client may not publish to is dropped, so
// never published, and the connection goes on, as in mosquitto.
//
//go:noinline
func (c *conn) admit(cp *packet.Connect) bool {
	srv := c.srv
	v := cp.Version
	if !c.authenticate(cp) {
		c.refuse(packet.BadUserNameOrPassword, v, "bad user name or password ("+loginName(cp)+")")
		return false
	}
	if cp.WillFlag && !srv.opts.Authorizer.MayPublish(c.clientID, cp.Username, cp.WillTopic) {
		cp.WillFlag = false
	}
	if srv.ownedByOther(c.clientID, cp.Username) {
		c.refuse(packet.ClientIdentifierNotValid, v, "client id in use by another user")
		return false
	}
	return true
}

// loginName names the CONNECT's username for a log line; the event printer
// quotes the whole reason when it needs to.
func loginName(cp *packet.Connect) string {
	if !cp.UsernameFlag {
		return "no username"
	}
	return "user " + cp.Username
}

// refusePublish answers an MQTT 5 QoS 1 or 2 PUBLISH the client may not send
// with 0x87 Not authorized; the message goes nowhere.
func (c *conn) refusePublish(qos byte, pid uint16) {
	t := packet.PUBACK
	if qos == 2 {
		t = packet.PUBREC
	}
	c.replyPub(ackItem(t, pid, packet.NotAuthorized, c.version))
}

// ackPublish acknowledges a PUBLISH as if it had been routed (MQTT 3 has no
// code for a refusal); for QoS 2 the packet id is already held until PUBREL.
func (c *conn) ackPublish(qos byte, pid uint16) {
	switch qos {
	case 1:
		c.replyPub(ackItem(packet.PUBACK, pid, packet.Success, c.version))
	case 2:
		c.replyPub(ackItem(packet.PUBREC, pid, packet.Success, c.version))
	}
}
