package auth

import (
	"strings"
	"testing"

	"github.com/mqttx/mqttx/internal/packet"
)

const exampleACL = `# anonymous
topic read public/#
topic   sensors/+/temp

user alice
topic readwrite alice/#
topic deny alice/secret
topic write cmd/+
user bob
topic read #
topic deny #
user carol
topic read $SYS/#

pattern readwrite devices/%c/#
pattern read users/%u/inbox
pattern deny private/%u
`

func TestACLAllowed(t *testing.T) {
	a, err := ParseACL([]byte(exampleACL))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id, user, topic string
		want            Access
		ok              bool
	}{
		{"c", "", "public/x", Read, true},
		{"c", "", "public/x", Write, false},
		{"c", "", "sensors/1/temp", Write, true}, // no access word: readwrite
		{"c", "", "alice/x", Read, false},
		{"c", "alice", "alice/x", Write, true},
		{"c", "alice", "alice/secret", Read, false},
		{"c", "alice", "public/x", Read, false}, // anonymous lines are not for users
		{"c", "alice", "cmd/1", Write, true},
		{"c", "alice", "cmd/1", Read, false},
		{"c", "bob", "anything", Read, false}, // deny first
		{"c", "carol", "$SYS/broker/uptime", Read, true},
		{"c", "alice", "$SYS/broker/uptime", Read, false},
		{"d1", "alice", "devices/d1/state", Write, true},
		{"d1", "", "devices/d1/state", Read, true}, // %c applies to anonymous clients
		{"d1", "alice", "devices/d2/state", Write, false},
		{"d+", "alice", "devices/d+/state", Write, false}, // wildcard in the id
		{"a/b", "alice", "devices/a/b/x", Write, false},   // '/' in the id adds a level
		{"c", "alice", "users/alice/inbox", Read, true},
		{"c", "", "users//inbox", Read, false}, // %u skipped for anonymous clients
		{"c", "eve", "users/eve/inbox", Read, true},
		{"c", "eve", "users/eve/inbox", Write, false},
		{"c", "eve", "private/eve", Read, false},
	} {
		if got := a.Allowed(tt.id, tt.user, tt.topic, tt.want); got != tt.ok {
			t.Errorf("Allowed(%q, %q, %q, %d) = %v, want %v", tt.id, tt.user, tt.topic, tt.want, got, tt.ok)
		}
	}
}

func TestACLMaySubscribe(t *testing.T) {
	a, err := ParseACL([]byte(exampleACL))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id, user, filter string
		ok               bool
	}{
		{"c", "", "public/#", true},
		{"c", "", "#", true},
		{"c", "", "+/+/temp", true},
		{"c", "", "alice/#", false},
		{"c", "alice", "alice/secret", false},
		{"c", "alice", "alice/+", true},
		{"c", "alice", "cmd/1", false}, // write only
		{"c", "bob", "x", false},
		{"c", "carol", "$SYS/#", true},
		{"c", "carol", "x/#", false},
		{"c", "carol", "#", true}, // not $SYS/..., but devices/c/... (a pattern)
		{"d1", "x", "devices/d1/#", true},
		{"d1", "x", "devices/+/state", true},
		{"c", "eve", "private/eve", false},
	} {
		if got := a.MaySubscribe(tt.id, tt.user, tt.filter); got != tt.ok {
			t.Errorf("MaySubscribe(%q, %q, %q) = %v, want %v", tt.id, tt.user, tt.filter, got, tt.ok)
		}
	}
}

func TestParseACLErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"topic\n", "line 1: empty topic"},
		{"# c\ntopic sometimes a/b\n", "line 2: unknown access \"sometimes\""},
		{"user\n", "line 1: user without a name"},
		{"topic read a/#/b\n", "invalid topic filter"},
		{"allow a\n", `unknown keyword "allow"`},
	} {
		_, err := ParseACL([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseACL(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
}

// FuzzParseACL checks that the parser never panics and that what it accepts
// behaves: every rule's filter is valid, and decisions never panic nor allow
// what no rule could.
func FuzzParseACL(f *testing.F) {
	f.Add([]byte(exampleACL), "c", "alice", "alice/x")
	f.Add([]byte("pattern read %u/%c/#\n"), "id", "u", "u/id/x")
	f.Add([]byte("topic deny #\ntopic read +\n"), "", "", "$x")
	f.Add([]byte("user u\ntopic deny a\npattern read a\n"), "c", "u", "a")
	f.Fuzz(func(t *testing.T, b []byte, id, user, topic string) {
		a, err := ParseACL(b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		rules := len(a.anon) + len(a.patterns)
		for name, l := range a.users {
			if name == "" {
				t.Fatal("empty user section")
			}
			rules += len(l)
			for _, r := range l {
				if !packet.ValidTopicFilter(r.filter) {
					t.Fatalf("invalid filter %q accepted", r.filter)
				}
			}
		}
		if !packet.ValidTopicName(topic) {
			return
		}
		for _, want := range []Access{Read, Write} {
			if a.Allowed(id, user, topic, want) && rules == 0 {
				t.Fatal("allowed with no rules")
			}
		}
		if packet.ValidTopicFilter(topic) && a.MaySubscribe(id, user, topic) && rules == 0 {
			t.Fatal("subscribe allowed with no rules")
		}
		// Whatever may be read through an exact subscription may be subscribed to.
		if !strings.ContainsAny(topic, "+#") && a.Allowed(id, user, topic, Read) && !a.MaySubscribe(id, user, topic) {
			t.Fatalf("may read %q but not subscribe to it", topic)
		}
	})
}

func TestOverlapsAndCovers(t *testing.T) {
	for _, tt := range []struct {
		a, b             string
		overlap, aCoverB bool
	}{
		{"a/#", "a", true, true},
		{"a/+", "a/b", true, true},
		{"a/b", "a/+", true, false},
		{"#", "$SYS/x", false, false},
		{"$SYS/#", "#", false, false},
		{"a/+/c", "a/b/#", true, false},
		{"a/b", "a/c", false, false},
		{"+", "a/b", false, false},
		{"a/#", "a/#", true, true},
		{"+/#", "a", true, true},
	} {
		if got := overlaps(tt.a, tt.b); got != tt.overlap {
			t.Errorf("overlaps(%q, %q) = %v", tt.a, tt.b, got)
		}
		if got := overlaps(tt.b, tt.a); got != tt.overlap {
			t.Errorf("overlaps(%q, %q) = %v (not symmetric)", tt.b, tt.a, got)
		}
		if got := covers(tt.a, tt.b); got != tt.aCoverB {
			t.Errorf("covers(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

func BenchmarkACLAllowed(b *testing.B) {
	a, err := ParseACL([]byte(exampleACL + "topic readwrite bench/#\nuser x\ntopic read bench/#\n"))
	if err != nil {
		b.Fatal(err)
	}
	p := &Policy{ACL: a}
	for _, tt := range []struct{ name, id, user, topic string }{
		{"anonymous", "sub1", "", "bench/out"},
		{"user", "sub1", "alice", "alice/x/y"},
		{"pattern", "d1", "eve", "devices/d1/state"},
		{"denied", "sub1", "eve", "other/topic/here"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				p.MayRead(tt.id, tt.user, tt.topic)
			}
		})
	}
}
