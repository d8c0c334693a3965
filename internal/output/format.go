package output

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/payload"
)

// FormatDirectives documents the -F directives, mosquitto_sub's, for help and README.
const FormatDirectives = `%t topic       %p payload        %q QoS          %r retain flag (0/1)
%l payload length       %x payload hex    %X payload HEX  %m packet id (0: not known)
%I ISO 8601 time        %U unix time (s.ns)               %j message as JSON
%J JSON, payload as JSON when it is      %C content type  %D correlation data
%E message expiry       %F payload format indicator       %R response topic
%S subscription ids     %P user properties (name:value, space separated)
%A topic alias          %% a percent sign
\n newline  \t tab  \\ backslash  \0 NUL  \e escape`

// MessageFormat is a parsed -F format string.
type MessageFormat struct {
	parts []formatPart
}

type formatPart struct {
	lit  string
	verb byte // 0: literal
}

// ParseMessageFormat parses a mosquitto_sub -F format string: %-directives (see
// FormatDirectives) and backslash escapes. An unknown directive, a lone % or \ at the
// end, or mosquitto's @-time directives and field widths (not supported) are errors.
func ParseMessageFormat(s string) (*MessageFormat, error) {
	f := &MessageFormat{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.parts = append(f.parts, formatPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '%':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("invalid --format-string %q: lone %% at the end; write %%%% for a percent sign", s)
			}
			i++
			v := s[i]
			switch v {
			case '%':
				lit.WriteByte('%')
			case 't', 'p', 'q', 'r', 'l', 'x', 'X', 'm', 'I', 'U', 'j', 'J', 'C', 'D', 'E', 'F', 'R', 'S', 'P', 'A':
				flush()
				f.parts = append(f.parts, formatPart{verb: v})
			default:
				return nil, fmt.Errorf("invalid --format-string %q: unknown directive %%%s; see mqttx sub --help", s, quoteRune(s[i:]))
			}
		case '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("invalid --format-string %q: lone \\ at the end; write \\\\ for a backslash", s)
			}
			i++
			switch s[i] {
			case 'n':
				lit.WriteByte('\n')
			case 't':
				lit.WriteByte('\t')
			case '\\':
				lit.WriteByte('\\')
			case '0':
				lit.WriteByte(0)
			case 'e':
				lit.WriteByte(0x1b)
			case 'r':
				lit.WriteByte('\r')
			default:
				return nil, fmt.Errorf("invalid --format-string %q: unknown escape \\%s", s, quoteRune(s[i:]))
			}
		case '@':
			return nil, fmt.Errorf("invalid --format-string %q: @ time directives are not supported; use %%I or %%U", s)
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return f, nil
}

func quoteRune(s string) string {
	q := strconv.QuoteToASCII(string([]rune(s)[:1]))
	return q[1 : len(q)-1]
}

// Append appends m formatted by f to dst. shown is the payload as it is to be displayed
// (after --format decoding); now is the time for messages without one.
func (f *MessageFormat) Append(dst []byte, m mqttc.Message, shown []byte, now time.Time) []byte {
	t := m.ReceivedAt
	if t.IsZero() {
		t = now
	}
	pp := m.Properties
	if pp == nil {
		pp = &mqttc.PublishProperties{}
	}
	for _, p := range f.parts {
		if p.verb == 0 {
			dst = append(dst, p.lit...)
			continue
		}
		switch p.verb {
		case 't':
			dst = append(dst, m.Topic...)
		case 'p':
			dst = append(dst, shown...)
		case 'q':
			dst = strconv.AppendInt(dst, int64(m.QoS), 10)
		case 'r':
			dst = append(dst, boolDigit(m.Retain))
		case 'l':
			dst = strconv.AppendInt(dst, int64(len(m.Payload)), 10)
		case 'x':
			dst = hex.AppendEncode(dst, m.Payload)
		case 'X':
			dst = append(dst, strings.ToUpper(hex.EncodeToString(m.Payload))...)
		case 'm':
			dst = append(dst, '0')
		case 'I':
			dst = t.AppendFormat(dst, time.RFC3339Nano)
		case 'U':
			dst = fmt.Appendf(dst, "%d.%09d", t.Unix(), t.Nanosecond())
		case 'j', 'J':
			dst = appendMessageJSON(dst, m, t, p.verb == 'J')
		case 'C':
			dst = append(dst, pp.ContentType...)
		case 'D':
			dst = append(dst, pp.CorrelationData...)
		case 'E':
			if pp.MessageExpiry != nil {
				dst = strconv.AppendUint(dst, uint64(*pp.MessageExpiry), 10)
			}
		case 'F':
			if pp.PayloadFormat != nil {
				dst = strconv.AppendUint(dst, uint64(*pp.PayloadFormat), 10)
			}
		case 'R':
			dst = append(dst, pp.ResponseTopic...)
		case 'S':
			for i, id := range pp.SubscriptionIDs {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = strconv.AppendInt(dst, int64(id), 10)
			}
		case 'P':
			for i, u := range pp.UserProperties {
				if i > 0 {
					dst = append(dst, ' ')
				}
				dst = append(dst, u.Key...)
				dst = append(dst, ':')
				dst = append(dst, u.Value...)
			}
		case 'A':
			if pp.TopicAlias != nil {
				dst = strconv.AppendUint(dst, uint64(*pp.TopicAlias), 10)
			}
		}
	}
	return dst
}

func boolDigit(b bool) byte {
	if b {
		return '1'
	}
	return '0'
}

// appendMessageJSON is %j and %J: the message's JSON Lines object (without the newline);
// with payloadJSON, a payload that is JSON is embedded as JSON rather than a string.
func appendMessageJSON(dst []byte, m mqttc.Message, t time.Time, payloadJSON bool) []byte {
	s, enc := payload.String(m.Payload)
	obj := map[string]any{
		"type": "message", "received_at": t.Format(time.RFC3339Nano), "topic": m.Topic,
		"qos": m.QoS, "retain": m.Retain, "payload": s, "payload_encoding": string(enc),
	}
	if payloadJSON && json.Valid(m.Payload) {
		obj["payload"] = json.RawMessage(m.Payload)
		obj["payload_encoding"] = "json"
	}
	if jp := toJSONProperties(m.Properties); jp != nil {
		obj["properties"] = jp
	}
	return append(dst, marshal(obj)...)
}
