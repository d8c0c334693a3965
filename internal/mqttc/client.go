// Package mqttc is the client side of every mqttx command: one Client interface with an
// MQTT 5 implementation (paho.golang) and an MQTT 3.1/3.1.1 implementation
// (paho.mqtt.golang), both dialing through the same transport code (tcp, tls, ws, wss).
//
// Nothing in this package writes to stdout or stderr; commands decide what to print.
package mqttc

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/mqttx/mqttx/internal/packet"
)

// Version is the MQTT protocol level as it appears in CONNECT: the codec's type,
// whose String gives the version the way users type it ("3.1", "3.1.1", "5").
type Version = packet.Version

// Protocol levels.
const (
	V31  = packet.V31  // MQTT 3.1 ("MQIsdp")
	V311 = packet.V311 // MQTT 3.1.1
	V5   = packet.V5   // MQTT 5.0
)

// UserProperty is one MQTT 5 user property; order and duplicates are significant.
type UserProperty struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// TLSOptions configures mqtts and wss. File names are read when dialing.
type TLSOptions struct {
	CAFile     string   // PEM bundle to trust instead of the system pool
	CertFile   string   // client certificate (PEM)
	KeyFile    string   // client key (PEM)
	Insecure   bool     // skip server certificate verification
	ALPN       []string // ALPN protocols to offer
	ServerName string   // SNI and verification name; default: Host
}

// Will is the last-will message given in CONNECT.
type Will struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
	// MQTT 5 will properties; zero values are not sent.
	DelayInterval   *uint32
	MessageExpiry   *uint32
	PayloadFormat   *byte
	ContentType     string
	ResponseTopic   string
	CorrelationData []byte
	UserProperties  []UserProperty
}

// Options is everything needed to connect. It is filled by internal/profile from flags,
// environment, a saved profile and defaults.
type Options struct {
	Version Version
	Scheme  string // "mqtt", "mqtts", "ws" or "wss"
	Host    string
	Port    int

	ClientID    string
	Username    string
	Password    string
	HasPassword bool // Password was given (an empty password is legal)

	KeepAlive      uint16 // seconds; 0 disables keepalive
	CleanStart     bool   // clean session on 3.x, clean start on 5
	SessionExpiry  *uint32
	ConnectTimeout time.Duration // dial + CONNACK; 0 means 10s

	Will *Will

	TLS       TLSOptions
	WSPath    string      // default "/mqtt"
	WSHeaders http.Header // extra handshake headers

	// MQTT 5 CONNECT properties; nil/zero values are not sent.
	ReceiveMaximum       *uint16
	MaximumPacketSize    *uint32
	TopicAliasMaximum    *uint16
	RequestResponseInfo  bool
	RequestProblemInfo   *bool
	UserProperties       []UserProperty
	AuthenticationMethod string
	AuthenticationData   []byte

	// OnMessage receives every incoming PUBLISH. It is called on the client's network
	// goroutine, in arrival order, and must not block: hand the message to a bounded queue.
	// It returns whether it accepted the message. An accepted QoS 1/2 message is
	// acknowledged when OnMessage returns. A declined one is not, and neither is anything
	// received after it on this connection: OnMessage is not called again, so that the
	// acknowledgements stay in the order the messages arrived, as MQTT requires. A
	// persistent session then delivers the declined message and the ones after it again
	// on the next connection.
	OnMessage func(Message) bool
	// OnConnectionLost is called once if the connection drops without Disconnect or
	// Kill, on a library goroutine. A DISCONNECT sent by an MQTT 5 broker arrives as a
	// *DisconnectError carrying its reason code.
	OnConnectionLost func(error)
	// OnPacket, when set, receives every packet sent and received (sub --debug), on the
	// goroutine that wrote or read it; it must not block.
	OnPacket func(PacketTrace)
}

// ConnAck is what the broker granted.
type ConnAck struct {
	SessionPresent bool   `json:"session_present"`
	ReasonCode     byte   `json:"reason_code"`
	ClientID       string `json:"client_id,omitempty"` // the id in use (assigned or given)
	AssignedID     bool   `json:"assigned_client_id,omitempty"`

	// MQTT 5 CONNACK properties; nil when the broker did not send them.
	Properties *ConnAckProperties `json:"properties,omitempty"`
}

// ConnAckProperties are the MQTT 5 CONNACK properties.
type ConnAckProperties struct {
	SessionExpiryInterval *uint32        `json:"session_expiry_interval,omitempty"`
	ReceiveMaximum        *uint16        `json:"receive_maximum,omitempty"`
	MaximumQoS            *byte          `json:"maximum_qos,omitempty"`
	RetainAvailable       *bool          `json:"retain_available,omitempty"`
	MaximumPacketSize     *uint32        `json:"maximum_packet_size,omitempty"`
	AssignedClientID      string         `json:"assigned_client_identifier,omitempty"`
	TopicAliasMaximum     *uint16        `json:"topic_alias_maximum,omitempty"`
	ReasonString          string         `json:"reason_string,omitempty"`
	UserProperties        []UserProperty `json:"user_properties,omitempty"`
	WildcardSubAvailable  *bool          `json:"wildcard_subscription_available,omitempty"`
	SubIDAvailable        *bool          `json:"subscription_identifier_available,omitempty"`
	SharedSubAvailable    *bool          `json:"shared_subscription_available,omitempty"`
	ServerKeepAlive       *uint16        `json:"server_keep_alive,omitempty"`
	ResponseInformation   string         `json:"response_information,omitempty"`
	ServerReference       string         `json:"server_reference,omitempty"`
	AuthenticationMethod  string         `json:"authentication_method,omitempty"`
}

// PublishProperties are the MQTT 5 PUBLISH properties.
type PublishProperties struct {
	PayloadFormat   *byte          `json:"payload_format_indicator,omitempty"`
	MessageExpiry   *uint32        `json:"message_expiry_interval,omitempty"`
	TopicAlias      *uint16        `json:"topic_alias,omitempty"`
	ResponseTopic   string         `json:"response_topic,omitempty"`
	CorrelationData []byte         `json:"correlation_data,omitempty"`
	UserProperties  []UserProperty `json:"user_properties,omitempty"`
	SubscriptionIDs []int          `json:"subscription_identifier,omitempty"`
	ContentType     string         `json:"content_type,omitempty"`
}

// Message is a PUBLISH, outgoing or received.
type Message struct {
	Topic      string
	Payload    []byte
	QoS        byte
	Retain     bool
	Dup        bool
	Properties *PublishProperties // MQTT 5 only; nil when none
	ReceivedAt time.Time          // set on received messages
}

// Subscription is one topic filter of a SUBSCRIBE.
type Subscription struct {
	Topic             string
	QoS               byte
	NoLocal           bool // MQTT 5
	RetainAsPublished bool // MQTT 5
	RetainHandling    byte // MQTT 5: 0 send, 1 send if new, 2 never
}

// SubscribeOptions apply to one SUBSCRIBE packet (MQTT 5).
type SubscribeOptions struct {
	SubscriptionID *int
	UserProperties []UserProperty
}

// Client is one MQTT connection. Implementations are safe for use by one command
// goroutine plus the callbacks in Options.
type Client interface {
	// Connect dials and performs CONNECT/CONNACK. A CONNACK with a failure reason code
	// returns a *RefusedError.
	Connect(ctx context.Context) (*ConnAck, error)
	// Publish sends m and, for QoS 1 and 2, waits for the flow to complete. A PUBACK or
	// PUBREC with a failure reason code (MQTT 5) returns a *RefusedError. A message larger
	// than MQTT or the broker's Maximum Packet Size allows is not sent: *TooLargeError.
	Publish(ctx context.Context, m Message) error
	// Subscribe sends one SUBSCRIBE and returns the granted QoS / reason code per filter.
	// Any failure code (>= 0x80) returns a *RefusedError alongside the codes.
	Subscribe(ctx context.Context, subs []Subscription, opts SubscribeOptions) ([]byte, error)
	// Unsubscribe sends one UNSUBSCRIBE.
	Unsubscribe(ctx context.Context, topics ...string) error
	// Disconnect sends DISCONNECT (normal, so no will is published) and closes the
	// connection. It first waits, within ctx, until every message already handed to
	// OnMessage has been acknowledged to the broker; messages arriving after that are
	// neither delivered nor acknowledged, so a persistent session sends them again. It
	// must not be called from OnMessage. It is safe to call more than once.
	Disconnect(ctx context.Context) error
	// Kill closes the network connection without DISCONNECT, as a crash would, so the
	// broker publishes the will. OnConnectionLost is not called. It is safe to call more
	// than once.
	Kill() error
}

// RefusedError is a broker's refusal, carrying its MQTT reason or return code.
// Commands map it to exit code 3.
type RefusedError struct {
	Op     string // "connect", "subscribe", "publish"
	Code   byte
	Reason string // human text for Code, or the broker's reason string
}

func (e *RefusedError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("%s refused by broker: %s (0x%02x)", e.Op, e.Reason, e.Code)
	}
	return fmt.Sprintf("%s refused by broker: reason code 0x%02x", e.Op, e.Code)
}
