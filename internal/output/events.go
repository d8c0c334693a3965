package output

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mqttx/mqttx/internal/mqttc"
)

// Kind names an event; it is the "type" of its JSON line. Every kind the client
// commands print has a constant and a constructor below, so the words, the JSON fields
// and their names live here once. Other packages add their kinds (bench progress and
// summaries, simulate) in their own files of this package the same way.
type Kind string

// Kinds of the client commands' events.
const (
	KindConnecting   Kind = "connecting"
	KindConnected    Kind = "connected"
	KindSubscribed   Kind = "subscribed"
	KindUnsubscribed Kind = "unsubscribed"
	KindPublished    Kind = "published"
	KindReconnecting Kind = "reconnecting"
	KindDisconnected Kind = "disconnected"
	KindDropped      Kind = "dropped"
	KindWarning      Kind = "warning"
	KindPacket       Kind = "packet"

	KindProfile        Kind = "profile"
	KindProfileSaved   Kind = "profile_saved"
	KindProfileRemoved Kind = "profile_removed"
	KindProfileDefault Kind = "profile_default"
)

// Kind returns the event's kind.
func (e Event) Kind() Kind { return Kind(e.Type) }

func newEvent(k Kind, text string, fields map[string]any) Event {
	return Event{Type: string(k), Text: text, Fields: fields}
}

// Connecting is "Connecting..." to host:port.
func Connecting(host string, port int) Event {
	return newEvent(KindConnecting, "Connecting...", map[string]any{"host": host, "port": port})
}

// Connected is "Connected" with the client id in use and whether a session was resumed.
func Connected(clientID string, sessionPresent bool) Event {
	return newEvent(KindConnected, "Connected", map[string]any{"client_id": clientID, "session_present": sessionPresent})
}

// ConnectedDetails is conn's result: "Connected" and every field of what the broker
// granted (see conn).
func ConnectedDetails(fields map[string]any) Event {
	return newEvent(KindConnected, "Connected", fields)
}

// Subscribed is "Subscribed to TOPIC" with the QoS asked for and, when known, the one
// granted (or the SUBACK reason code).
func Subscribed(topic string, qos byte, granted *byte) Event {
	f := map[string]any{"topic": topic, "qos": qos}
	if granted != nil {
		f["granted_qos"] = *granted
	}
	return newEvent(KindSubscribed, "Subscribed to "+topic, f)
}

// Unsubscribed is "Unsubscribed from TOPIC".
func Unsubscribed(topic string) Event {
	return newEvent(KindUnsubscribed, "Unsubscribed from "+topic, map[string]any{"topic": topic})
}

// Published is "Published" once the broker acknowledged the message (QoS 1 and 2) or it
// was written (QoS 0).
func Published(topic string, qos byte, retain bool, size int) Event {
	return newEvent(KindPublished, "Published", map[string]any{"topic": topic, "qos": qos, "retain": retain, "bytes": size})
}

// Reconnecting is "Reconnecting... [n]": attempt n starts after delay; cause is why the
// connection ended (nil if it is not known).
func Reconnecting(attempt int, delay time.Duration, cause error) Event {
	f := map[string]any{"attempt": attempt, "delay": delay}
	if cause != nil {
		f["error"] = EscapeControl(cause.Error())
	}
	return newEvent(KindReconnecting, fmt.Sprintf("Reconnecting... [%d]", attempt), f)
}

// Disconnected is "Disconnected".
func Disconnected() Event {
	return newEvent(KindDisconnected, "Disconnected", nil)
}

// Dropped says n received messages were not printed because output was too slow.
func Dropped(n int64) Event {
	return newEvent(KindDropped, fmt.Sprintf("Dropped %d messages: output too slow", n), map[string]any{"dropped": n})
}

// Warning is a note on stderr that does not stop the command.
func Warning(text string) Event {
	return newEvent(KindWarning, "Warning: "+EscapeControl(text), map[string]any{"warning": EscapeControl(text)})
}

// Profile is one saved connection profile, for profile ls (settings nil) and profile
// show (its settings by YAML key, password masked).
func Profile(name string, isDefault bool, settings map[string]string) Event {
	f := map[string]any{"name": name, "default": isDefault}
	if settings != nil {
		f["settings"] = settings
	}
	return newEvent(KindProfile, name, f)
}

// ProfileSaved says profile save wrote name to the config file at path, replacing a
// profile of that name or not.
func ProfileSaved(name, path string, replaced bool) Event {
	verb := "Saved"
	if replaced {
		verb = "Replaced"
	}
	return newEvent(KindProfileSaved, fmt.Sprintf("%s profile %s in %s", verb, name, path),
		map[string]any{"name": name, "path": path, "replaced": replaced})
}

// ProfileRemoved says profile rm removed name from the config file at path.
func ProfileRemoved(name, path string) Event {
	return newEvent(KindProfileRemoved, fmt.Sprintf("Removed profile %s from %s", name, path),
		map[string]any{"name": name, "path": path})
}

// ProfileDefault says profile use made name the default.
func ProfileDefault(name string) Event {
	return newEvent(KindProfileDefault, "Default profile is now "+name, map[string]any{"name": name})
}

// Packet is -d/--debug's line for one MQTT packet: "-> PUBLISH topic=a/b qos=1 id=3
// (12 bytes)" for one sent, "<-" for one received.
func Packet(t mqttc.PacketTrace) Event {
	var b strings.Builder
	if t.Sent {
		b.WriteString("-> ")
	} else {
		b.WriteString("<- ")
	}
	b.WriteString(t.Type)
	f := map[string]any{"direction": "in", "packet": t.Type, "bytes": t.Size}
	if t.Sent {
		f["direction"] = "out"
	}
	add := func(k string, v any) {
		f[k] = v
		fmt.Fprintf(&b, " %s=%v", k, v)
	}
	if t.ClientID != "" {
		add("client_id", EscapeControl(t.ClientID))
	}
	if t.Topic != "" {
		add("topic", EscapeControl(t.Topic))
		add("qos", t.QoS)
		if t.Retain {
			add("retain", true)
		}
		if t.Dup {
			add("dup", true)
		}
	}
	if len(t.Filters) > 0 {
		add("filters", EscapeControl(strings.Join(t.Filters, ",")))
	}
	if t.ID != 0 {
		add("id", t.ID)
	}
	if t.Reason != 0 {
		add("reason", fmt.Sprintf("0x%02x", t.Reason))
	}
	if t.Err != "" {
		add("error", EscapeControl(t.Err))
	}
	fmt.Fprintf(&b, " (%d bytes)", t.Size)
	return newEvent(KindPacket, b.String(), f)
}

// EscapeControl makes s safe to print on one line: control characters (line breaks, ESC,
// NUL, ...) and bytes that are not UTF-8 are written as Go escapes (\n, \x1b), the rest
// as it is.
func EscapeControl(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsControl(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Quiet returns p without status lines: results, messages and errors still print.
func Quiet(p Printer) Printer { return quiet{p} }

type quiet struct{ Printer }

func (quiet) Status(Event) error { return nil }
