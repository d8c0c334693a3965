package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fatih/color"

	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/payload"
)

// Event is something that happened, for Status (stderr) or Result (stdout).
//
// Type names the event: connecting, connected, subscribed, published, disconnecting,
// disconnected, reconnecting, error, client_connected, ... Text replaces the default
// words for Type in text mode ("Connected", "Subscribed to t"). Fields are extra data:
// top-level keys in JSON, "key=value" in verbose text status, "key: value" lines in text
// results. Time defaults to PrinterOptions.Now().
type Event struct {
	Type   string
	Time   time.Time
	Text   string
	Fields map[string]any
}

// Printer writes what a command has to say. Status and Error go to stderr; Result and
// Message go to stdout. Each call ends in exactly one Write of whole lines, so lines are
// never interleaved.
//
// A Printer is safe for concurrent use, but commands drive it from one goroutine: the
// MQTT receive callback only queues messages, so a slow stdout (| less) never stalls the
// network goroutine.
type Printer interface {
	// Status reports progress on stderr: "Connecting..." / "Connected" / "Subscribed to
	// t" in text, {"type":"connected",...} in JSON.
	Status(e Event) error
	// Result prints a command's result on stdout (conn's CONNACK details, pub's
	// "published" in JSON mode).
	Result(e Event) error
	// Message prints a received message on stdout: text, a JSON Lines object or the raw
	// payload.
	Message(m mqttc.Message) error
	// Error prints "Error: <msg>" in text, {"type":"error","error":"<msg>"} in JSON, on
	// stderr.
	Error(err error) error
}

// PrinterOptions tune a Printer.
type PrinterOptions struct {
	// Verbose adds the received time and MQTT 5 properties to text messages and the
	// fields of status events to text status lines.
	Verbose bool
	// Now is the clock for events and messages without a time; default time.Now.
	Now func() time.Time
	// Template, when set, prints each message with a -F format string instead of the
	// format's own layout.
	Template *MessageFormat
	// NoNewline leaves out the newline after a raw payload or a -F line (-N).
	NoNewline bool
	// Display, when set, turns a payload into what is shown (sub --format); the
	// message's own bytes still give %l and %x.
	Display func([]byte) []byte
}

// NewPrinter returns the Printer for f. Colours are decided from s once, here. Raw
// format prints each message's payload bytes and a newline; its status, results and
// errors are as in text.
func NewPrinter(s *Streams, f Format, opts PrinterOptions) Printer {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	p := &printer{s: s, format: f, opts: opts}
	mk := func(on bool, attrs ...color.Attribute) *color.Color {
		c := color.New(attrs...)
		if on {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
		return c
	}
	p.ok = mk(s.ColorErr(), color.FgGreen)
	p.busy = mk(s.ColorErr(), color.FgCyan)
	p.bad = mk(s.ColorErr(), color.FgRed, color.Bold)
	p.faintErr = mk(s.ColorErr(), color.Faint)
	p.topic = mk(s.ColorOut(), color.FgCyan, color.Bold)
	p.faintOut = mk(s.ColorOut(), color.Faint)
	p.key = mk(s.ColorOut(), color.FgYellow)
	return p
}

type printer struct {
	mu     sync.Mutex
	s      *Streams
	format Format
	opts   PrinterOptions
	buf    bytes.Buffer

	ok, busy, bad, faintErr *color.Color // stderr
	topic, faintOut, key    *color.Color // stdout
}

// flush writes the buffered record to w in one call.
func (p *printer) flush(w io.Writer) error {
	_, err := w.Write(p.buf.Bytes())
	p.buf.Reset()
	return err
}

// defaultText returns the MQTTX words for an event type.
func defaultText(e Event) string {
	switch e.Type {
	case "connecting":
		return "Connecting..."
	case "connected":
		return "Connected"
	case "subscribed":
		if t, ok := e.Fields["topic"]; ok {
			return "Subscribed to " + formatValue(t)
		}
		return "Subscribed"
	case "published":
		return "Published"
	case "disconnecting":
		return "Disconnecting..."
	case "disconnected":
		return "Disconnected"
	case "reconnecting":
		return "Reconnecting..."
	case "error":
		if m, ok := e.Fields["error"]; ok {
			return "Error: " + formatValue(m)
		}
		return "Error"
	case "":
		return ""
	}
	t := strings.ReplaceAll(e.Type, "_", " ")
	return strings.ToUpper(t[:1]) + t[1:]
}

func (p *printer) Status(e Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.format == FormatJSON {
		p.writeEventJSON(e)
		return p.flush(p.s.ErrOut)
	}
	text := e.Text
	if text == "" {
		text = defaultText(e)
	}
	if p.s.ColorErr() {
		switch e.Type {
		case "connecting", "reconnecting", "disconnecting":
			p.buf.WriteString(p.busy.Sprint("…") + " ")
		case "error":
			p.buf.WriteString(p.bad.Sprint("✖") + " ")
		default:
			p.buf.WriteString(p.ok.Sprint("✔") + " ")
		}
	}
	p.buf.WriteString(text)
	if p.opts.Verbose {
		for _, k := range sortedKeys(e.Fields) {
			if k == "topic" && e.Type == "subscribed" && e.Text == "" {
				continue // already in "Subscribed to <topic>"
			}
			p.buf.WriteString(" " + p.faintErr.Sprint(k+"="+formatValue(e.Fields[k])))
		}
	}
	p.buf.WriteByte('\n')
	return p.flush(p.s.ErrOut)
}

func (p *printer) Result(e Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.format == FormatJSON {
		p.writeEventJSON(e)
		return p.flush(p.s.Out)
	}
	text := e.Text
	if text == "" {
		text = defaultText(e)
	}
	if text != "" {
		p.buf.WriteString(text + "\n")
	}
	for _, k := range sortedKeys(e.Fields) {
		if k == "type" || k == "time" || k == "text" {
			continue // reserved, as in JSON
		}
		p.buf.WriteString("  " + p.key.Sprint(k+":") + " " + formatValue(e.Fields[k]) + "\n")
	}
	return p.flush(p.s.Out)
}

func (p *printer) Error(err error) error {
	if err == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	msg := EscapeControl(err.Error())
	if p.format == FormatJSON {
		// JSON escapes control characters itself.
		p.encodeJSON(struct {
			Type  string `json:"type"`
			Error string `json:"error"`
		}{"error", err.Error()})
		return p.flush(p.s.ErrOut)
	}
	p.buf.WriteString(p.bad.Sprint("Error:") + " " + msg + "\n")
	return p.flush(p.s.ErrOut)
}

func (p *printer) Message(m mqttc.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	shown := m.Payload
	if p.opts.Display != nil {
		shown = p.opts.Display(m.Payload)
	}
	switch {
	case p.opts.Template != nil:
		p.buf.Write(p.opts.Template.Append(p.buf.AvailableBuffer(), m, shown, p.opts.Now()))
		if !p.opts.NoNewline {
			p.buf.WriteByte('\n')
		}
	case p.format == FormatJSON:
		m.Payload = shown
		p.writeMessageJSON(m)
	case p.format == FormatRaw:
		p.buf.Write(shown)
		if !p.opts.NoNewline {
			p.buf.WriteByte('\n')
		}
	default:
		m.Payload = shown
		p.writeMessageText(m)
	}
	return p.flush(p.s.Out)
}

func (p *printer) receivedAt(m mqttc.Message) time.Time {
	if m.ReceivedAt.IsZero() {
		return p.opts.Now()
	}
	return m.ReceivedAt
}

// writeMessageText writes the topic and flags on one line and the payload on the next.
// A payload that is not valid UTF-8 is shown as "base64:" and its base64 form. Verbose
// adds the received time before the topic and one "  name: value" line per property.
func (p *printer) writeMessageText(m mqttc.Message) {
	if p.opts.Verbose {
		p.buf.WriteString(p.faintOut.Sprint(p.receivedAt(m).Format(time.RFC3339Nano)) + " ")
	}
	p.buf.WriteString(p.topic.Sprint(m.Topic))
	flags := " qos=" + strconv.Itoa(int(m.QoS))
	if m.Retain {
		flags += " retain"
	}
	if m.Dup {
		flags += " dup"
	}
	p.buf.WriteString(p.faintOut.Sprint(flags) + "\n")
	if p.opts.Verbose {
		for _, kv := range propertyLines(m.Properties) {
			p.buf.WriteString("  " + p.key.Sprint(kv[0]+":") + " " + kv[1] + "\n")
		}
	}
	if s, enc := payload.String(m.Payload); enc == payload.UTF8 {
		p.buf.WriteString(s)
	} else {
		p.buf.WriteString("base64:" + s)
	}
	p.buf.WriteByte('\n')
}

// propertyLines renders set properties in the order of mqttc.PublishProperties, with
// their JSON names.
func propertyLines(pp *mqttc.PublishProperties) [][2]string {
	if pp == nil {
		return nil
	}
	var out [][2]string
	if pp.PayloadFormat != nil {
		out = append(out, [2]string{"payload_format_indicator", strconv.Itoa(int(*pp.PayloadFormat))})
	}
	if pp.MessageExpiry != nil {
		out = append(out, [2]string{"message_expiry_interval", strconv.FormatUint(uint64(*pp.MessageExpiry), 10)})
	}
	if pp.TopicAlias != nil {
		out = append(out, [2]string{"topic_alias", strconv.Itoa(int(*pp.TopicAlias))})
	}
	if pp.ResponseTopic != "" {
		out = append(out, [2]string{"response_topic", pp.ResponseTopic})
	}
	if len(pp.CorrelationData) > 0 {
		s, enc := encodeBytes(pp.CorrelationData)
		if enc == "base64" {
			s = "base64:" + s
		}
		out = append(out, [2]string{"correlation_data", s})
	}
	for _, up := range pp.UserProperties {
		out = append(out, [2]string{"user_property", up.Key + "=" + up.Value})
	}
	if len(pp.SubscriptionIDs) > 0 {
		ids := make([]string, len(pp.SubscriptionIDs))
		for i, id := range pp.SubscriptionIDs {
			ids[i] = strconv.Itoa(id)
		}
		out = append(out, [2]string{"subscription_identifier", strings.Join(ids, ",")})
	}
	if pp.ContentType != "" {
		out = append(out, [2]string{"content_type", pp.ContentType})
	}
	return out
}

// encodeBytes returns b as a string and "utf8" when it is valid UTF-8, else its base64
// form and "base64" (payload.String).
func encodeBytes(b []byte) (string, string) {
	s, enc := payload.String(b)
	return s, string(enc)
}

// jsonMessage is the JSON Lines form of a message.
type jsonMessage struct {
	Type            string          `json:"type"`
	ReceivedAt      string          `json:"received_at"`
	Topic           string          `json:"topic"`
	QoS             byte            `json:"qos"`
	Retain          bool            `json:"retain"`
	Dup             bool            `json:"dup,omitempty"`
	Payload         string          `json:"payload"`
	PayloadEncoding string          `json:"payload_encoding"`
	Properties      *jsonProperties `json:"properties,omitempty"`
}

// jsonProperties are MQTT 5 PUBLISH properties in JSON. Correlation data follows the
// payload's rule: a string when valid UTF-8, else base64 with correlation_data_encoding
// "base64" (correlation_data_encoding is omitted for UTF-8).
type jsonProperties struct {
	PayloadFormat           *byte                `json:"payload_format_indicator,omitempty"`
	MessageExpiry           *uint32              `json:"message_expiry_interval,omitempty"`
	TopicAlias              *uint16              `json:"topic_alias,omitempty"`
	ResponseTopic           string               `json:"response_topic,omitempty"`
	CorrelationData         string               `json:"correlation_data,omitempty"`
	CorrelationDataEncoding string               `json:"correlation_data_encoding,omitempty"`
	UserProperties          []mqttc.UserProperty `json:"user_properties,omitempty"`
	SubscriptionIDs         []int                `json:"subscription_identifier,omitempty"`
	ContentType             string               `json:"content_type,omitempty"`
}

func toJSONProperties(pp *mqttc.PublishProperties) *jsonProperties {
	if pp == nil {
		return nil
	}
	j := &jsonProperties{
		PayloadFormat:   pp.PayloadFormat,
		MessageExpiry:   pp.MessageExpiry,
		TopicAlias:      pp.TopicAlias,
		ResponseTopic:   pp.ResponseTopic,
		UserProperties:  pp.UserProperties,
		SubscriptionIDs: pp.SubscriptionIDs,
		ContentType:     pp.ContentType,
	}
	if len(pp.CorrelationData) > 0 {
		s, enc := encodeBytes(pp.CorrelationData)
		j.CorrelationData = s
		if enc != "utf8" {
			j.CorrelationDataEncoding = enc
		}
	}
	if j.PayloadFormat == nil && j.MessageExpiry == nil && j.TopicAlias == nil &&
		j.ResponseTopic == "" && j.CorrelationData == "" && len(j.UserProperties) == 0 &&
		len(j.SubscriptionIDs) == 0 && j.ContentType == "" {
		return nil
	}
	return j
}

func (p *printer) writeMessageJSON(m mqttc.Message) {
	payload, enc := encodeBytes(m.Payload)
	p.encodeJSON(jsonMessage{
		Type:            "message",
		ReceivedAt:      p.receivedAt(m).Format(time.RFC3339Nano),
		Topic:           m.Topic,
		QoS:             m.QoS,
		Retain:          m.Retain,
		Dup:             m.Dup,
		Payload:         payload,
		PayloadEncoding: enc,
		Properties:      toJSONProperties(m.Properties),
	})
}

// encodeJSON appends v as one compact JSON line, without HTML escaping.
func (p *printer) encodeJSON(v any) {
	enc := json.NewEncoder(&p.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only a value json cannot represent gets here; say so rather than drop the line.
		p.buf.Reset()
		fmt.Fprintf(&p.buf, "{\"type\":\"error\",\"error\":%s}\n", strconv.Quote("cannot encode output: "+err.Error()))
	}
}

// writeEventJSON writes {"type":..,"time":..,"text":..(if set), fields...}; fields are
// sorted by key and cannot replace type, time or text.
func (p *printer) writeEventJSON(e Event) {
	t := e.Time
	if t.IsZero() {
		t = p.opts.Now()
	}
	var line bytes.Buffer
	line.WriteString(`{"type":`)
	line.Write(marshal(e.Type))
	line.WriteString(`,"time":`)
	line.Write(marshal(t.Format(time.RFC3339Nano)))
	if e.Text != "" {
		line.WriteString(`,"text":`)
		line.Write(marshal(e.Text))
	}
	for _, k := range sortedKeys(e.Fields) {
		if k == "type" || k == "time" || k == "text" {
			continue
		}
		line.WriteByte(',')
		line.Write(marshal(k))
		line.WriteByte(':')
		line.Write(marshal(e.Fields[k]))
	}
	line.WriteString("}\n")
	p.buf.Write(line.Bytes())
}

// marshal encodes v compactly without HTML escaping. Errors become their message and
// durations their String form ("1.5s"); a value json cannot encode becomes its fmt form
// as a string.
func marshal(v any) []byte {
	switch x := v.(type) {
	case error:
		v = x.Error()
	case time.Duration:
		v = x.String()
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		b.Reset()
		_ = json.NewEncoder(&b).Encode(fmt.Sprint(v))
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// formatValue renders a field value for text: strings as they are, []byte as text or
// base64, numbers and booleans with fmt, anything else as compact JSON.
func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		s, enc := encodeBytes(x)
		if enc == "base64" {
			return "base64:" + s
		}
		return s
	case error:
		return x.Error()
	case fmt.Stringer:
		return x.String()
	case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return fmt.Sprint(x)
	case nil:
		return "null"
	}
	return string(marshal(v))
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
