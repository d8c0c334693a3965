package packet

import (
	"encoding/binary"
	"strings"
	"unicode/utf8"
)

// SharePrefix starts a shared subscription filter: "$share/{ShareName}/{filter}".
const SharePrefix = "$share/"

// ValidTopicName reports whether s is a valid Topic Name for PUBLISH: 1 to 65535 bytes
// ([MQTT-4.7.3-1], [MQTT-4.7.3-3]) of MQTT UTF-8 without U+0000 ([MQTT-4.7.3-2]) and
// without the wildcards + and # ([MQTT-3.3.2-2], [MQTT-4.7.0-1]).
func ValidTopicName(s string) bool {
	if len(s) == 0 || len(s) > MaxStringLen {
		return false
	}
	return !strings.ContainsAny(s, "+#") && ValidUTF8String(s)
}

// validTopicNameBytes is ValidTopicName without the length limit, for decoded fields.
// It checks eight bytes at a time while they are ASCII without NUL, '+' and '#'.
func validTopicNameBytes(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		if x&swarHi != 0 || swarHasZero(x) || swarHasZero(x^(swarLo*'+')) || swarHasZero(x^(swarLo*'#')) {
			break
		}
		b = b[8:]
	}
	for i, c := range b {
		switch {
		case c == 0 || c == '+' || c == '#':
			return false
		case c >= 0x80:
			rest := b[i:]
			for _, c := range rest {
				if c == 0 || c == '+' || c == '#' {
					return false
				}
			}
			return utf8.Valid(rest)
		}
	}
	return true
}

const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// swarHasZero reports whether any byte of x is zero.
func swarHasZero(x uint64) bool { return (x-swarLo)&^x&swarHi != 0 }

// ValidTopicFilter reports whether s is a valid Topic Filter: 1 to 65535 bytes of MQTT
// UTF-8 without U+0000, '#' only as the last character and alone in its level
// ([MQTT-4.7.1-1]), '+' alone in its level ([MQTT-4.7.1-2]). A filter starting with
// "$share/" must also be a valid shared subscription (see ParseShared).
func ValidTopicFilter(s string) bool {
	if strings.HasPrefix(s, SharePrefix) {
		_, _, ok := ParseShared(s)
		return ok
	}
	return validFilter(s)
}

func validFilter(s string) bool {
	if len(s) == 0 || len(s) > MaxStringLen || !ValidUTF8String(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '#':
			if i != len(s)-1 || (i > 0 && s[i-1] != '/') {
				return false
			}
		case '+':
			if (i > 0 && s[i-1] != '/') || (i < len(s)-1 && s[i+1] != '/') {
				return false
			}
		}
	}
	return true
}

// ParseShared splits a shared subscription "$share/{ShareName}/{filter}" into the share
// name and the filter. ok is false when filter does not start with "$share/" or when it
// does but is invalid: an empty share name, a share name with '/', '+' or '#'
// ([MQTT-4.8.2-1], [MQTT-4.8.2-2]), or an invalid or empty filter part.
func ParseShared(filter string) (group, f string, ok bool) {
	if !strings.HasPrefix(filter, SharePrefix) {
		return "", "", false
	}
	rest := filter[len(SharePrefix):]
	i := strings.IndexByte(rest, '/')
	if i <= 0 {
		return "", "", false
	}
	group, f = rest[:i], rest[i+1:]
	if strings.ContainsAny(group, "+#") || !validFilter(filter[:len(SharePrefix)+i]) || !validFilter(f) {
		return "", "", false
	}
	return group, f, true
}

// IsShared reports whether filter has the "$share/" prefix of a shared subscription
// (valid or not).
func IsShared(filter string) bool { return strings.HasPrefix(filter, SharePrefix) }

// MatchTopic reports whether topic name matches topic filter (not shared: pass the filter
// part from ParseShared). Filters starting with a wildcard do not match topics starting
// with '$' ([MQTT-4.7.2-1]).
func MatchTopic(filter, topic string) bool {
	if len(topic) > 0 && topic[0] == '$' && len(filter) > 0 && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		if filter == "#" {
			return true
		}
		fl, frest, fmore := strings.Cut(filter, "/")
		tl, trest, tmore := strings.Cut(topic, "/")
		if fl != "+" && fl != tl {
			return false
		}
		if !fmore && !tmore {
			return true
		}
		if !fmore {
			return false
		}
		if !tmore {
			// "a/#" matches "a" ([MQTT-4.7.1-2] note: # includes the parent level).
			return frest == "#"
		}
		filter, topic = frest, trest
	}
}

// TopicLevels returns the number of levels of a topic name or filter: one
// more than its '/' separators ("a/b" has 2, "/" has 2, "#" has 1). A broker
// bounds it: each level of a subscription costs a node of its topic tree.
func TopicLevels(s string) int {
	return strings.Count(s, "/") + 1
}

// IsSysTopic reports whether topic is under "$SYS/", the broker's own
// topics, which clients may read but not publish to.
func IsSysTopic(topic string) bool {
	return strings.HasPrefix(topic, "$SYS/") || topic == "$SYS"
}
