// Package store keeps the broker's durable state: persistent sessions,
// their subscriptions, queued and inflight QoS 1/2 messages, inbound QoS 2
// packet identifiers, delayed wills and retained messages.
//
// The engine keeps its state in memory and reports every durable change to
// a Store as an ordered stream of events; at start, Load returns what the
// events left, to rebuild the sessions. Sync runs a callback once every
// event added before it is durably committed: the engine acknowledges a
// PUBLISH from there. Memory is the Store of a broker without persistence;
// Bolt keeps the state in a bbolt file.
package store

import "github.com/mqttx/mqttx/internal/packet"

// Committed is told when what was added to a store before it is committed
// (Store.Sync).
type Committed interface{ Committed() }

// Func is a function as a Committed.
type Func func()

// Committed calls f.
func (f Func) Committed() { f() }

// Store receives the durable events of a broker.
type Store interface {
	// Add records ev after the events added before it. It does not block
	// on the disk.
	Add(ev Event)
	// Sync calls c.Committed once every event added before it is
	// committed; Committed must not block.
	Sync(c Committed)
	// Atomic runs fn; the events fn adds are committed together, or none
	// of them. fn must not call Atomic or wait for a Sync callback.
	Atomic(fn func())
	// Load returns the state the store holds, as of its opening.
	Load() (*State, error)
	// Durable reports whether the store keeps anything: the engine
	// reports no events to a store that does not.
	Durable() bool
}

// Kind is what an Event changes.
type Kind uint8

// Event kinds. Each names the fields of Event it uses.
const (
	// SessionPut creates or updates a persistent session: Client, Session.
	SessionPut Kind = iota + 1
	// SessionDel removes a session and everything it holds: Client.
	SessionDel
	// SubPut adds or replaces a subscription: Client, Sub.
	SubPut
	// SubDel removes the subscription to Topic (the filter): Client, Topic.
	SubDel
	// MsgPut queues a message for a session at Seq: Client, Seq, Msg, and
	// QoS, Retain, SubIDs and At, which replace the message's own (QoS,
	// Retain, SubIDs as delivered to the session, At the enqueue time).
	// With PID not 0 the message is sent at once: PID and State are its
	// inflight state, as with InflightPut.
	MsgPut
	// MsgDel removes the message at Seq (acknowledged, expired, dropped):
	// Client, Seq.
	MsgDel
	// InflightPut records that the message at Seq was sent with packet
	// identifier PID and is in State: Client, Seq, PID, State.
	InflightPut
	// Qos2InPut holds the client's QoS 2 packet identifier PID until
	// PUBREL: Client, PID.
	Qos2InPut
	// Qos2InDel releases PID: Client, PID.
	Qos2InDel
	// RetainedPut sets the retained message of Msg.Topic: Msg.
	RetainedPut
	// RetainedDel clears the retained message of Topic: Topic.
	RetainedDel
	// WillPut sets the delayed will of an offline session, published at
	// Msg.EnqueuedAt (unix nanoseconds): Client, Msg.
	WillPut
	// WillDel clears the delayed will: Client.
	WillDel
)

// Inflight states of an outbound message.
const (
	StateSent    = 0 // PUBLISH sent, waiting for PUBACK or PUBREC
	StateRelSent = 1 // PUBREL sent, waiting for PUBCOMP
)

// Event is one durable change.
type Event struct {
	Kind    Kind
	Client  string
	Topic   string
	Seq     uint64
	PID     uint16
	State   byte
	QoS     byte
	Retain  bool
	SubIDs  []uint32
	At      int64
	Session *Session
	Sub     *Subscription
	Msg     Source
}

// Source gives the message of an event. A store calls it only when it
// writes the message: one queued and acknowledged between two commits
// never needs it built.
type Source interface {
	StoreMessage() *Message
}

// StoreMessage returns m.
func (m *Message) StoreMessage() *Message { return m }

// Session is what a persistent session keeps besides its contents.
type Session struct {
	User    string // the username that created it
	Expiry  uint32 // seconds after disconnect; 0xFFFFFFFF for never
	Version byte   // protocol level of its last connection
	// DisconnectedAt is when its last connection ended (unix
	// nanoseconds), 0 while connected: the expiry counts from it.
	DisconnectedAt int64
}

// Subscription is one subscription of a session.
type Subscription struct {
	Filter         string // as subscribed, with any $share/group/ prefix
	QoS            byte
	NoLocal        bool
	RetainAsPub    bool
	RetainHandling byte
	ID             uint32 // subscription identifier, 0 for none
}

// Message is an application message as queued for one session (QoS and
// Retain as delivered to it), as a retained message or as a will.
type Message struct {
	Topic     string
	Payload   []byte
	QoS       byte
	Retain    bool
	Origin    string // client id of the publisher, for No Local
	ExpiresAt int64  // unix nanoseconds; 0 for never
	// EnqueuedAt is when the message was queued (unix nanoseconds), so an
	// age limit applies after a restart too.
	EnqueuedAt int64
	SubIDs     []uint32
	// Props holds the properties forwarded with the message: payload
	// format, content type, response topic, correlation data and user
	// properties.
	Props packet.Properties
}

// QueuedMessage is a message of a session's queue as loaded.
type QueuedMessage struct {
	Seq      uint64
	Msg      *Message
	Inflight bool // sent with PID, in State
	PID      uint16
	State    byte
}

// SessionState is one session as loaded.
type SessionState struct {
	Client  string
	Session Session
	Subs    []Subscription
	Queue   []QueuedMessage // by Seq
	Qos2In  []uint16
	Will    *Message // delayed will, published at EnqueuedAt; nil for none
}

// State is everything a store holds.
type State struct {
	Sessions []SessionState
	Retained []*Message
}

// Memory is the Store of a broker without persistence: it keeps nothing,
// and Sync runs its callback at once.
type Memory struct{}

func (Memory) Add(Event)             {}
func (Memory) Sync(c Committed)      { c.Committed() }
func (Memory) Atomic(fn func())      { fn() }
func (Memory) Load() (*State, error) { return &State{}, nil }
func (Memory) Durable() bool         { return false }
