package broker

import (
	"errors"
	"io"
	"net"
	"time"

	"github.com/mqttx/mqttx/internal/packet"
)

// finish ends the connection: protocol errors are answered, the will is
// published or scheduled, and the session is detached or ended.
func (c *conn) finish(readErr error) {
	reason := "client disconnected"
	// The reader reads no more: a close queued from now on is the
	// writer's to drain (closeAfterDrain).
	c.qmu.Lock()
	c.readerDone = true
	written := c.closeWritten
	c.qmu.Unlock()
	if readErr == errTakenOver {
		// The new connection takes the session over and closes this one
		// (with DISCONNECT 0x8E for MQTT 5) once it has attached.
		if written {
			c.closeNow()
		}
		c.emitDisconnected(readErr.Error())
		return
	}
	if readErr != nil && !written {
		reason = c.readFailed(readErr)
	}
	c.qmu.Lock()
	c.closed = true
	closeNow := !c.closeQueued || c.closeWritten
	if c.slow != nil && c.slow.why != "" {
		reason = c.slow.why
	} else if c.closeWritten {
		reason = "closed by the server"
	}
	c.qmu.Unlock()
	if closeNow {
		c.closeNow()
	}

	srv := c.srv
	x := c.sess
	var willNow *message
	x.mu.Lock()
	if x.conn == c {
		x.conn = nil
		x.online.v.Store(false)
		x.storeSessionLocked(c.version, time.Now().UnixNano())
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
				x.recordWillLocked(w, time.Now().Add(time.Duration(delay)*time.Second).UnixNano())
				srv.willLaterLocked(x, w, time.Duration(delay)*time.Second)
			}
		}
		switch {
		case x.expiry == 0:
			srv.endSessionLocked(x)
		case x.expiry != expiryNever && !closing:
			srv.expireLaterLocked(x, time.Duration(x.expiry)*time.Second)
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
	s.sendWill(w, clientID)
}

// sendWill publishes a will, also while shutting down (see Shutdown).
func (s *Server) sendWill(w *message, clientID string) {
	if w.expiresAt != 0 {
		// expiresAt holds the interval in seconds until published.
		m := *w
		m.expiresAt = time.Now().UnixNano() + w.expiresAt*int64(time.Second)
		w = &m
	}
	s.emit(Event{Kind: EventWill, ClientID: clientID, Topic: w.topic, QoS: w.qos})
	if w.retain {
		s.retained.set(w)
		s.recordRetained(w)
	}
	s.route(w)
}
