package packet

import (
	"strings"
	"testing"
)

func TestValidTopicName(t *testing.T) {
	for _, tt := range []struct {
		s  string
		ok bool
	}{
		{"a", true}, {"a/b/c", true}, {"/", true}, {"//", true}, {"$SYS/x", true}, {" ", true},
		{"sport/tennis/player1", true}, {"ü/€/𝄞", true},
		{"", false},                  // [MQTT-4.7.3-1]
		{"a/+", false}, {"#", false}, // [MQTT-3.3.2-2]
		{"a+b", false}, {"a#", false}, // wildcards anywhere
		{"a\x00b", false},                        // [MQTT-4.7.3-2]
		{"\xff", false}, {"\xed\xa0\x80", false}, // [MQTT-1.5.4-1] ill-formed, surrogate
		{strings.Repeat("a", 65535), true}, {strings.Repeat("a", 65536), false}, // [MQTT-4.7.3-3]
	} {
		if got := ValidTopicName(tt.s); got != tt.ok {
			t.Errorf("ValidTopicName(%q) = %v, want %v", trunc(tt.s), got, tt.ok)
		}
		if got := validTopicNameBytes([]byte(tt.s)); len(tt.s) <= 65535 && got != tt.ok {
			t.Errorf("validTopicNameBytes(%q) = %v, want %v", trunc(tt.s), got, tt.ok)
		}
	}
}

func trunc(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

// Examples from MQTT 5 section 4.7.1 ([MQTT-4.7.1-1], [MQTT-4.7.1-2]).
func TestValidTopicFilter(t *testing.T) {
	for _, tt := range []struct {
		s  string
		ok bool
	}{
		{"sport/tennis/player1/#", true}, {"sport/#", true}, {"#", true}, {"sport/tennis#", false},
		{"sport/tennis/#/ranking", false}, {"+", true}, {"+/tennis/#", true}, {"sport+", false},
		{"sport/+/player1", true}, {"/+", true}, {"+/+", true}, {"a//b", true}, {"/", true},
		{"##", false}, {"#/", false}, {"++", false}, {"a/b+", false}, {"+a", false},
		{"", false}, {"a\x00", false}, {"\xc3\x28", false}, {strings.Repeat("x", 65536), false},
		// Shared subscriptions ([MQTT-4.8.2-1], [MQTT-4.8.2-2]).
		{"$share/g/a/b", true}, {"$share/g/#", true}, {"$share/g/+/x", true},
		{"$share/", false}, {"$share//a", false}, {"$share/g", false}, {"$share/g/", false},
		{"$share/g+/a", false}, {"$share/#/a", false}, {"$share/g/a#", false},
		{"$sharex/g/a", true}, {"$SHARE/g/a", true},
	} {
		if got := ValidTopicFilter(tt.s); got != tt.ok {
			t.Errorf("ValidTopicFilter(%q) = %v, want %v", trunc(tt.s), got, tt.ok)
		}
	}
}

func TestParseShared(t *testing.T) {
	for _, tt := range []struct {
		in, group, filter string
		ok                bool
	}{
		{"$share/consumer1/sport/tennis/+", "consumer1", "sport/tennis/+", true},
		{"$share/g/#", "g", "#", true},
		{"$share/g//", "g", "/", true},
		{"sport/#", "", "", false},
		{"$share/g", "", "", false},
		{"$share//x", "", "", false},
		{"$share/a+b/x", "", "", false},
		{"$share/g/x#", "", "", false},
	} {
		g, f, ok := ParseShared(tt.in)
		if g != tt.group || f != tt.filter || ok != tt.ok {
			t.Errorf("ParseShared(%q) = %q, %q, %v; want %q, %q, %v", tt.in, g, f, ok, tt.group, tt.filter, tt.ok)
		}
		if IsShared(tt.in) != strings.HasPrefix(tt.in, "$share/") {
			t.Errorf("IsShared(%q) wrong", tt.in)
		}
	}
}

func TestValidUTF8(t *testing.T) {
	for _, tt := range []struct {
		s  string
		ok bool
	}{
		{"", true}, {"abc", true}, {"ü€𝄞", true}, {"\uFEFF", true},
		{"\x00", false}, {"a\x00", false}, {"ü\x00", false},
		{"\xed\xa0\x80", false}, {"\xed\xbf\xbf", false}, // U+D800, U+DFFF surrogates
		{"\xc0\xaf", false}, {"\xf4\x90\x80\x80", false}, // overlong, above U+10FFFF
		{"\xff", false}, {"a\xe2\x82", false},
	} {
		if got := ValidUTF8String(tt.s); got != tt.ok {
			t.Errorf("ValidUTF8String(%q) = %v, want %v", tt.s, got, tt.ok)
		}
		if got := ValidUTF8([]byte(tt.s)); got != tt.ok {
			t.Errorf("ValidUTF8(%q) = %v, want %v", tt.s, got, tt.ok)
		}
	}
}

// Matching examples from MQTT 5 section 4.7.
func TestMatchTopic(t *testing.T) {
	for _, tt := range []struct {
		filter, topic string
		ok            bool
	}{
		{"sport/tennis/player1/#", "sport/tennis/player1", true},
		{"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
		{"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
		{"sport/#", "sport", true},
		{"#", "a/b", true},
		{"sport/tennis/+", "sport/tennis/player1", true},
		{"sport/tennis/+", "sport/tennis/player1/ranking", false},
		{"sport/+", "sport", false},
		{"sport/+", "sport/", true},
		{"+/+", "/finance", true},
		{"/+", "/finance", true},
		{"+", "/finance", false},
		{"#", "$SYS/x", false}, // [MQTT-4.7.2-1]
		{"+/monitor/Clients", "$SYS/monitor/Clients", false},
		{"$SYS/#", "$SYS/monitor/Clients", true},
		{"$SYS/monitor/+", "$SYS/monitor/Clients", true},
		{"a/b", "a/b", true}, {"a/b", "a/c", false}, {"a/b", "a/b/c", false}, {"a/b/c", "a/b", false},
		{"ACCOUNTS", "Accounts", false},
	} {
		if got := MatchTopic(tt.filter, tt.topic); got != tt.ok {
			t.Errorf("MatchTopic(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.ok)
		}
	}
}

func TestReasonCodeStrings(t *testing.T) {
	for rc, want := range map[ReasonCode]string{
		Success: "Success", MalformedPacket: "Malformed Packet", BadUserNameOrPassword: "Bad User Name or Password",
		WildcardSubscriptionsNotSupported: "Wildcard Subscriptions not supported", ReAuthenticate: "Re-authenticate",
		0x03: "reason code 0x03",
	} {
		if rc.String() != want {
			t.Errorf("%#x.String() = %q, want %q", byte(rc), rc.String(), want)
		}
	}
	for rc, want := range map[ReasonCode]ReasonCode{
		Success: V3Accepted, UnsupportedProtocolVersion: V3RefusedProtocolVersion,
		ClientIdentifierNotValid: V3RefusedIdentifierRejected, BadUserNameOrPassword: V3RefusedBadUsernameOrPassword,
		NotAuthorized: V3RefusedNotAuthorized, Banned: V3RefusedNotAuthorized, ServerUnavailable: V3RefusedServerUnavailable,
		ServerBusy: V3RefusedServerUnavailable, UnspecifiedError: V3RefusedServerUnavailable, V3RefusedNotAuthorized: V3RefusedNotAuthorized,
	} {
		if got := V3ConnackCode(rc); got != want {
			t.Errorf("V3ConnackCode(%s) = %d, want %d", rc, got, want)
		}
	}
	if V3ConnackText(V3RefusedIdentifierRejected) != "Connection Refused, identifier rejected" {
		t.Error("V3ConnackText wrong")
	}
	for ty := CONNECT; ty <= AUTH; ty++ {
		if New(ty) == nil || New(ty).Type() != ty {
			t.Errorf("New(%s) wrong", ty)
		}
	}
	if PUBLISH.String() != "PUBLISH" || Type(0).String() != "RESERVED" || V311.String() != "3.1.1" {
		t.Error("type or version names wrong")
	}
}

// The 8-bytes-at-a-time checks must find a bad byte at any position.
func TestValidatorsEveryPosition(t *testing.T) {
	for n := 1; n <= 40; n++ {
		for i := 0; i < n; i++ {
			for _, bad := range []struct {
				b          string
				name, utf8 bool
			}{
				{"\x00", false, false}, {"+", false, true}, {"#", false, true},
				{"\xff", false, false}, {"é", true, true},
			} {
				s := strings.Repeat("a", i) + bad.b + strings.Repeat("b", n-i-1)
				if got := ValidTopicName(s); got != bad.name {
					t.Fatalf("ValidTopicName(%q) = %v", s, got)
				}
				if got := validTopicNameBytes([]byte(s)); got != bad.name {
					t.Fatalf("validTopicNameBytes(%q) = %v", s, got)
				}
				if got := ValidUTF8([]byte(s)); got != bad.utf8 {
					t.Fatalf("ValidUTF8(%q) = %v", s, got)
				}
				if got := ValidUTF8String(s); got != bad.utf8 {
					t.Fatalf("ValidUTF8String(%q) = %v", s, got)
				}
			}
		}
	}
}

func TestTopicLevels(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want int
	}{{"a", 1}, {"a/b", 2}, {"/", 2}, {"#", 1}, {"a//b/", 4}, {"$share/g/a/+", 4}} {
		if got := TopicLevels(tt.s); got != tt.want {
			t.Errorf("TopicLevels(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}

func FuzzTopicLevels(f *testing.F) {
	for _, s := range []string{"", "a", "a/b", "////", "+/#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := TopicLevels(s)
		if n < 1 || n > len(s)+1 {
			t.Fatalf("TopicLevels(%q) = %d: want 1 to len+1", s, n)
		}
		if got := len(strings.Split(s, "/")); got != n {
			t.Fatalf("TopicLevels(%q) = %d, strings.Split gives %d levels", s, n, got)
		}
	})
}

func TestIsSysTopic(t *testing.T) {
	for s, want := range map[string]bool{"$SYS/broker/version": true, "$SYS": true, "$SYSX/a": false, "a/$SYS/b": false, "$sys/a": false} {
		if IsSysTopic(s) != want {
			t.Errorf("IsSysTopic(%q) = %v, want %v", s, !want, want)
		}
	}
}
