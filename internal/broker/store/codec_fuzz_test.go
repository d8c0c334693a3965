package store

import (
	"reflect"
	"testing"
)

// FuzzDecode: the decoders of what the file holds never panic on damaged
// bytes, and what decodes without error encodes back to the same value.
func FuzzDecode(f *testing.F) {
	f.Add(encodeMessage(fullMessage()))
	f.Add(encodeMessage(&Message{Topic: "x", Payload: []byte("1"), QoS: 1}))
	f.Add(encodeSession(&Session{User: "alice", Expiry: 3600, Version: 5, DisconnectedAt: 42}))
	f.Add(encodeSub(&Subscription{Filter: "a/#", QoS: 2, NoLocal: true, RetainAsPub: true, RetainHandling: 2, ID: 9}))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := decodeMessage(b); err == nil {
			again, err := decodeMessage(encodeMessage(m))
			if err != nil || !reflect.DeepEqual(again, m) {
				t.Fatalf("message %+v does not round-trip: %+v, %v", m, again, err)
			}
		}
		if s, err := decodeSession(b); err == nil {
			again, err := decodeSession(encodeSession(&s))
			if err != nil || again != s {
				t.Fatalf("session %+v does not round-trip: %+v, %v", s, again, err)
			}
		}
		if s, err := decodeSub("f", b); err == nil {
			again, err := decodeSub("f", encodeSub(&s))
			if err != nil || !reflect.DeepEqual(again, s) {
				t.Fatalf("subscription %+v does not round-trip: %+v, %v", s, again, err)
			}
		}
		splitClientKey(b)
	})
}
