package profile

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/mqttx/mqttx/internal/mqttc"
)

// newClientID returns "mqttx_" and 8 random hex digits, like MQTTX. A variable so tests
// can fix it. The id must not collide, not be secret: math/rand, seeded by the runtime,
// spares a one-shot command setting up crypto/rand's generator.
var newClientID = func() string {
	return fmt.Sprintf("mqttx_%08x", rand.Uint32())
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// Options validates p and converts it to mqttc.Options. Unset fields take their values
// from Defaults(), so a zero Profile is valid. Errors are *UsageError naming the flag and
// the fix, e.g. "invalid --port 0: must be 1-65535" or "--session-expiry needs
// --mqtt-version 5".
//
// Client id: when unset, "mqttx_" and 8 random hex digits; set to "" (-i ""), left
// empty for the broker to assign (MQTT 5, and 3.1.1 with a clean session). With --no-clean on MQTT 3.x a
// client id is required instead ("--no-clean needs --client-id ..."), since a random id
// could never resume the session it asks to keep. On MQTT 5 a random id is generated as
// usual (the session can be resumed by passing that id later).
func (p Profile) Options() (mqttc.Options, error) {
	full := Defaults()
	if p.Protocol == nil && (p.CA != nil || p.Cert != nil) {
		// A CA or client certificate without a protocol means TLS, as mosquitto's
		// --cafile does.
		full.Protocol = ptr("mqtts")
	}
	full.Merge(p)
	p = full

	var o mqttc.Options
	fail := func(format string, args ...any) (mqttc.Options, error) {
		return mqttc.Options{}, usageErr(fmt.Errorf(format, args...))
	}

	v, err := ParseVersion(deref(p.MQTTVersion))
	if err != nil {
		return mqttc.Options{}, err
	}
	o.Version = v

	proto := strings.ToLower(deref(p.Protocol))
	switch proto {
	case "mqtt", "mqtts", "ws", "wss":
	default:
		return fail("invalid --protocol %s: must be mqtt, mqtts, ws or wss", quoteIfNeeded(proto))
	}
	o.Scheme = proto
	tls := proto == "mqtts" || proto == "wss"
	ws := proto == "ws" || proto == "wss"

	o.Host = deref(p.Host)
	if o.Host == "" {
		return fail("invalid --host \"\": must not be empty")
	}
	o.Port = DefaultPort(proto)
	if p.Port != nil {
		if *p.Port < 1 || *p.Port > 65535 {
			return fail("invalid --port %d: must be 1-65535", *p.Port)
		}
		o.Port = *p.Port
	}

	ka := deref(p.KeepAlive)
	if ka < 0 || ka > 65535 {
		return fail("invalid --keepalive %d: must be 0-65535 seconds", ka)
	}
	o.KeepAlive = uint16(ka)
	o.CleanStart = deref(p.Clean)

	o.ClientID = deref(p.ClientID)
	if p.ClientID != nil && o.ClientID == "" && (v == mqttc.V5 || (v == mqttc.V311 && o.CleanStart)) {
		// -i '': the broker assigns an id (MQTT 5 sends it back in CONNACK).
	} else if o.ClientID == "" {
		if !o.CleanStart && v != mqttc.V5 {
			return mqttc.Options{}, usageErr(errNoClientID)
		}
		o.ClientID = newClientID()
	}
	o.Username = deref(p.Username)
	if p.Password != nil {
		o.Password, o.HasPassword = *p.Password, true
	}

	if p.ConnectTimeout != nil {
		if *p.ConnectTimeout < 0 {
			return fail("invalid --connect-timeout %s: must not be negative", *p.ConnectTimeout)
		}
		o.ConnectTimeout = *p.ConnectTimeout
	}

	// MQTT 5 only settings, checked in table order so the message is predictable.
	if v != mqttc.V5 {
		for _, s := range Settings {
			if s.V5Only && s.IsSet(&p) {
				return fail("--%s needs --mqtt-version 5 (got %s)", s.Flag, v)
			}
		}
	}
	o.SessionExpiry = copyPtr(p.SessionExpiry)
	if v == mqttc.V5 && !o.CleanStart && o.SessionExpiry == nil {
		// Without an expiry interval an MQTT 5 session ends with the connection, which
		// is never what --no-clean asks for: keep it, as mosquitto_sub -c does.
		o.SessionExpiry = ptr(uint32(NeverExpires))
	}

	// Will.
	if p.WillTopic == nil {
		for _, s := range Settings {
			if s.Group == GroupWill && s.Flag != "will-topic" && s.IsSet(&p) {
				return fail("--%s needs --will-topic", s.Flag)
			}
		}
	} else {
		if err := ValidateTopicName("--will-topic", *p.WillTopic); err != nil {
			return mqttc.Options{}, err
		}
		w := &mqttc.Will{Topic: *p.WillTopic, Retain: deref(p.WillRetain)}
		if p.WillMessage != nil {
			w.Payload = []byte(*p.WillMessage)
		}
		qos := deref(p.WillQoS)
		if qos < 0 || qos > 2 {
			return fail("invalid --will-qos %d: must be 0, 1 or 2", qos)
		}
		w.QoS = byte(qos)
		w.DelayInterval = copyPtr(p.WillDelay)
		w.MessageExpiry = copyPtr(p.WillMessageExpiry)
		if p.WillPayloadFormat != nil {
			var f byte
			if *p.WillPayloadFormat {
				f = 1
			}
			w.PayloadFormat = &f
		}
		w.ContentType = deref(p.WillContentType)
		if p.WillResponseTopic != nil {
			if err := ValidateTopicName("--will-response-topic", *p.WillResponseTopic); err != nil {
				return mqttc.Options{}, err
			}
			w.ResponseTopic = *p.WillResponseTopic
		}
		if p.WillCorrelationData != nil {
			w.CorrelationData = []byte(*p.WillCorrelationData)
		}
		if w.UserProperties, err = parseKVs("--will-user-property", p.WillUserProperties); err != nil {
			return mqttc.Options{}, err
		}
		o.Will = w
	}

	// TLS: refuse TLS settings on a plain connection rather than silently ignore them.
	for _, s := range []struct {
		flag string
		set  bool
	}{
		{"--ca", p.CA != nil},
		{"--cert", p.Cert != nil},
		{"--key", p.Key != nil},
		{"--insecure", deref(p.Insecure)},
		{"--alpn", p.ALPN != nil},
		{"--servername", p.ServerName != nil},
	} {
		if s.set && !tls {
			return fail("%s needs --protocol mqtts or wss (got %s)", s.flag, proto)
		}
	}
	if (p.Cert == nil) != (p.Key == nil) {
		if p.Cert == nil {
			return fail("--key needs --cert")
		}
		return fail("--cert needs --key")
	}
	o.TLS = mqttc.TLSOptions{
		CAFile:     deref(p.CA),
		CertFile:   deref(p.Cert),
		KeyFile:    deref(p.Key),
		Insecure:   deref(p.Insecure),
		ALPN:       append([]string(nil), p.ALPN...),
		ServerName: deref(p.ServerName),
	}

	// WebSocket.
	if !ws {
		if p.WSPath != nil {
			return fail("--ws-path needs --protocol ws or wss (got %s)", proto)
		}
		if p.WSHeaders != nil {
			return fail("--ws-header needs --protocol ws or wss (got %s)", proto)
		}
	} else {
		o.WSPath = "/mqtt"
		if p.WSPath != nil {
			path := *p.WSPath
			if path == "" || path[0] != '/' {
				return fail("invalid --ws-path %s: must start with /", quoteIfNeeded(path))
			}
			o.WSPath = path
		}
		if len(p.WSHeaders) > 0 {
			o.WSHeaders = http.Header{}
			for _, h := range p.WSHeaders {
				name, value, err := ParseHeader(h)
				if err != nil {
					return mqttc.Options{}, err
				}
				o.WSHeaders.Add(name, value)
			}
		}
	}

	// MQTT 5 CONNECT properties.
	if p.ReceiveMaximum != nil && *p.ReceiveMaximum == 0 {
		return fail("invalid --receive-maximum 0: must be 1-65535")
	}
	o.ReceiveMaximum = copyPtr(p.ReceiveMaximum)
	if p.MaximumPacketSize != nil && *p.MaximumPacketSize == 0 {
		return fail("invalid --maximum-packet-size 0: must be at least 1")
	}
	o.MaximumPacketSize = copyPtr(p.MaximumPacketSize)
	o.TopicAliasMaximum = copyPtr(p.TopicAliasMaximum)
	o.RequestResponseInfo = deref(p.RequestResponseInfo)
	o.RequestProblemInfo = copyPtr(p.RequestProblemInfo)
	if o.UserProperties, err = parseKVs("--conn-user-property", p.UserProperties); err != nil {
		return mqttc.Options{}, err
	}
	return o, nil
}

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
