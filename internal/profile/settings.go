package profile

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Setting is one connection setting: how it is spelled on the command line, in the
// config file and in the environment, whether it needs MQTT 5, its help and default,
// and where it lives in a Profile. Settings is the one list of them: flag registration,
// FromFlags, FromEnv, Merge, the MQTT 5 check and `profile show` all walk it, so adding
// a setting is one row (and one Profile field).
type Setting struct {
	Flag    string // long flag name, without "--"
	Short   string // one-letter shorthand, or ""
	Key     string // YAML key in a saved profile (the Profile field's yaml tag)
	Env     string // environment variable, or ""
	V5Only  bool   // needs --mqtt-version 5
	Group   string // help group: connection, will, tls, websocket, mqtt5
	Help    string
	Default string // default shown in help; "" shows none
	// Invert stores the flag's negation: --no-clean sets Clean to false.
	Invert bool
	// Secret values are masked by `profile show`.
	Secret bool
	// value, when set, builds the flag's pflag.Value (for spellings such as "never" or
	// plain seconds); its String() must be a form the field's parser accepts.
	value func() pflag.Value
	// field returns a pointer to the Profile field: **string, **int, **bool, **uint16,
	// **uint32, **time.Duration or *[]string.
	field func(p *Profile) any
}

// Help groups of connection settings.
const (
	GroupConnection = "connection"
	GroupWill       = "will"
	GroupTLS        = "tls"
	GroupWebSocket  = "websocket"
	GroupMQTT5      = "mqtt5"
)

// Settings lists every connection setting, in the order help shows them and errors
// check them.
var Settings = []Setting{
	{Flag: "host", Short: "h", Key: "host", Env: EnvHost, Group: GroupConnection, Help: "broker host (default: $MQTTX_HOST or localhost)",
		field: func(p *Profile) any { return &p.Host }},
	{Flag: "port", Short: "p", Key: "port", Env: EnvPort, Group: GroupConnection, Help: "broker port (default: $MQTTX_PORT, else 1883 mqtt, 8883 mqtts, 8083 ws, 8084 wss)",
		field: func(p *Profile) any { return &p.Port }},
	{Flag: "protocol", Short: "l", Key: "protocol", Group: GroupConnection, Help: "protocol: mqtt, mqtts, ws or wss", Default: "mqtt",
		field: func(p *Profile) any { return &p.Protocol }},
	{Flag: "mqtt-version", Short: "V", Key: "mqtt_version", Group: GroupConnection, Help: "MQTT version: 5, 3.1.1 or 3.1 (also 5.0, 311, 31, mqttv5, mqttv311, mqttv31)", Default: "5",
		field: func(p *Profile) any { return &p.MQTTVersion }},
	{Flag: "client-id", Short: "i", Key: "client_id", Group: GroupConnection, Help: "client id (default: mqttx_ and 8 random hex digits)",
		field: func(p *Profile) any { return &p.ClientID }},
	{Flag: "username", Short: "u", Key: "username", Env: EnvUsername, Group: GroupConnection, Help: "user name (default: $MQTTX_USERNAME)",
		field: func(p *Profile) any { return &p.Username }},
	{Flag: "password", Short: "P", Key: "password", Env: EnvPassword, Group: GroupConnection, Help: "password (default: $MQTTX_PASSWORD)", Secret: true,
		field: func(p *Profile) any { return &p.Password }},
	{Flag: "keepalive", Short: "k", Key: "keepalive", Group: GroupConnection, Help: "keepalive interval in seconds, 0 disables it", Default: "30",
		field: func(p *Profile) any { return &p.KeepAlive }},
	{Flag: "no-clean", Key: "clean", Group: GroupConnection, Invert: true, Help: "keep and resume the session: clean session off (3.x, needs --client-id); on MQTT 5 clean start off and, without -x, a session that never expires (as mosquitto_sub -c)",
		field: func(p *Profile) any { return &p.Clean }},
	{Flag: "session-expiry", Short: "x", Key: "session_expiry", V5Only: true, Group: GroupConnection, Help: "session expiry interval in seconds, or never (MQTT 5; default 0, or never with --no-clean)",
		value: func() pflag.Value { return new(expiryValue) },
		field: func(p *Profile) any { return &p.SessionExpiry }},

	{Flag: "will-topic", Key: "will_topic", Group: GroupWill, Help: "topic of the last-will message",
		field: func(p *Profile) any { return &p.WillTopic }},
	{Flag: "will-message", Key: "will_message", Group: GroupWill, Help: "payload of the last-will message (needs --will-topic)",
		field: func(p *Profile) any { return &p.WillMessage }},
	{Flag: "will-qos", Key: "will_qos", Group: GroupWill, Help: "QoS of the last-will message: 0, 1 or 2",
		field: func(p *Profile) any { return &p.WillQoS }},
	{Flag: "will-retain", Key: "will_retain", Group: GroupWill, Help: "retain the last-will message",
		field: func(p *Profile) any { return &p.WillRetain }},
	{Flag: "will-delay-interval", Key: "will_delay_interval", V5Only: true, Group: GroupWill, Help: "seconds the broker waits before publishing the will (MQTT 5)",
		field: func(p *Profile) any { return &p.WillDelay }},
	{Flag: "will-message-expiry", Key: "will_message_expiry", V5Only: true, Group: GroupWill, Help: "expiry interval of the will message in seconds (MQTT 5)",
		field: func(p *Profile) any { return &p.WillMessageExpiry }},
	{Flag: "will-content-type", Key: "will_content_type", V5Only: true, Group: GroupWill, Help: "content type of the will message (MQTT 5)",
		field: func(p *Profile) any { return &p.WillContentType }},
	{Flag: "will-response-topic", Key: "will_response_topic", V5Only: true, Group: GroupWill, Help: "response topic of the will message (MQTT 5)",
		field: func(p *Profile) any { return &p.WillResponseTopic }},
	{Flag: "will-correlation-data", Key: "will_correlation_data", V5Only: true, Group: GroupWill, Help: "correlation data of the will message (MQTT 5)",
		field: func(p *Profile) any { return &p.WillCorrelationData }},
	{Flag: "will-payload-format-indicator", Key: "will_payload_format_indicator", V5Only: true, Group: GroupWill, Help: "mark the will payload as UTF-8 text (MQTT 5)",
		field: func(p *Profile) any { return &p.WillPayloadFormat }},
	{Flag: "will-user-property", Key: "will_user_properties", V5Only: true, Group: GroupWill, Help: "user property key=value of the will message, repeatable (MQTT 5)",
		field: func(p *Profile) any { return &p.WillUserProperties }},

	{Flag: "ca", Key: "ca", Group: GroupTLS, Help: "CA certificate file (PEM) to trust for mqtts/wss; without -l it means mqtts",
		field: func(p *Profile) any { return &p.CA }},
	{Flag: "cert", Key: "cert", Group: GroupTLS, Help: "client certificate file (PEM) for mqtts/wss",
		field: func(p *Profile) any { return &p.Cert }},
	{Flag: "key", Key: "key", Group: GroupTLS, Help: "client key file (PEM) for mqtts/wss",
		field: func(p *Profile) any { return &p.Key }},
	{Flag: "insecure", Key: "insecure", Group: GroupTLS, Help: "do not verify the server certificate (mqtts/wss)",
		field: func(p *Profile) any { return &p.Insecure }},
	{Flag: "alpn", Key: "alpn", Group: GroupTLS, Help: "ALPN protocol to offer, repeatable (mqtts/wss)",
		field: func(p *Profile) any { return &p.ALPN }},
	{Flag: "servername", Key: "servername", Group: GroupTLS, Help: "TLS server name for SNI and verification (default: the host)",
		field: func(p *Profile) any { return &p.ServerName }},

	{Flag: "ws-path", Key: "ws_path", Group: GroupWebSocket, Help: "WebSocket path (default /mqtt)",
		field: func(p *Profile) any { return &p.WSPath }},
	{Flag: "ws-header", Key: "ws_headers", Group: GroupWebSocket, Help: "extra WebSocket handshake header \"Name: value\", repeatable",
		field: func(p *Profile) any { return &p.WSHeaders }},
	{Flag: "connect-timeout", Key: "connect_timeout", Group: GroupConnection, Help: "time allowed for dial and CONNACK, seconds or a duration (default 10s)",
		value: func() pflag.Value { return new(durationValue) },
		field: func(p *Profile) any { return &p.ConnectTimeout }},

	{Flag: "receive-maximum", Key: "receive_maximum", V5Only: true, Group: GroupMQTT5, Help: "receive maximum: QoS 1 and 2 messages in flight to us (MQTT 5)",
		field: func(p *Profile) any { return &p.ReceiveMaximum }},
	{Flag: "maximum-packet-size", Key: "maximum_packet_size", V5Only: true, Group: GroupMQTT5, Help: "largest packet we accept, in bytes (MQTT 5)",
		field: func(p *Profile) any { return &p.MaximumPacketSize }},
	{Flag: "topic-alias-maximum", Key: "topic_alias_maximum", V5Only: true, Group: GroupMQTT5, Help: "topic aliases we accept from the broker (MQTT 5)",
		field: func(p *Profile) any { return &p.TopicAliasMaximum }},
	{Flag: "request-response-info", Key: "request_response_info", V5Only: true, Group: GroupMQTT5, Help: "ask the broker for response information (MQTT 5)",
		field: func(p *Profile) any { return &p.RequestResponseInfo }},
	{Flag: "request-problem-info", Key: "request_problem_info", V5Only: true, Group: GroupMQTT5, Help: "let the broker send reason strings and user properties on failures (MQTT 5)", Default: "true",
		field: func(p *Profile) any { return &p.RequestProblemInfo }},
	{Flag: "conn-user-property", Key: "user_properties", V5Only: true, Group: GroupMQTT5, Help: "CONNECT user property `key=value`, repeatable (MQTT 5)",
		field: func(p *Profile) any { return &p.UserProperties }},
}

// Lookup returns the setting registered as --flag.
func Lookup(flag string) (Setting, bool) {
	for _, s := range Settings {
		if s.Flag == flag {
			return s, true
		}
	}
	return Setting{}, false
}

// IsSet reports whether p sets s.
func (s Setting) IsSet(p *Profile) bool {
	switch f := s.field(p).(type) {
	case **string:
		return *f != nil
	case **int:
		return *f != nil
	case **bool:
		return *f != nil
	case **uint16:
		return *f != nil
	case **uint32:
		return *f != nil
	case **time.Duration:
		return *f != nil
	case *[]string:
		return *f != nil
	}
	panic("profile: unknown field type of setting " + s.Flag)
}

// Value returns p's value of s as text (a list joined by ", "), and false when unset.
// Secret values are returned as they are; callers mask them.
func (s Setting) Value(p *Profile) (string, bool) {
	if !s.IsSet(p) {
		return "", false
	}
	switch f := s.field(p).(type) {
	case **string:
		return **f, true
	case **int:
		return strconv.Itoa(**f), true
	case **bool:
		return strconv.FormatBool(**f), true
	case **uint16:
		return strconv.FormatUint(uint64(**f), 10), true
	case **uint32:
		return strconv.FormatUint(uint64(**f), 10), true
	case **time.Duration:
		return (**f).String(), true
	case *[]string:
		return strings.Join(*f, ", "), true
	}
	return "", false
}

// copyFrom sets s in p to its value in o, if o sets it. Values are copied, never the
// pointers, so later edits of one profile never show through another; a non-nil slice
// replaces the old one.
func (s Setting) copyFrom(p *Profile, o *Profile) {
	switch dst := s.field(p).(type) {
	case **string:
		set(dst, *s.field(o).(**string))
	case **int:
		set(dst, *s.field(o).(**int))
	case **bool:
		set(dst, *s.field(o).(**bool))
	case **uint16:
		set(dst, *s.field(o).(**uint16))
	case **uint32:
		set(dst, *s.field(o).(**uint32))
	case **time.Duration:
		set(dst, *s.field(o).(**time.Duration))
	case *[]string:
		setSlice(dst, *s.field(o).(*[]string))
	}
}

// parse sets s in p from text: a flag's value or an environment variable. A list field
// takes vals whole; other fields take vals[0].
func (s Setting) parse(p *Profile, vals []string) error {
	if l, ok := s.field(p).(*[]string); ok {
		*l = append([]string{}, vals...)
		return nil
	}
	v := ""
	if len(vals) > 0 {
		v = vals[0]
	}
	switch f := s.field(p).(type) {
	case **string:
		*f = ptr(v)
	case **int:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%s is not a whole number", quoteIfNeeded(v))
		}
		*f = ptr(n)
	case **bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%s is not true or false", quoteIfNeeded(v))
		}
		if s.Invert {
			b = !b
		}
		*f = ptr(b)
	case **uint16:
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 16)
		if err != nil {
			return fmt.Errorf("%s is not a number 0-65535", quoteIfNeeded(v))
		}
		*f = ptr(uint16(n))
	case **uint32:
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return fmt.Errorf("%s is not a number 0-4294967295", quoteIfNeeded(v))
		}
		*f = ptr(uint32(n))
	case **time.Duration:
		d, err := ParseDuration(v)
		if err != nil {
			return err
		}
		*f = ptr(d)
	}
	return nil
}

// Register adds s to fs as a flag of the field's type.
func (s Setting) Register(fs *pflag.FlagSet) {
	defer func() {
		if s.Group != "" {
			_ = fs.SetAnnotation(s.Flag, "group", []string{s.Group})
		}
	}()
	if s.value != nil {
		fl := fs.VarPF(s.value(), s.Flag, s.Short, s.Help)
		fl.DefValue = s.Default
		if fl.DefValue == "" {
			fl.DefValue = "0"
		}
		return
	}
	var p Profile
	switch s.field(&p).(type) {
	case **string:
		fs.StringP(s.Flag, s.Short, s.Default, s.Help)
	case **int:
		n, _ := strconv.Atoi(s.Default)
		fs.IntP(s.Flag, s.Short, n, s.Help)
	case **bool:
		fs.BoolP(s.Flag, s.Short, s.Default == "true", s.Help)
	case **uint16:
		n, _ := strconv.ParseUint(s.Default, 10, 16)
		fs.Uint16P(s.Flag, s.Short, uint16(n), s.Help)
	case **uint32:
		n, _ := strconv.ParseUint(s.Default, 10, 32)
		fs.Uint32P(s.Flag, s.Short, uint32(n), s.Help)
	case *[]string:
		fs.StringArrayP(s.Flag, s.Short, nil, s.Help)
	default:
		panic("profile: no flag type for setting " + s.Flag)
	}
}

// flagValues returns what the user gave for a changed flag: the list of a repeatable
// flag, else its value as text.
func flagValues(fl *pflag.Flag) []string {
	if sv, ok := fl.Value.(pflag.SliceValue); ok {
		return sv.GetSlice()
	}
	return []string{fl.Value.String()}
}

// ParseDuration parses plain seconds ("5", "1.5", as mosquitto's -W) or a Go duration
// ("1m30s", "500ms"); it must not be negative.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f > float64(1<<63-1)/float64(time.Second) {
			return 0, fmt.Errorf("%q is too long", s)
		}
		d = time.Duration(f * float64(time.Second))
	} else {
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration: use seconds (5) or a duration (1m30s)", s)
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// durationValue is a pflag.Value for ParseDuration.
type durationValue time.Duration

func (d *durationValue) String() string { return time.Duration(*d).String() }

func (d *durationValue) Set(s string) error {
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

func (d *durationValue) Type() string { return "duration" }

// NeverExpires is the session expiry interval of a session that does not expire.
const NeverExpires = 0xFFFFFFFF

// ParseExpiry parses a session expiry interval: seconds, or never (also -1 and ∞, as
// mosquitto_sub -x) for NeverExpires.
func ParseExpiry(s string) (uint32, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "never", "-1", "∞", "inf", "infinity":
		return NeverExpires, nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s is not a number of seconds 0-4294967295 or never", quoteIfNeeded(s))
	}
	return uint32(n), nil
}

// expiryValue is a pflag.Value for ParseExpiry.
type expiryValue uint32

func (e *expiryValue) String() string { return strconv.FormatUint(uint64(*e), 10) }

func (e *expiryValue) Set(s string) error {
	v, err := ParseExpiry(s)
	if err != nil {
		return err
	}
	*e = expiryValue(v)
	return nil
}

func (e *expiryValue) Type() string { return "seconds" }
