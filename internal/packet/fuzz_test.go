package packet

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzVersions = [3]Version{V31, V311, V5}

// FuzzDecode feeds a version selector byte and a byte stream to the decoder. Whatever
// decodes must re-encode, report its size exactly, and decode again to the same value;
// nothing may panic. PUBLISH is also decoded into a reused struct and must agree.
func FuzzDecode(f *testing.F) {
	for i, v := range fuzzVersions {
		for _, p := range samples(v) {
			b, err := p.AppendTo([]byte{byte(i)}, v)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	for _, tt := range vectors {
		f.Add(append([]byte{byte(tt.v - V31)}, h(f, tt.hex)...))
	}
	for _, tt := range malformed {
		f.Add(append([]byte{byte(tt.v - V31)}, h(f, tt.hex)...))
	}
	var reused Publish
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		v := fuzzVersions[int(data[0])%3]
		r := bufio.NewReader(bytes.NewReader(data[1:]))
		var buf []byte
		for i := 0; i < 8; i++ {
			h, body, nb, err := ReadRaw(r, 1<<16, buf)
			buf = nb
			if err != nil {
				return
			}
			if h.PacketSize() != h.Size()+len(body) {
				t.Fatalf("PacketSize %d != %d + %d", h.PacketSize(), h.Size(), len(body))
			}
			p, err := Decode(h.First(), body, v)
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("decode error %T %v is not *Error", err, err)
				}
				continue
			}
			if h.Type == PUBLISH {
				if err := reused.DecodeInto(h.First(), body, v); err != nil {
					t.Fatalf("DecodeInto failed where Decode succeeded: %v", err)
				}
				pp := p.(*Publish)
				if !bytes.Equal(reused.Topic, pp.Topic) || !bytes.Equal(reused.Payload, pp.Payload) ||
					reused.QoS != pp.QoS || reused.PacketID != pp.PacketID {
					t.Fatalf("DecodeInto %+v != Decode %+v", reused, pp)
				}
			}
			enc, err := p.AppendTo(nil, v)
			if err != nil {
				t.Fatalf("re-encode %s (%+v): %v", p.Type(), p, err)
			}
			n, err := p.EncodedLen(v)
			if err != nil || n != len(enc) {
				t.Fatalf("EncodedLen = %d, %v; encoded %d bytes", n, err, len(enc))
			}
			if len(enc) > h.PacketSize() {
				t.Fatalf("re-encoding grew from %d to %d bytes", h.PacketSize(), len(enc))
			}
			p2, err := decodeAll(enc, v)
			if err != nil {
				t.Fatalf("decode re-encoded % X: %v", enc, err)
			}
			assertEqual(t, p2, p)
		}
	})
}

// FuzzVarInt checks that a decoded Variable Byte Integer re-encodes to the same bytes and
// that every value up to the limit round-trips.
func FuzzVarInt(f *testing.F) {
	for _, s := range []string{"00", "7F", "80 01", "FF 7F", "80 80 01", "FF FF FF 7F", "80 00", "FF FF FF FF 01"} {
		f.Add(h(f, s), uint32(0))
	}
	f.Add([]byte{}, uint32(MaxVarInt))
	f.Add([]byte{}, uint32(1<<28))
	f.Fuzz(func(t *testing.T, b []byte, x uint32) {
		v, n, err := DecodeVarInt(b)
		rv, rerr := ReadVarInt(bytes.NewReader(b))
		if err == nil {
			if !bytes.Equal(AppendVarInt(nil, v), b[:n]) || VarIntLen(v) != n || v > MaxVarInt {
				t.Fatalf("DecodeVarInt(% X) = %d, %d: does not re-encode", b, v, n)
			}
			if rerr != nil || rv != v {
				t.Fatalf("ReadVarInt = %d, %v; DecodeVarInt = %d", rv, rerr, v)
			}
		} else if rerr == nil {
			t.Fatalf("ReadVarInt accepted % X that DecodeVarInt refused: %v", b, err)
		}
		x &= MaxVarInt
		enc := AppendVarInt(nil, x)
		got, m, err := DecodeVarInt(enc)
		if err != nil || got != x || m != len(enc) || VarIntLen(x) != len(enc) {
			t.Fatalf("round trip %d: % X -> %d, %d, %v", x, enc, got, m, err)
		}
	})
}

// FuzzTopicFilter relates the topic validators to each other and to matching.
func FuzzTopicFilter(f *testing.F) {
	for _, s := range []string{"a/b", "#", "+/+", "sport/tennis/#", "$share/g/a/#", "$share//x", "a#", "ü/\x00", "$SYS/x", "/", ""} {
		f.Add(s, "a/b")
	}
	f.Fuzz(func(t *testing.T, filter, topic string) {
		okF := ValidTopicFilter(filter)
		okN := ValidTopicName(filter)
		if okN && !okF && !IsShared(filter) {
			t.Fatalf("%q is a valid topic name but not a valid filter", filter)
		}
		if okF && !IsShared(filter) && !strings.ContainsAny(filter, "+#") && !okN {
			t.Fatalf("%q is a valid filter without wildcards but not a valid name", filter)
		}
		if okN && !MatchTopic(filter, filter) {
			t.Fatalf("topic %q does not match itself", filter)
		}
		if g, rest, ok := ParseShared(filter); ok {
			if !okF || g == "" || strings.ContainsAny(g, "/+#") || !ValidTopicFilter(rest) || SharePrefix+g+"/"+rest != filter {
				t.Fatalf("ParseShared(%q) = %q, %q inconsistent", filter, g, rest)
			}
		} else if IsShared(filter) && okF {
			t.Fatalf("%q: shared prefix, valid filter, but ParseShared refused it", filter)
		}
		if okF && !IsShared(filter) && ValidTopicName(topic) {
			// "#" matches every topic not starting with '$'; a filter matches only
			// topics with at least as many levels as its non-# levels.
			m := MatchTopic(filter, topic)
			if filter == "#" && m != (topic[0] != '$') {
				t.Fatalf("MatchTopic(#, %q) = %v", topic, m)
			}
			if m && !strings.HasSuffix(filter, "#") && strings.Count(filter, "/") != strings.Count(topic, "/") {
				t.Fatalf("MatchTopic(%q, %q) matched with different level counts", filter, topic)
			}
		}
		ref := utf8.ValidString(filter) && !strings.ContainsRune(filter, 0)
		if ValidUTF8String(filter) != ref || ValidUTF8([]byte(filter)) != ref {
			t.Fatalf("ValidUTF8String/ValidUTF8 disagree with the reference on %q", filter)
		}
		if len(filter) <= MaxStringLen && validTopicNameBytes([]byte(filter)) != okN {
			t.Fatalf("validTopicNameBytes(%q) != ValidTopicName", filter)
		}
		// A filter survives SUBSCRIBE encoding when it is valid UTF-8.
		if okF {
			s := &Subscribe{PacketID: 1, Subscriptions: []Subscription{{Filter: filter, QoS: 1}}}
			b, err := s.AppendTo(nil, V5)
			if err != nil {
				t.Fatal(err)
			}
			p, err := decodeAll(b, V5)
			if err != nil || p.(*Subscribe).Subscriptions[0].Filter != filter {
				t.Fatalf("SUBSCRIBE round trip of %q: %v", filter, err)
			}
		}
	})
}
