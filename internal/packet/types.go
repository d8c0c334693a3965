package packet

// Connect is the CONNECT packet. On decode, ProtocolName and Version come from the packet;
// on encode, ProtocolName may be left empty and is derived from the version ("MQIsdp" for
// V31, "MQTT" otherwise) and Version, when zero, is taken from AppendTo's argument.
type Connect struct {
	ProtocolName string
	Version      Version
	CleanStart   bool // Clean Session in 3.1 / 3.1.1
	KeepAlive    uint16
	ClientID     string

	WillFlag       bool
	WillQoS        byte
	WillRetain     bool
	WillTopic      string
	WillPayload    []byte
	WillProperties Properties // MQTT 5 only

	UsernameFlag bool
	Username     string
	PasswordFlag bool
	Password     []byte

	Properties Properties // MQTT 5 only
}

// Connack is the CONNACK packet. ReasonCode holds an MQTT 5 reason code; when encoding
// for 3.1 / 3.1.1 it is mapped with V3ConnackCode. Decoding a 3.x CONNACK leaves the 3.x
// return code (0-5) in ReasonCode.
type Connack struct {
	SessionPresent bool
	ReasonCode     ReasonCode
	Properties     Properties
}

// Publish is the PUBLISH packet. Topic and Payload alias the decode buffer.
type Publish struct {
	Topic      []byte
	Payload    []byte
	QoS        byte
	Retain     bool
	Dup        bool
	PacketID   uint16 // zero for QoS 0
	Properties Properties
}

// Ack is PUBACK, PUBREC, PUBREL or PUBCOMP, chosen by PacketType.
type Ack struct {
	PacketType Type
	PacketID   uint16
	ReasonCode ReasonCode // MQTT 5 only
	Properties Properties // MQTT 5 only
}

// Subscription is one topic filter of a SUBSCRIBE with its options.
type Subscription struct {
	Filter            string
	QoS               byte
	NoLocal           bool // MQTT 5 only
	RetainAsPublished bool // MQTT 5 only
	RetainHandling    byte // MQTT 5 only: 0, 1 or 2
}

// Subscribe is the SUBSCRIBE packet.
type Subscribe struct {
	PacketID      uint16
	Subscriptions []Subscription
	Properties    Properties
}

// Suback is the SUBACK packet: one reason code per requested filter (granted QoS 0-2 or a
// failure code; 3.x failures are written as 0x80).
type Suback struct {
	PacketID    uint16
	ReasonCodes []ReasonCode
	Properties  Properties
}

// Unsubscribe is the UNSUBSCRIBE packet.
type Unsubscribe struct {
	PacketID   uint16
	Filters    []string
	Properties Properties
}

// Unsuback is the UNSUBACK packet. ReasonCodes and Properties exist in MQTT 5 only.
type Unsuback struct {
	PacketID    uint16
	ReasonCodes []ReasonCode
	Properties  Properties
}

// Pingreq is the PINGREQ packet.
type Pingreq struct{}

// Pingresp is the PINGRESP packet.
type Pingresp struct{}

// Disconnect is the DISCONNECT packet. ReasonCode and Properties exist in MQTT 5 only.
type Disconnect struct {
	ReasonCode ReasonCode
	Properties Properties
}

// Auth is the MQTT 5 AUTH packet.
type Auth struct {
	ReasonCode ReasonCode
	Properties Properties
}

// Type returns CONNECT.
func (*Connect) Type() Type { return CONNECT }

// Type returns CONNACK.
func (*Connack) Type() Type { return CONNACK }

// Type returns PUBLISH.
func (*Publish) Type() Type { return PUBLISH }

// Type returns the ack's PacketType.
func (a *Ack) Type() Type { return a.PacketType }

// Type returns SUBSCRIBE.
func (*Subscribe) Type() Type { return SUBSCRIBE }

// Type returns SUBACK.
func (*Suback) Type() Type { return SUBACK }

// Type returns UNSUBSCRIBE.
func (*Unsubscribe) Type() Type { return UNSUBSCRIBE }

// Type returns UNSUBACK.
func (*Unsuback) Type() Type { return UNSUBACK }

// Type returns PINGREQ.
func (*Pingreq) Type() Type { return PINGREQ }

// Type returns PINGRESP.
func (*Pingresp) Type() Type { return PINGRESP }

// Type returns DISCONNECT.
func (*Disconnect) Type() Type { return DISCONNECT }

// Type returns AUTH.
func (*Auth) Type() Type { return AUTH }
