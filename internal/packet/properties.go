package packet

import mbits "math/bits"

// PropID is an MQTT 5 property identifier.
type PropID byte

// MQTT 5 property identifiers (section 2.2.2.2).
const (
	PropPayloadFormatIndicator          PropID = 0x01
	PropMessageExpiryInterval           PropID = 0x02
	PropContentType                     PropID = 0x03
	PropResponseTopic                   PropID = 0x08
	PropCorrelationData                 PropID = 0x09
	PropSubscriptionIdentifier          PropID = 0x0B
	PropSessionExpiryInterval           PropID = 0x11
	PropAssignedClientIdentifier        PropID = 0x12
	PropServerKeepAlive                 PropID = 0x13
	PropAuthenticationMethod            PropID = 0x15
	PropAuthenticationData              PropID = 0x16
	PropRequestProblemInformation       PropID = 0x17
	PropWillDelayInterval               PropID = 0x18
	PropRequestResponseInformation      PropID = 0x19
	PropResponseInformation             PropID = 0x1A
	PropServerReference                 PropID = 0x1C
	PropReasonString                    PropID = 0x1F
	PropReceiveMaximum                  PropID = 0x21
	PropTopicAliasMaximum               PropID = 0x22
	PropTopicAlias                      PropID = 0x23
	PropMaximumQoS                      PropID = 0x24
	PropRetainAvailable                 PropID = 0x25
	PropUserProperty                    PropID = 0x26
	PropMaximumPacketSize               PropID = 0x27
	PropWildcardSubscriptionAvailable   PropID = 0x28
	PropSubscriptionIdentifierAvailable PropID = 0x29
	PropSharedSubscriptionAvailable     PropID = 0x2A
)

// UserProperty is one User Property name/value pair; order and duplicates are significant.
type UserProperty struct {
	Key   []byte
	Value []byte
}

// Properties holds every MQTT 5 property. Presence of a single-valued property is a bit in
// an internal mask (Has, Set, Clear) so that decoding allocates nothing; the value lives in
// the field of the same name. Subscription identifiers and user properties are present when
// their slices are non-empty. []byte values alias the decode buffer; see Clone.
type Properties struct {
	mask uint64

	PayloadFormat        byte   // 0x01: 0 unspecified bytes, 1 UTF-8
	MessageExpiry        uint32 // 0x02 seconds
	ContentType          []byte // 0x03
	ResponseTopic        []byte // 0x08
	CorrelationData      []byte // 0x09
	SubscriptionIDs      []uint32
	SessionExpiry        uint32 // 0x11 seconds
	AssignedClientID     []byte // 0x12
	ServerKeepAlive      uint16 // 0x13 seconds
	AuthMethod           []byte // 0x15
	AuthData             []byte // 0x16
	RequestProblemInfo   byte   // 0x17
	WillDelay            uint32 // 0x18 seconds
	RequestResponseInfo  byte   // 0x19
	ResponseInfo         []byte // 0x1A
	ServerReference      []byte // 0x1C
	ReasonString         []byte // 0x1F
	ReceiveMaximum       uint16 // 0x21
	TopicAliasMaximum    uint16 // 0x22
	TopicAlias           uint16 // 0x23
	MaximumQoS           byte   // 0x24
	RetainAvailable      byte   // 0x25
	User                 []UserProperty
	MaximumPacketSize    uint32 // 0x27
	WildcardSubAvailable byte   // 0x28
	SubIDAvailable       byte   // 0x29
	SharedSubAvailable   byte   // 0x2A
}

// Has reports whether property id is present.
func (p *Properties) Has(id PropID) bool {
	switch id {
	case PropSubscriptionIdentifier:
		return len(p.SubscriptionIDs) > 0
	case PropUserProperty:
		return len(p.User) > 0
	}
	return id < 64 && p.mask&(1<<id) != 0
}

// Set marks property id present; set its field too. For Subscription Identifier and User
// Property presence follows the slices and Set does nothing.
func (p *Properties) Set(id PropID) {
	if id < 64 {
		p.mask |= 1 << id
	}
}

// Clear marks property id absent (and empties the slice for the multi-valued ones).
func (p *Properties) Clear(id PropID) {
	switch id {
	case PropSubscriptionIdentifier:
		p.SubscriptionIDs = p.SubscriptionIDs[:0]
	case PropUserProperty:
		p.User = p.User[:0]
	}
	if id < 64 {
		p.mask &^= 1 << id
	}
}

// Reset removes every property, keeping slice capacity for reuse.
func (p *Properties) Reset() {
	if p.mask == 0 && len(p.SubscriptionIDs) == 0 && len(p.User) == 0 {
		// Already empty (the common case when decoding for 3.x): skip clearing the
		// value fields, which mean nothing without their presence bit.
		return
	}
	*p = Properties{SubscriptionIDs: p.SubscriptionIDs[:0], User: p.User[:0]}
}

// Empty reports whether no property is present.
func (p *Properties) Empty() bool {
	return p.mask == 0 && len(p.SubscriptionIDs) == 0 && len(p.User) == 0
}

// Bit 0 of a property's kinds mask stands for the Will Properties of CONNECT (type 0 is
// otherwise reserved); bit t for packet type t.
const willKind Type = 0

func kinds(ts ...Type) uint16 {
	var m uint16
	for _, t := range ts {
		m |= 1 << t
	}
	return m
}

// propKinds lists where each property may appear (MQTT 5 section 2.2.2.2); zero means the
// identifier is unknown.
var propKinds = [64]uint16{
	PropPayloadFormatIndicator:          kinds(PUBLISH, willKind),
	PropMessageExpiryInterval:           kinds(PUBLISH, willKind),
	PropContentType:                     kinds(PUBLISH, willKind),
	PropResponseTopic:                   kinds(PUBLISH, willKind),
	PropCorrelationData:                 kinds(PUBLISH, willKind),
	PropSubscriptionIdentifier:          kinds(PUBLISH, SUBSCRIBE),
	PropSessionExpiryInterval:           kinds(CONNECT, CONNACK, DISCONNECT),
	PropAssignedClientIdentifier:        kinds(CONNACK),
	PropServerKeepAlive:                 kinds(CONNACK),
	PropAuthenticationMethod:            kinds(CONNECT, CONNACK, AUTH),
	PropAuthenticationData:              kinds(CONNECT, CONNACK, AUTH),
	PropRequestProblemInformation:       kinds(CONNECT),
	PropWillDelayInterval:               kinds(willKind),
	PropRequestResponseInformation:      kinds(CONNECT),
	PropResponseInformation:             kinds(CONNACK),
	PropServerReference:                 kinds(CONNACK, DISCONNECT),
	PropReasonString:                    kinds(CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH),
	PropReceiveMaximum:                  kinds(CONNECT, CONNACK),
	PropTopicAliasMaximum:               kinds(CONNECT, CONNACK),
	PropTopicAlias:                      kinds(PUBLISH),
	PropMaximumQoS:                      kinds(CONNACK),
	PropRetainAvailable:                 kinds(CONNACK),
	PropUserProperty:                    kinds(CONNECT, CONNACK, PUBLISH, willKind, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, DISCONNECT, AUTH),
	PropMaximumPacketSize:               kinds(CONNECT, CONNACK),
	PropWildcardSubscriptionAvailable:   kinds(CONNACK),
	PropSubscriptionIdentifierAvailable: kinds(CONNACK),
	PropSharedSubscriptionAvailable:     kinds(CONNACK),
}

// PropAllowed reports whether property id may appear in a packet of type t. Use t == 0 for
// the Will Properties of CONNECT.
func PropAllowed(id PropID, t Type) bool {
	return id < 64 && t < 16 && propKinds[id]&(1<<t) != 0
}

// allowedMask is the set of single-valued property bits allowed for kind t.
var allowedMask = func() [16]uint64 {
	var m [16]uint64
	for id, k := range propKinds {
		for t := 0; t < 16; t++ {
			if k&(1<<t) != 0 {
				m[t] |= 1 << id
			}
		}
	}
	return m
}()

func kindName(t Type) string {
	if t == willKind {
		return "Will Properties"
	}
	return t.String()
}

// decode reads a property length and the properties that follow into p, replacing its
// contents. kind is the packet type (or willKind).
func (d *decoder) props(p *Properties, kind Type) {
	p.Reset()
	n := d.varint("property length")
	if d.err != nil {
		return
	}
	if uint32(len(d.b)) < n {
		d.short("properties")
		return
	}
	rest := d.b[n:]
	d.b = d.b[:n]
	for len(d.b) > 0 && d.err == nil {
		d.prop(p, kind)
	}
	if d.err == nil {
		d.b = rest
		if p.mask&(1<<PropAuthenticationData) != 0 && p.mask&(1<<PropAuthenticationMethod) == 0 {
			d.fail(ProtocolError, "Authentication Data without Authentication Method in %s", kindName(kind))
		}
	}
}

func (d *decoder) flag(what string, v byte) byte {
	if v > 1 {
		d.fail(ProtocolError, "%s is %d, must be 0 or 1", what, v)
	}
	return v
}

func (d *decoder) prop(p *Properties, kind Type) {
	b := d.u8("property identifier")
	id := PropID(b)
	if b >= 64 || propKinds[id] == 0 {
		d.fail(MalformedPacket, "unknown property identifier 0x%02X", b)
		return
	}
	if propKinds[id]&(1<<kind) == 0 {
		d.fail(ProtocolError, "property 0x%02X is not allowed in %s", b, kindName(kind))
		return
	}
	switch id {
	case PropSubscriptionIdentifier:
		v := d.varint("Subscription Identifier")
		if d.err != nil {
			return
		}
		if v == 0 {
			d.fail(ProtocolError, "Subscription Identifier 0 is not allowed")
			return
		}
		if kind == SUBSCRIBE && len(p.SubscriptionIDs) > 0 {
			d.fail(ProtocolError, "more than one Subscription Identifier in SUBSCRIBE")
			return
		}
		p.SubscriptionIDs = append(p.SubscriptionIDs, v)
		return
	case PropUserProperty:
		k := d.utf8("User Property name")
		v := d.utf8("User Property value")
		if d.err == nil {
			p.User = append(p.User, UserProperty{Key: k, Value: v})
		}
		return
	}
	if p.mask&(1<<id) != 0 {
		d.fail(ProtocolError, "property 0x%02X included more than once", b)
		return
	}
	p.mask |= 1 << id
	switch id {
	case PropPayloadFormatIndicator:
		p.PayloadFormat = d.flag("Payload Format Indicator", d.u8("Payload Format Indicator"))
	case PropMessageExpiryInterval:
		p.MessageExpiry = d.u32("Message Expiry Interval")
	case PropContentType:
		p.ContentType = d.utf8("Content Type")
	case PropResponseTopic:
		p.ResponseTopic = d.utf8("Response Topic")
		if d.err == nil && !validTopicNameBytes(p.ResponseTopic) {
			d.fail(ProtocolError, "Response Topic %q is not a valid topic name", p.ResponseTopic)
		}
	case PropCorrelationData:
		p.CorrelationData = d.bin("Correlation Data")
	case PropSessionExpiryInterval:
		p.SessionExpiry = d.u32("Session Expiry Interval")
	case PropAssignedClientIdentifier:
		p.AssignedClientID = d.utf8("Assigned Client Identifier")
	case PropServerKeepAlive:
		p.ServerKeepAlive = d.u16("Server Keep Alive")
	case PropAuthenticationMethod:
		p.AuthMethod = d.utf8("Authentication Method")
	case PropAuthenticationData:
		p.AuthData = d.bin("Authentication Data")
	case PropRequestProblemInformation:
		p.RequestProblemInfo = d.flag("Request Problem Information", d.u8("Request Problem Information"))
	case PropWillDelayInterval:
		p.WillDelay = d.u32("Will Delay Interval")
	case PropRequestResponseInformation:
		p.RequestResponseInfo = d.flag("Request Response Information", d.u8("Request Response Information"))
	case PropResponseInformation:
		p.ResponseInfo = d.utf8("Response Information")
	case PropServerReference:
		p.ServerReference = d.utf8("Server Reference")
	case PropReasonString:
		p.ReasonString = d.utf8("Reason String")
	case PropReceiveMaximum:
		p.ReceiveMaximum = d.u16("Receive Maximum")
		if d.err == nil && p.ReceiveMaximum == 0 {
			d.fail(ProtocolError, "Receive Maximum 0 is not allowed")
		}
	case PropTopicAliasMaximum:
		p.TopicAliasMaximum = d.u16("Topic Alias Maximum")
	case PropTopicAlias:
		p.TopicAlias = d.u16("Topic Alias")
		if d.err == nil && p.TopicAlias == 0 {
			d.fail(TopicAliasInvalid, "Topic Alias 0 is not allowed")
		}
	case PropMaximumQoS:
		p.MaximumQoS = d.flag("Maximum QoS", d.u8("Maximum QoS"))
	case PropRetainAvailable:
		p.RetainAvailable = d.flag("Retain Available", d.u8("Retain Available"))
	case PropMaximumPacketSize:
		p.MaximumPacketSize = d.u32("Maximum Packet Size")
		if d.err == nil && p.MaximumPacketSize == 0 {
			d.fail(ProtocolError, "Maximum Packet Size 0 is not allowed")
		}
	case PropWildcardSubscriptionAvailable:
		p.WildcardSubAvailable = d.flag("Wildcard Subscription Available", d.u8("Wildcard Subscription Available"))
	case PropSubscriptionIdentifierAvailable:
		p.SubIDAvailable = d.flag("Subscription Identifier Available", d.u8("Subscription Identifier Available"))
	case PropSharedSubscriptionAvailable:
		p.SharedSubAvailable = d.flag("Shared Subscription Available", d.u8("Shared Subscription Available"))
	}
}

// size returns the encoded length of the properties without their length prefix, checking
// that every present property is allowed in kind and fits its field.
func (p *Properties) size(kind Type) (int, error) {
	if bad := p.mask &^ allowedMask[kind]; bad != 0 {
		for id := 0; id < 64; id++ {
			if bad&(1<<id) != 0 {
				return 0, errorf(ProtocolError, "property 0x%02X is not allowed in %s", id, kindName(kind))
			}
		}
	}
	if len(p.SubscriptionIDs) > 0 && propKinds[PropSubscriptionIdentifier]&(1<<kind) == 0 {
		return 0, errorf(ProtocolError, "Subscription Identifier is not allowed in %s", kindName(kind))
	}
	if len(p.User) > 0 && propKinds[PropUserProperty]&(1<<kind) == 0 {
		return 0, errorf(ProtocolError, "User Property is not allowed in %s", kindName(kind))
	}
	if p.mask&(1<<PropAuthenticationData) != 0 && p.mask&(1<<PropAuthenticationMethod) == 0 {
		return 0, errorf(ProtocolError, "Authentication Data without Authentication Method in %s", kindName(kind))
	}
	if kind == SUBSCRIBE && len(p.SubscriptionIDs) > 1 {
		return 0, errorf(ProtocolError, "SUBSCRIBE carries %d Subscription Identifiers, at most 1 is allowed", len(p.SubscriptionIDs))
	}
	n := 0
	m := p.mask
	if m != 0 {
		n += bits(m&byteProps) * 2
		n += bits(m&u16Props) * 3
		n += bits(m&u32Props) * 5
		if m&strProps != 0 {
			longest := 0
			add := func(id PropID, b []byte) {
				if m&(1<<id) != 0 {
					n += 3 + len(b)
					longest = max(longest, len(b))
				}
			}
			add(PropContentType, p.ContentType)
			add(PropResponseTopic, p.ResponseTopic)
			add(PropCorrelationData, p.CorrelationData)
			add(PropAssignedClientIdentifier, p.AssignedClientID)
			add(PropAuthenticationMethod, p.AuthMethod)
			add(PropAuthenticationData, p.AuthData)
			add(PropResponseInformation, p.ResponseInfo)
			add(PropServerReference, p.ServerReference)
			add(PropReasonString, p.ReasonString)
			if longest > MaxStringLen {
				return 0, errorf(MalformedPacket, "a property value is %d bytes long: the limit is %d", longest, MaxStringLen)
			}
		}
	}
	for _, id := range p.SubscriptionIDs {
		if id == 0 || id > MaxVarInt {
			return 0, errorf(ProtocolError, "Subscription Identifier %d is out of range 1-%d", id, MaxVarInt)
		}
		n += 1 + VarIntLen(id)
	}
	for _, u := range p.User {
		if len(u.Key) > MaxStringLen || len(u.Value) > MaxStringLen {
			return 0, errorf(MalformedPacket, "User Property longer than %d bytes", MaxStringLen)
		}
		n += 5 + len(u.Key) + len(u.Value)
	}
	return n, nil
}

const (
	byteProps = 1<<PropPayloadFormatIndicator | 1<<PropRequestProblemInformation |
		1<<PropRequestResponseInformation | 1<<PropMaximumQoS | 1<<PropRetainAvailable |
		1<<PropWildcardSubscriptionAvailable | 1<<PropSubscriptionIdentifierAvailable |
		1<<PropSharedSubscriptionAvailable
	u16Props = 1<<PropServerKeepAlive | 1<<PropReceiveMaximum | 1<<PropTopicAliasMaximum |
		1<<PropTopicAlias
	strProps = 1<<PropContentType | 1<<PropResponseTopic | 1<<PropCorrelationData |
		1<<PropAssignedClientIdentifier | 1<<PropAuthenticationMethod | 1<<PropAuthenticationData |
		1<<PropResponseInformation | 1<<PropServerReference | 1<<PropReasonString
	u32Props = 1<<PropMessageExpiryInterval | 1<<PropSessionExpiryInterval |
		1<<PropWillDelayInterval | 1<<PropMaximumPacketSize
)

func bits(m uint64) int { return mbits.OnesCount64(m) }

// appendTo appends the property length n and the properties, in identifier order.
func (p *Properties) appendTo(dst []byte, n int) []byte {
	if n == 0 {
		// No properties, the common case: skip appendProps and its large
		// frame, which would grow a small goroutine stack.
		return append(dst, 0)
	}
	return p.appendProps(dst, n)
}

// appendProps is appendTo for n > 0.
func (p *Properties) appendProps(dst []byte, n int) []byte {
	dst = AppendVarInt(dst, uint32(n))
	m := p.mask
	has := func(id PropID) bool { return m&(1<<id) != 0 }
	if has(PropPayloadFormatIndicator) {
		dst = append(dst, byte(PropPayloadFormatIndicator), p.PayloadFormat)
	}
	if has(PropMessageExpiryInterval) {
		dst = appendU32(append(dst, byte(PropMessageExpiryInterval)), p.MessageExpiry)
	}
	if has(PropContentType) {
		dst = appendBin(append(dst, byte(PropContentType)), p.ContentType)
	}
	if has(PropResponseTopic) {
		dst = appendBin(append(dst, byte(PropResponseTopic)), p.ResponseTopic)
	}
	if has(PropCorrelationData) {
		dst = appendBin(append(dst, byte(PropCorrelationData)), p.CorrelationData)
	}
	for _, id := range p.SubscriptionIDs {
		dst = AppendVarInt(append(dst, byte(PropSubscriptionIdentifier)), id)
	}
	if has(PropSessionExpiryInterval) {
		dst = appendU32(append(dst, byte(PropSessionExpiryInterval)), p.SessionExpiry)
	}
	if has(PropAssignedClientIdentifier) {
		dst = appendBin(append(dst, byte(PropAssignedClientIdentifier)), p.AssignedClientID)
	}
	if has(PropServerKeepAlive) {
		dst = appendU16(append(dst, byte(PropServerKeepAlive)), p.ServerKeepAlive)
	}
	if has(PropAuthenticationMethod) {
		dst = appendBin(append(dst, byte(PropAuthenticationMethod)), p.AuthMethod)
	}
	if has(PropAuthenticationData) {
		dst = appendBin(append(dst, byte(PropAuthenticationData)), p.AuthData)
	}
	if has(PropRequestProblemInformation) {
		dst = append(dst, byte(PropRequestProblemInformation), p.RequestProblemInfo)
	}
	if has(PropWillDelayInterval) {
		dst = appendU32(append(dst, byte(PropWillDelayInterval)), p.WillDelay)
	}
	if has(PropRequestResponseInformation) {
		dst = append(dst, byte(PropRequestResponseInformation), p.RequestResponseInfo)
	}
	if has(PropResponseInformation) {
		dst = appendBin(append(dst, byte(PropResponseInformation)), p.ResponseInfo)
	}
	if has(PropServerReference) {
		dst = appendBin(append(dst, byte(PropServerReference)), p.ServerReference)
	}
	if has(PropReasonString) {
		dst = appendBin(append(dst, byte(PropReasonString)), p.ReasonString)
	}
	if has(PropReceiveMaximum) {
		dst = appendU16(append(dst, byte(PropReceiveMaximum)), p.ReceiveMaximum)
	}
	if has(PropTopicAliasMaximum) {
		dst = appendU16(append(dst, byte(PropTopicAliasMaximum)), p.TopicAliasMaximum)
	}
	if has(PropTopicAlias) {
		dst = appendU16(append(dst, byte(PropTopicAlias)), p.TopicAlias)
	}
	if has(PropMaximumQoS) {
		dst = append(dst, byte(PropMaximumQoS), p.MaximumQoS)
	}
	if has(PropRetainAvailable) {
		dst = append(dst, byte(PropRetainAvailable), p.RetainAvailable)
	}
	for _, u := range p.User {
		dst = appendBin(append(dst, byte(PropUserProperty)), u.Key)
		dst = appendBin(dst, u.Value)
	}
	if has(PropMaximumPacketSize) {
		dst = appendU32(append(dst, byte(PropMaximumPacketSize)), p.MaximumPacketSize)
	}
	if has(PropWildcardSubscriptionAvailable) {
		dst = append(dst, byte(PropWildcardSubscriptionAvailable), p.WildcardSubAvailable)
	}
	if has(PropSubscriptionIdentifierAvailable) {
		dst = append(dst, byte(PropSubscriptionIdentifierAvailable), p.SubIDAvailable)
	}
	if has(PropSharedSubscriptionAvailable) {
		dst = append(dst, byte(PropSharedSubscriptionAvailable), p.SharedSubAvailable)
	}
	return dst
}

// Clone returns a deep copy of p whose byte slices share one new allocation and alias no
// decode buffer.
func (p *Properties) Clone() Properties {
	c := *p
	total := len(p.ContentType) + len(p.ResponseTopic) + len(p.CorrelationData) +
		len(p.AssignedClientID) + len(p.AuthMethod) + len(p.AuthData) + len(p.ResponseInfo) +
		len(p.ServerReference) + len(p.ReasonString)
	for _, u := range p.User {
		total += len(u.Key) + len(u.Value)
	}
	var arena []byte
	if total > 0 {
		arena = make([]byte, 0, total)
	}
	cp := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		start := len(arena)
		arena = append(arena, b...)
		return arena[start:len(arena):len(arena)]
	}
	c.ContentType = cp(p.ContentType)
	c.ResponseTopic = cp(p.ResponseTopic)
	c.CorrelationData = cp(p.CorrelationData)
	c.AssignedClientID = cp(p.AssignedClientID)
	c.AuthMethod = cp(p.AuthMethod)
	c.AuthData = cp(p.AuthData)
	c.ResponseInfo = cp(p.ResponseInfo)
	c.ServerReference = cp(p.ServerReference)
	c.ReasonString = cp(p.ReasonString)
	c.SubscriptionIDs = nil
	if len(p.SubscriptionIDs) > 0 {
		c.SubscriptionIDs = append([]uint32(nil), p.SubscriptionIDs...)
	}
	c.User = nil
	if len(p.User) > 0 {
		c.User = make([]UserProperty, len(p.User))
		for i, u := range p.User {
			c.User[i] = UserProperty{Key: cp(u.Key), Value: cp(u.Value)}
		}
	}
	return c
}
