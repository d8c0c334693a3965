package profile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Flag names registered by AddConnFlags that commands may need to look up.
const (
	FlagProfile = "profile"
	FlagConfig  = "config"
	FlagURL     = "url"
)

// AddConnFlags registers the connection flags shared by every client command. Their
// defaults only show in help: FromFlags reads a flag only when the user set it.
// -h is --host, so commands must declare --help without a shorthand.
func AddConnFlags(fs *pflag.FlagSet) {
	fs.StringP("host", "h", "", "broker host (default: $MQTTX_HOST or localhost)")
	fs.IntP("port", "p", 0, "broker port (default: $MQTTX_PORT, else 1883 mqtt, 8883 mqtts, 8083 ws, 8084 wss)")
	fs.StringP("protocol", "l", "mqtt", "protocol: mqtt, mqtts, ws or wss")
	fs.StringP("url", "L", "", "broker URL mqtt[s]|ws[s]://[user[:password]@]host[:port][/topic]; other flags override its parts")
	fs.StringP("mqtt-version", "V", "5", "MQTT version: 5, 3.1.1 or 3.1")
	fs.StringP("client-id", "i", "", "client id (default: mqttx_ and 8 random hex digits)")
	fs.StringP("username", "u", "", "user name (default: $MQTTX_USERNAME)")
	fs.StringP("password", "P", "", "password (default: $MQTTX_PASSWORD)")
	fs.IntP("keepalive", "k", 30, "keepalive interval in seconds, 0 disables it")
	fs.Bool("no-clean", false, "resume the session: clean session off (3.x, needs --client-id), clean start off (5)")
	fs.Uint32P("session-expiry", "x", 0, "session expiry interval in seconds (MQTT 5)")

	fs.String("will-topic", "", "topic of the last-will message")
	fs.String("will-message", "", "payload of the last-will message (needs --will-topic)")
	fs.Int("will-qos", 0, "QoS of the last-will message: 0, 1 or 2")
	fs.Bool("will-retain", false, "retain the last-will message")
	fs.Uint32("will-delay-interval", 0, "seconds the broker waits before publishing the will (MQTT 5)")
	fs.Uint32("will-message-expiry", 0, "expiry interval of the will message in seconds (MQTT 5)")
	fs.String("will-content-type", "", "content type of the will message (MQTT 5)")
	fs.String("will-response-topic", "", "response topic of the will message (MQTT 5)")
	fs.String("will-correlation-data", "", "correlation data of the will message (MQTT 5)")
	fs.Bool("will-payload-format-indicator", false, "mark the will payload as UTF-8 text (MQTT 5)")
	fs.StringArray("will-user-property", nil, "user property key=value of the will message, repeatable (MQTT 5)")

	fs.String("ca", "", "CA certificate file (PEM) to trust for mqtts/wss")
	fs.String("cert", "", "client certificate file (PEM) for mqtts/wss")
	fs.String("key", "", "client key file (PEM) for mqtts/wss")
	fs.Bool("insecure", false, "do not verify the server certificate (mqtts/wss)")
	fs.StringArray("alpn", nil, "ALPN protocol to offer, repeatable (mqtts/wss)")
	fs.String("servername", "", "TLS server name for SNI and verification (default: the host)")

	fs.String("ws-path", "", "WebSocket path (default /mqtt)")
	fs.StringArray("ws-header", nil, "extra WebSocket handshake header \"Name: value\", repeatable")
	fs.Duration("connect-timeout", 0, "time allowed for dial and CONNACK (default 10s)")

	fs.Uint16("receive-maximum", 0, "receive maximum: QoS 1 and 2 messages in flight to us (MQTT 5)")
	fs.Uint32("maximum-packet-size", 0, "largest packet we accept, in bytes (MQTT 5)")
	fs.Uint16("topic-alias-maximum", 0, "topic aliases we accept from the broker (MQTT 5)")
	fs.Bool("request-response-info", false, "ask the broker for response information (MQTT 5)")
	fs.Bool("request-problem-info", true, "let the broker send reason strings and user properties on failures (MQTT 5)")

	fs.String(FlagProfile, "", "saved connection profile to use (default: $MQTTX_PROFILE, else the config's default)")
	fs.String(FlagConfig, "", "config file (default: $MQTTX_CONFIG, else $XDG_CONFIG_HOME/mqttx/config.yaml)")
}

// changed reports whether flag name exists in fs and was set by the user.
func changed(fs *pflag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Changed
}

// flagReader collects the values of changed flags, keeping the first error.
type flagReader struct {
	fs  *pflag.FlagSet
	err error
}

func (r *flagReader) fail(name string, err error) {
	if r.err == nil {
		r.err = usageErr(fmt.Errorf("invalid --%s: %v", name, err))
	}
}

func (r *flagReader) str(name string, dst **string) {
	if changed(r.fs, name) {
		v, err := r.fs.GetString(name)
		if err != nil {
			r.fail(name, err)
			return
		}
		*dst = &v
	}
}

func (r *flagReader) int(name string, dst **int) {
	if changed(r.fs, name) {
		v, err := r.fs.GetInt(name)
		if err != nil {
			r.fail(name, err)
			return
		}
		*dst = &v
	}
}

func (r *flagReader) boolean(name string, dst **bool) {
	if changed(r.fs, name) {
		v, err := r.fs.GetBool(name)
		if err != nil {
			r.fail(name, err)
			return
		}
		*dst = &v
	}
}

func (r *flagReader) u32(name string, dst **uint32) {
	if changed(r.fs, name) {
		v, err := r.fs.GetUint32(name)
		if err != nil {
			r.fail(name, err)
			return
		}
		*dst = &v
	}
}

func (r *flagReader) u16(name string, dst **uint16) {
	if changed(r.fs, name) {
		v, err := r.fs.GetUint16(name)
		if err != nil {
			r.fail(name, err)
			return
		}
		*dst = &v
	}
}

func (r *flagReader) array(name string, dst *[]string) {
	if changed(r.fs, name) {
		v, err := r.fs.GetStringArray(name)
		if err != nil {
			r.fail(name, err)
			return
		}
		*dst = append([]string{}, v...)
	}
}

// FromFlags returns the settings the user gave on the command line: only flags with
// fs.Changed(name) count, and flags that fs does not define are skipped. An -L/--url is
// applied first and explicit flags override its parts. --no-clean sets Clean to false
// (--no-clean=false sets it to true). Errors are *UsageError.
func FromFlags(fs *pflag.FlagSet) (Profile, error) {
	var p Profile
	if changed(fs, FlagURL) {
		raw, err := fs.GetString(FlagURL)
		if err != nil {
			return Profile{}, usageErr(fmt.Errorf("invalid --url: %v", err))
		}
		u, _, err := ParseURL(raw)
		if err != nil {
			return Profile{}, err
		}
		p = u
	}
	r := &flagReader{fs: fs}
	r.str("host", &p.Host)
	r.int("port", &p.Port)
	r.str("protocol", &p.Protocol)
	r.str("mqtt-version", &p.MQTTVersion)
	r.str("client-id", &p.ClientID)
	r.str("username", &p.Username)
	r.str("password", &p.Password)
	r.int("keepalive", &p.KeepAlive)
	if changed(fs, "no-clean") {
		var noClean *bool
		r.boolean("no-clean", &noClean)
		if noClean != nil {
			p.Clean = ptr(!*noClean)
		}
	}
	r.u32("session-expiry", &p.SessionExpiry)
	r.str("will-topic", &p.WillTopic)
	r.str("will-message", &p.WillMessage)
	r.int("will-qos", &p.WillQoS)
	r.boolean("will-retain", &p.WillRetain)
	r.u32("will-delay-interval", &p.WillDelay)
	r.u32("will-message-expiry", &p.WillMessageExpiry)
	r.str("will-content-type", &p.WillContentType)
	r.str("will-response-topic", &p.WillResponseTopic)
	r.str("will-correlation-data", &p.WillCorrelationData)
	r.boolean("will-payload-format-indicator", &p.WillPayloadFormat)
	r.array("will-user-property", &p.WillUserProperties)
	r.str("ca", &p.CA)
	r.str("cert", &p.Cert)
	r.str("key", &p.Key)
	r.boolean("insecure", &p.Insecure)
	r.array("alpn", &p.ALPN)
	r.str("servername", &p.ServerName)
	r.str("ws-path", &p.WSPath)
	r.array("ws-header", &p.WSHeaders)
	if changed(fs, "connect-timeout") {
		d, err := fs.GetDuration("connect-timeout")
		if err != nil {
			r.fail("connect-timeout", err)
		} else {
			p.ConnectTimeout = &d
		}
	}
	r.u16("receive-maximum", &p.ReceiveMaximum)
	r.u32("maximum-packet-size", &p.MaximumPacketSize)
	r.u16("topic-alias-maximum", &p.TopicAliasMaximum)
	r.boolean("request-response-info", &p.RequestResponseInfo)
	r.boolean("request-problem-info", &p.RequestProblemInfo)
	if r.err != nil {
		return Profile{}, r.err
	}
	return p, nil
}

// URLTopic returns the topic part of -L/--url ("" when -L is unset or has no topic), so
// pub and sub can use it when -t is not given.
func URLTopic(fs *pflag.FlagSet) (string, error) {
	if !changed(fs, FlagURL) {
		return "", nil
	}
	raw, err := fs.GetString(FlagURL)
	if err != nil {
		return "", usageErr(fmt.Errorf("invalid --url: %v", err))
	}
	_, topic, err := ParseURL(raw)
	return topic, err
}

// Environment variables read by FromEnv and Resolve.
const (
	EnvHost     = "MQTTX_HOST"
	EnvPort     = "MQTTX_PORT"
	EnvUsername = "MQTTX_USERNAME"
	EnvPassword = "MQTTX_PASSWORD"
	EnvProfile  = "MQTTX_PROFILE"
	EnvConfig   = "MQTTX_CONFIG"
)

// FromEnv reads MQTTX_HOST, MQTTX_PORT, MQTTX_USERNAME and MQTTX_PASSWORD. An empty
// variable counts as unset. A bad MQTTX_PORT is a *UsageError.
func FromEnv(getenv func(string) string) (Profile, error) {
	var p Profile
	if v := getenv(EnvHost); v != "" {
		p.Host = ptr(v)
	}
	if v := getenv(EnvPort); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 65535 {
			return Profile{}, usageErr(fmt.Errorf("invalid %s %s: must be a port number 1-65535", EnvPort, quoteIfNeeded(v)))
		}
		p.Port = ptr(n)
	}
	if v := getenv(EnvUsername); v != "" {
		p.Username = ptr(v)
	}
	if v := getenv(EnvPassword); v != "" {
		p.Password = ptr(v)
	}
	return p, nil
}
