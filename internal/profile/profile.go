// Package profile turns defaults, saved profiles, environment variables and command-line
// flags into one set of connection settings, and those into mqttc.Options.
//
// Precedence is implemented once, in Resolve: defaults < saved profile < environment <
// flags. Optional fields are pointers (or nil slices) so that "unset" differs from "zero":
// an explicit --keepalive 0 or --no-clean=false wins over a lower layer, an unset flag
// does not.
package profile

import (
	"time"
)

// UsageError is bad user input (a flag, an environment variable, a profile value). The
// command line maps it to exit code 2 and prints usage.
type UsageError struct{ Err error }

// Error returns the wrapped message.
func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *UsageError) Unwrap() error { return e.Err }

func usageErr(err error) error { return &UsageError{Err: err} }

// Profile is one set of connection settings. Pointer and nil-slice fields mean "unset".
// The yaml tags are the keys of a profile in the config file.
type Profile struct {
	Host        *string `yaml:"host,omitempty"`
	Port        *int    `yaml:"port,omitempty"`
	Protocol    *string `yaml:"protocol,omitempty"`     // mqtt, mqtts, ws, wss
	MQTTVersion *string `yaml:"mqtt_version,omitempty"` // 5, 3.1.1, 3.1 (see ParseVersion)
	ClientID    *string `yaml:"client_id,omitempty"`
	Username    *string `yaml:"username,omitempty"`
	Password    *string `yaml:"password,omitempty"`

	KeepAlive     *int    `yaml:"keepalive,omitempty"` // seconds
	Clean         *bool   `yaml:"clean,omitempty"`
	SessionExpiry *uint32 `yaml:"session_expiry,omitempty"` // seconds, MQTT 5

	WillTopic           *string  `yaml:"will_topic,omitempty"`
	WillMessage         *string  `yaml:"will_message,omitempty"`
	WillQoS             *int     `yaml:"will_qos,omitempty"`
	WillRetain          *bool    `yaml:"will_retain,omitempty"`
	WillDelay           *uint32  `yaml:"will_delay_interval,omitempty"`
	WillMessageExpiry   *uint32  `yaml:"will_message_expiry,omitempty"`
	WillContentType     *string  `yaml:"will_content_type,omitempty"`
	WillResponseTopic   *string  `yaml:"will_response_topic,omitempty"`
	WillCorrelationData *string  `yaml:"will_correlation_data,omitempty"`
	WillPayloadFormat   *bool    `yaml:"will_payload_format_indicator,omitempty"`
	WillUserProperties  []string `yaml:"will_user_properties,omitempty"` // "k=v"

	CA         *string  `yaml:"ca,omitempty"`
	Cert       *string  `yaml:"cert,omitempty"`
	Key        *string  `yaml:"key,omitempty"`
	ServerName *string  `yaml:"servername,omitempty"`
	Insecure   *bool    `yaml:"insecure,omitempty"`
	ALPN       []string `yaml:"alpn,omitempty"`

	WSPath    *string  `yaml:"ws_path,omitempty"`
	WSHeaders []string `yaml:"ws_headers,omitempty"` // "Name: value"

	ConnectTimeout *time.Duration `yaml:"connect_timeout,omitempty"`

	ReceiveMaximum      *uint16  `yaml:"receive_maximum,omitempty"`
	MaximumPacketSize   *uint32  `yaml:"maximum_packet_size,omitempty"`
	TopicAliasMaximum   *uint16  `yaml:"topic_alias_maximum,omitempty"`
	RequestResponseInfo *bool    `yaml:"request_response_info,omitempty"`
	RequestProblemInfo  *bool    `yaml:"request_problem_info,omitempty"`
	UserProperties      []string `yaml:"user_properties,omitempty"` // CONNECT user properties "k=v"
}

func ptr[T any](v T) *T { return &v }

// Defaults returns the built-in settings: localhost, mqtt, MQTT 5, keepalive 30 s, clean
// start. The port is left unset: Options derives it from the protocol (1883, 8883, 8083,
// 8084), so choosing -l mqtts alone gives 8883.
func Defaults() Profile {
	return Profile{
		Host:        ptr("localhost"),
		Protocol:    ptr("mqtt"),
		MQTTVersion: ptr("5"),
		KeepAlive:   ptr(30),
		Clean:       ptr(true),
	}
}

// Merge overrides every field of p that is set in o. Slices set in o (non-nil) replace
// those of p; they are not appended.
func (p *Profile) Merge(o Profile) {
	for _, s := range Settings {
		s.copyFrom(p, &o)
	}
}

// set copies the value, not the pointer, so later edits of one profile never show
// through another.
func set[T any](dst **T, src *T) {
	if src != nil {
		v := *src
		*dst = &v
	}
}

func setSlice(dst *[]string, src []string) {
	if src != nil {
		*dst = append([]string{}, src...)
	}
}
