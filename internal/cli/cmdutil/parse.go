package cmdutil

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/packet"
	"github.com/mqttx/mqttx/internal/profile"
)

// ParseUserProperties parses "key=value" pairs as given to --user-property. The value
// may contain '='; the key may not be empty. Order and duplicates are kept.
func ParseUserProperties(flag string, pairs []string) ([]mqttc.UserProperty, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	props := make([]mqttc.UserProperty, 0, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid --%s %q: use key=value", flag, p)
		}
		props = append(props, mqttc.UserProperty{Key: k, Value: v})
	}
	return props, nil
}

// ValidateTopicName checks a topic to publish to: not empty, no wildcards, no NUL, valid
// UTF-8, at most 65535 bytes.
func ValidateTopicName(t string) error {
	// The verdict is the codec's (internal/packet); the checks below only say why.
	if packet.ValidTopicName(t) {
		return nil
	}
	if t == "" {
		return errors.New("invalid --topic: the topic must not be empty")
	}
	if err := validateTopicString(t); err != nil {
		return err
	}
	if strings.ContainsAny(t, "+#") {
		return fmt.Errorf("invalid --topic %s: topic names cannot contain wildcards", t)
	}
	return fmt.Errorf("invalid --topic %q: not a valid MQTT topic name", t)
}

// ValidateTopicFilter checks a subscription filter: not empty, '#' alone in the last
// level, '+' alone in its level, valid UTF-8 without NUL. Shared subscriptions
// ($share/group/filter) need a group name without wildcards and a filter.
func ValidateTopicFilter(f string) error {
	// The verdict is the codec's (internal/packet); the checks below only say why.
	if packet.ValidTopicFilter(f) {
		return nil
	}
	if f == "" {
		return errors.New("invalid --topic: the topic filter must not be empty")
	}
	if err := validateTopicString(f); err != nil {
		return err
	}
	filter := f
	if rest, ok := strings.CutPrefix(f, "$share/"); ok {
		group, sub, ok := strings.Cut(rest, "/")
		if !ok || group == "" || sub == "" {
			return fmt.Errorf("invalid --topic %s: a shared subscription is $share/<group>/<filter>", f)
		}
		if strings.ContainsAny(group, "+#") {
			return fmt.Errorf("invalid --topic %s: the share group cannot contain wildcards", f)
		}
		filter = sub
	}
	levels := strings.Split(filter, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return fmt.Errorf("invalid --topic %s: '#' must be the last level", f)
		case l != "#" && strings.Contains(l, "#"):
			return fmt.Errorf("invalid --topic %s: '#' must be alone in its level", f)
		case l != "+" && strings.Contains(l, "+"):
			return fmt.Errorf("invalid --topic %s: '+' must be alone in its level", f)
		}
	}
	return fmt.Errorf("invalid --topic %q: not a valid MQTT topic filter", f)
}

func validateTopicString(t string) error {
	if len(t) > 65535 {
		return fmt.Errorf("invalid --topic: %d bytes is longer than 65535", len(t))
	}
	if !utf8.ValidString(t) {
		return fmt.Errorf("invalid --topic %q: not valid UTF-8", t)
	}
	if strings.ContainsRune(t, 0) {
		return fmt.Errorf("invalid --topic %q: contains a NUL character", t)
	}
	return nil
}

// ValidateQoS checks a QoS flag value.
func ValidateQoS(flag string, q int) error {
	if q < 0 || q > 2 {
		return fmt.Errorf("invalid --%s %d: must be 0, 1 or 2", flag, q)
	}
	return nil
}

// Duration is a flag value that accepts Go durations ("1m30s", "500ms") and, like
// mosquitto's -W, plain seconds ("5", "1.5").
type Duration time.Duration

// ParseDuration parses s as plain seconds or a Go duration; it must not be negative.
func ParseDuration(s string) (time.Duration, error) { return profile.ParseDuration(s) }

// String implements pflag.Value.
func (d *Duration) String() string {
	if *d == 0 {
		return "0"
	}
	return time.Duration(*d).String()
}

// Set implements pflag.Value.
func (d *Duration) Set(s string) error {
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Type implements pflag.Value.
func (d *Duration) Type() string { return "duration" }

// ParseMillis parses s as MQTTX CLI's interval flags do: plain milliseconds ("1000",
// "2.5") or a Go duration ("500ms", "2s"); it must not be negative.
func ParseMillis(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f > float64(1<<63-1)/float64(time.Millisecond) {
			return 0, fmt.Errorf("%q is too long", s)
		}
		d = time.Duration(f * float64(time.Millisecond))
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, fmt.Errorf("%q is not a duration: use 2s, 500ms or milliseconds (1000)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// Millis is a pflag.Value for an interval given as ParseMillis reads it.
type Millis time.Duration

// String implements pflag.Value.
func (d *Millis) String() string {
	if *d == 0 {
		return "0"
	}
	return time.Duration(*d).String()
}

// Set implements pflag.Value.
func (d *Millis) Set(s string) error {
	v, err := ParseMillis(s)
	if err != nil {
		return err
	}
	*d = Millis(v)
	return nil
}

// Type implements pflag.Value.
func (d *Millis) Type() string { return "duration" }
