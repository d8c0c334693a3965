package packet

import "fmt"

// ReasonCode is an MQTT 5 reason code. For MQTT 3.1 and 3.1.1 the same type carries the
// CONNACK return code (0-5) and the SUBACK return codes (0, 1, 2, 0x80).
type ReasonCode byte

// MQTT 5 reason codes (section 2.4 of the MQTT 5 specification). Several share a value.
const (
	Success                             ReasonCode = 0x00
	NormalDisconnection                 ReasonCode = 0x00
	GrantedQoS0                         ReasonCode = 0x00
	GrantedQoS1                         ReasonCode = 0x01
	GrantedQoS2                         ReasonCode = 0x02
	DisconnectWithWill                  ReasonCode = 0x04
	NoMatchingSubscribers               ReasonCode = 0x10
	NoSubscriptionExisted               ReasonCode = 0x11
	ContinueAuthentication              ReasonCode = 0x18
	ReAuthenticate                      ReasonCode = 0x19
	UnspecifiedError                    ReasonCode = 0x80
	MalformedPacket                     ReasonCode = 0x81
	ProtocolError                       ReasonCode = 0x82
	ImplementationSpecificError         ReasonCode = 0x83
	UnsupportedProtocolVersion          ReasonCode = 0x84
	ClientIdentifierNotValid            ReasonCode = 0x85
	BadUserNameOrPassword               ReasonCode = 0x86
	NotAuthorized                       ReasonCode = 0x87
	ServerUnavailable                   ReasonCode = 0x88
	ServerBusy                          ReasonCode = 0x89
	Banned                              ReasonCode = 0x8A
	ServerShuttingDown                  ReasonCode = 0x8B
	BadAuthenticationMethod             ReasonCode = 0x8C
	KeepAliveTimeout                    ReasonCode = 0x8D
	SessionTakenOver                    ReasonCode = 0x8E
	TopicFilterInvalid                  ReasonCode = 0x8F
	TopicNameInvalid                    ReasonCode = 0x90
	PacketIdentifierInUse               ReasonCode = 0x91
	PacketIdentifierNotFound            ReasonCode = 0x92
	ReceiveMaximumExceeded              ReasonCode = 0x93
	TopicAliasInvalid                   ReasonCode = 0x94
	PacketTooLarge                      ReasonCode = 0x95
	MessageRateTooHigh                  ReasonCode = 0x96
	QuotaExceeded                       ReasonCode = 0x97
	AdministrativeAction                ReasonCode = 0x98
	PayloadFormatInvalid                ReasonCode = 0x99
	RetainNotSupported                  ReasonCode = 0x9A
	QoSNotSupported                     ReasonCode = 0x9B
	UseAnotherServer                    ReasonCode = 0x9C
	ServerMoved                         ReasonCode = 0x9D
	SharedSubscriptionsNotSupported     ReasonCode = 0x9E
	ConnectionRateExceeded              ReasonCode = 0x9F
	MaximumConnectTime                  ReasonCode = 0xA0
	SubscriptionIdentifiersNotSupported ReasonCode = 0xA1
	WildcardSubscriptionsNotSupported   ReasonCode = 0xA2
)

// MQTT 3.1 / 3.1.1 CONNACK return codes.
const (
	V3Accepted                     ReasonCode = 0x00 // Connection Accepted
	V3RefusedProtocolVersion       ReasonCode = 0x01 // unacceptable protocol version
	V3RefusedIdentifierRejected    ReasonCode = 0x02 // identifier rejected
	V3RefusedServerUnavailable     ReasonCode = 0x03 // server unavailable
	V3RefusedBadUsernameOrPassword ReasonCode = 0x04 // bad user name or password
	V3RefusedNotAuthorized         ReasonCode = 0x05 // not authorized
)

// V3SubackFailure is the MQTT 3.1.1 SUBACK return code for a refused subscription.
const V3SubackFailure ReasonCode = 0x80

var reasonText = map[ReasonCode]string{
	0x00: "Success",
	0x01: "Granted QoS 1",
	0x02: "Granted QoS 2",
	0x04: "Disconnect with Will Message",
	0x10: "No matching subscribers",
	0x11: "No subscription existed",
	0x18: "Continue authentication",
	0x19: "Re-authenticate",
	0x80: "Unspecified error",
	0x81: "Malformed Packet",
	0x82: "Protocol Error",
	0x83: "Implementation specific error",
	0x84: "Unsupported Protocol Version",
	0x85: "Client Identifier not valid",
	0x86: "Bad User Name or Password",
	0x87: "Not authorized",
	0x88: "Server unavailable",
	0x89: "Server busy",
	0x8A: "Banned",
	0x8B: "Server shutting down",
	0x8C: "Bad authentication method",
	0x8D: "Keep Alive timeout",
	0x8E: "Session taken over",
	0x8F: "Topic Filter invalid",
	0x90: "Topic Name invalid",
	0x91: "Packet Identifier in use",
	0x92: "Packet Identifier not found",
	0x93: "Receive Maximum exceeded",
	0x94: "Topic Alias invalid",
	0x95: "Packet too large",
	0x96: "Message rate too high",
	0x97: "Quota exceeded",
	0x98: "Administrative action",
	0x99: "Payload format invalid",
	0x9A: "Retain not supported",
	0x9B: "QoS not supported",
	0x9C: "Use another server",
	0x9D: "Server moved",
	0x9E: "Shared Subscriptions not supported",
	0x9F: "Connection rate exceeded",
	0xA0: "Maximum connect time",
	0xA1: "Subscription Identifiers not supported",
	0xA2: "Wildcard Subscriptions not supported",
}

// String returns the reason code's name as the MQTT 5 specification words it. Codes that
// share a value (0x00) are named by their first meaning, "Success".
func (rc ReasonCode) String() string {
	if s, ok := reasonText[rc]; ok {
		return s
	}
	return fmt.Sprintf("reason code 0x%02X", byte(rc))
}

// IsError reports whether rc signals a failure (0x80 and above).
func (rc ReasonCode) IsError() bool { return rc >= 0x80 }

// V3ConnackText names an MQTT 3.1/3.1.1 CONNACK return code.
func V3ConnackText(rc ReasonCode) string {
	switch rc {
	case V3Accepted:
		return "Connection Accepted"
	case V3RefusedProtocolVersion:
		return "Connection Refused, unacceptable protocol version"
	case V3RefusedIdentifierRejected:
		return "Connection Refused, identifier rejected"
	case V3RefusedServerUnavailable:
		return "Connection Refused, Server unavailable"
	case V3RefusedBadUsernameOrPassword:
		return "Connection Refused, bad user name or password"
	case V3RefusedNotAuthorized:
		return "Connection Refused, not authorized"
	}
	return fmt.Sprintf("return code 0x%02X", byte(rc))
}

// V3ConnackCode maps an MQTT 5 CONNACK reason code to the closest MQTT 3.1/3.1.1 return
// code. Codes already in the 3.x range (0-5) are returned unchanged.
func V3ConnackCode(rc ReasonCode) ReasonCode {
	switch rc {
	case Success, V3RefusedProtocolVersion, V3RefusedIdentifierRejected,
		V3RefusedServerUnavailable, V3RefusedBadUsernameOrPassword, V3RefusedNotAuthorized:
		return rc
	case UnsupportedProtocolVersion:
		return V3RefusedProtocolVersion
	case ClientIdentifierNotValid:
		return V3RefusedIdentifierRejected
	case BadUserNameOrPassword, BadAuthenticationMethod:
		return V3RefusedBadUsernameOrPassword
	case NotAuthorized, Banned:
		return V3RefusedNotAuthorized
	}
	return V3RefusedServerUnavailable
}

// reasonSet is a set of reason codes, one bit per value.
type reasonSet [4]uint64

func (s *reasonSet) has(rc ReasonCode) bool { return s[rc>>6]&(1<<(rc&63)) != 0 }

func newReasonSet(codes ...ReasonCode) reasonSet {
	var s reasonSet
	for _, c := range codes {
		s[c>>6] |= 1 << (c & 63)
	}
	return s
}

// Reason codes each MQTT 5 packet type may carry (sections 3.2.2.2, 3.4.2.1, ...).
var validReasons = [16]reasonSet{
	CONNACK: newReasonSet(0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
		0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F),
	PUBACK:   newReasonSet(0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99),
	PUBREC:   newReasonSet(0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99),
	PUBREL:   newReasonSet(0x00, 0x92),
	PUBCOMP:  newReasonSet(0x00, 0x92),
	SUBACK:   newReasonSet(0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2),
	UNSUBACK: newReasonSet(0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91),
	DISCONNECT: newReasonSet(0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E,
		0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E,
		0x9F, 0xA0, 0xA1, 0xA2),
	AUTH: newReasonSet(0x00, 0x18, 0x19),
}

// ValidReasonCode reports whether rc may appear in an MQTT 5 packet of type t.
func ValidReasonCode(t Type, rc ReasonCode) bool {
	if t >= 16 {
		return false
	}
	return validReasons[t].has(rc)
}
