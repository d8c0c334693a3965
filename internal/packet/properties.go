package packet

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
	*p = Properties{SubscriptionIDs: p.SubscriptionIDs[:0], User: p.User[:0]}
}

// Empty reports whether no property is present.
func (p *Properties) Empty() bool {
	return p.mask == 0 && len(p.SubscriptionIDs) == 0 && len(p.User) == 0
}
