package profile

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/packet"
)

// ParseVersion parses an --mqtt-version value: "5" or "5.0" is MQTT 5, "3.1.1" or "311"
// is MQTT 3.1.1, "3.1" or "31" is MQTT 3.1; mosquitto's mqttv5, mqttv311 and mqttv31 too.
func ParseVersion(s string) (mqttc.Version, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "5", "5.0", "mqttv5":
		return mqttc.V5, nil
	case "3.1.1", "311", "mqttv311":
		return mqttc.V311, nil
	case "3.1", "31", "mqttv31":
		return mqttc.V31, nil
	}
	return 0, usageErr(fmt.Errorf("invalid --mqtt-version %s: must be 5, 3.1.1 or 3.1", quoteIfNeeded(s)))
}

// quoteIfNeeded keeps simple values readable (invalid --port 0) and makes empty or
// spaced values visible (invalid --host "").
func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\r\n\"'") || !utf8.ValidString(s) || !strconv.IsPrint(firstRune(s)) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// schemes maps the URL schemes -L accepts to our protocol names.
var schemes = map[string]string{
	"mqtt": "mqtt", "tcp": "mqtt",
	"mqtts": "mqtts", "ssl": "mqtts", "tls": "mqtts",
	"ws": "ws", "wss": "wss",
}

// DefaultPort returns the conventional port of a protocol: 1883 mqtt, 8883 mqtts, 8083 ws,
// 8084 wss (the ports MQTTX and EMQX use), or 0 for an unknown protocol.
func DefaultPort(protocol string) int {
	switch protocol {
	case "mqtt":
		return 1883
	case "mqtts":
		return 8883
	case "ws":
		return 8083
	case "wss":
		return 8084
	}
	return 0
}

// ParseURL parses an -L/--url value, scheme://[user[:password]@]host[:port][/rest], with
// scheme mqtt (or tcp), mqtts (or ssl, tls), ws or wss. User name and password are
// percent-decoded. For mqtt and mqtts, rest is the topic, percent-decoded and taken
// literally otherwise (so mqtt://host/sensor/# keeps its '#'); for ws and wss, "/"+rest is
// the WebSocket path and the returned topic is "". Unset parts stay unset in the profile.
func ParseURL(raw string) (Profile, string, error) {
	var p Profile
	bad := func(why string) (Profile, string, error) {
		return Profile{}, "", usageErr(fmt.Errorf("invalid --url %s: %s", quoteIfNeeded(raw), why))
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return bad("must look like mqtt://[user:password@]host[:port][/topic]")
	}
	proto, ok := schemes[strings.ToLower(scheme)]
	if !ok {
		return bad("scheme must be mqtt, mqtts, tcp, ssl, ws or wss")
	}
	p.Protocol = ptr(proto)
	authority, path, hasPath := strings.Cut(rest, "/")
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		userinfo := authority[:i]
		authority = authority[i+1:]
		user, pass, hasPass := strings.Cut(userinfo, ":")
		u, err := url.PathUnescape(user)
		if err != nil {
			return bad("bad percent-encoding in the user name")
		}
		p.Username = ptr(u)
		if hasPass {
			pw, err := url.PathUnescape(pass)
			if err != nil {
				return bad("bad percent-encoding in the password")
			}
			p.Password = ptr(pw)
		}
	}
	if authority == "" {
		return bad("missing host")
	}
	if strings.ContainsAny(authority, "?# \t\r\n") {
		return bad("bad host; percent-encode special characters in user and password")
	}
	if !strings.HasPrefix(authority, "[") && strings.Count(authority, ":") > 1 {
		return bad("put an IPv6 address in brackets, as in mqtt://[::1]:1883")
	}
	hu, err := url.Parse("mqtt://" + authority)
	if err != nil || hu.Hostname() == "" || hu.User != nil {
		return bad("bad host")
	}
	p.Host = ptr(hu.Hostname())
	if ps := hu.Port(); ps != "" {
		n, err := strconv.Atoi(ps)
		if err != nil || n < 1 || n > 65535 {
			return bad("port must be 1-65535")
		}
		p.Port = ptr(n)
	} else if strings.HasSuffix(authority, ":") {
		return bad("port must be 1-65535")
	}
	topic := ""
	if hasPath {
		if proto == "ws" || proto == "wss" {
			p.WSPath = ptr("/" + path)
		} else if path != "" {
			t, err := url.PathUnescape(path)
			if err != nil {
				return bad("bad percent-encoding in the topic")
			}
			topic = t
		}
	}
	return p, topic, nil
}

// ParseKV splits a "key=value" flag value at the first '='. flag names the flag in the
// error, e.g. "--user-property". The key must not be empty; the value may be.
func ParseKV(flag, s string) (mqttc.UserProperty, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return mqttc.UserProperty{}, usageErr(fmt.Errorf("invalid %s %s: must be key=value", flag, quoteIfNeeded(s)))
	}
	return mqttc.UserProperty{Key: k, Value: v}, nil
}

// parseKVs parses a list of "key=value" values, keeping order and duplicates.
func parseKVs(flag string, list []string) ([]mqttc.UserProperty, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := make([]mqttc.UserProperty, 0, len(list))
	for _, s := range list {
		kv, err := ParseKV(flag, s)
		if err != nil {
			return nil, err
		}
		out = append(out, kv)
	}
	return out, nil
}

// ParseHeader parses a --ws-header value "Name: value". The name must be an HTTP token.
func ParseHeader(s string) (name, value string, err error) {
	n, v, ok := strings.Cut(s, ":")
	n = strings.TrimSpace(n)
	if !ok || !validHeaderName(n) {
		return "", "", usageErr(fmt.Errorf("invalid --ws-header %s: must be \"Name: value\"", quoteIfNeeded(s)))
	}
	v = strings.TrimSpace(v)
	if strings.ContainsAny(v, "\r\n\x00") {
		return "", "", usageErr(fmt.Errorf("invalid --ws-header %s: the value must not contain line breaks", quoteIfNeeded(s)))
	}
	return http.CanonicalHeaderKey(n), v, nil
}

func validHeaderName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// ValidateTopicName checks a topic name for PUBLISH (or a will): not empty, no wildcards,
// no NUL, valid UTF-8, at most 65535 bytes. flag names the flag in the error.
func ValidateTopicName(flag, t string) error {
	// The verdict is the codec's (internal/packet); the cases below only say why.
	if packet.ValidTopicName(t) {
		return nil
	}
	why := "not a valid MQTT topic name"
	switch {
	case t == "":
		why = "must not be empty"
	case strings.ContainsAny(t, "+#"):
		why = "a topic name must not contain the wildcards + or #"
	case strings.IndexByte(t, 0) >= 0:
		why = "must not contain NUL"
	case !utf8.ValidString(t):
		why = "must be valid UTF-8"
	case len(t) > 65535:
		why = "must be at most 65535 bytes"
	}
	return usageErr(fmt.Errorf("invalid %s %s: %s", flag, quoteIfNeeded(t), why))
}

var errNoClientID = errors.New("--no-clean needs --client-id with --mqtt-version 3.1.1 or 3.1: a resumable session needs a fixed client id")
