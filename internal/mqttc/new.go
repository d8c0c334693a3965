package mqttc

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// DefaultConnectTimeout bounds dial, TLS and WebSocket handshakes and CONNACK when
// Options.ConnectTimeout is zero.
const DefaultConnectTimeout = 10 * time.Second

// New returns an unconnected Client for o.Version: MQTT 5 on paho.golang, MQTT 3.1 and
// 3.1.1 on paho.mqtt.golang. It validates o and returns an error naming the bad field.
func New(o Options) (Client, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Scheme == "" {
		o.Scheme = "mqtt"
	}
	if o.Port == 0 {
		o.Port = DefaultPort(o.Scheme)
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.Version == V5 {
		return newV5(o), nil
	}
	return newV3(o), nil
}

// DefaultPort is the conventional port for scheme: 1883, 8883, 8083 or 8084.
func DefaultPort(scheme string) int {
	switch scheme {
	case "mqtts", "ssl", "tls":
		return 8883
	case "ws":
		return 8083
	case "wss":
		return 8084
	}
	return 1883
}

// Validate checks o and returns an error naming the first bad field. Zero Scheme, Port
// and ConnectTimeout are allowed and mean the defaults.
func (o *Options) Validate() error {
	switch o.Version {
	case V31, V311, V5:
	default:
		return fmt.Errorf("invalid mqtt version %d: must be 5, 3.1.1 or 3.1", byte(o.Version))
	}
	switch o.Scheme {
	case "", "mqtt", "mqtts", "ws", "wss":
	default:
		return fmt.Errorf("invalid protocol %q: must be mqtt, mqtts, ws or wss", o.Scheme)
	}
	if o.Host == "" {
		return errors.New("missing host: give a host name or address")
	}
	if strings.ContainsAny(o.Host, " /") {
		return fmt.Errorf("invalid host %q: give a host name or address without scheme or path", o.Host)
	}
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("invalid port %d: must be between 1 and 65535", o.Port)
	}
	if o.ConnectTimeout < 0 {
		return fmt.Errorf("invalid connect timeout %s: must not be negative", o.ConnectTimeout)
	}
	if len(o.ClientID) > 65535 {
		return errors.New("invalid client id: longer than 65535 bytes")
	}
	if o.Version == V31 && len(o.ClientID) > 23 {
		return fmt.Errorf("invalid client id %q for MQTT 3.1: at most 23 characters", o.ClientID)
	}
	if o.Version != V5 && o.HasPassword && o.Username == "" {
		return errors.New("invalid password without username: MQTT 3.x needs a username when a password is given")
	}
	if w := o.Will; w != nil {
		if w.Topic == "" {
			return errors.New("invalid will: missing will topic")
		}
		if strings.ContainsAny(w.Topic, "+#") {
			return fmt.Errorf("invalid will topic %q: wildcards are not allowed", w.Topic)
		}
		if w.QoS > 2 {
			return fmt.Errorf("invalid will qos %d: must be 0, 1 or 2", w.QoS)
		}
	}
	// Which connection settings need MQTT 5 is one fact, kept in the settings table
	// (profile.Settings, V5Only), which refuses them with the flag's name before options
	// are built; a 3.x client sends none of them. Authentication has no setting there.
	if o.Version != V5 && (o.AuthenticationMethod != "" || o.AuthenticationData != nil) {
		return fmt.Errorf("invalid authentication method/data with mqtt version %s: authentication needs MQTT 5", o.Version)
	}
	if o.ReceiveMaximum != nil && *o.ReceiveMaximum == 0 {
		return errors.New("invalid receive maximum 0: must be between 1 and 65535")
	}
	if o.MaximumPacketSize != nil && *o.MaximumPacketSize == 0 {
		return errors.New("invalid maximum packet size 0: must be at least 1")
	}
	if o.AuthenticationData != nil && o.AuthenticationMethod == "" {
		return errors.New("invalid authentication data without authentication method")
	}
	if o.WSPath != "" && !strings.HasPrefix(o.WSPath, "/") {
		return fmt.Errorf("invalid websocket path %q: must start with /", o.WSPath)
	}
	return nil
}

// addr is host:port, bracketing IPv6 literals.
func (o *Options) addr() string {
	h := strings.TrimSuffix(strings.TrimPrefix(o.Host, "["), "]")
	return net.JoinHostPort(h, fmt.Sprint(o.Port))
}
