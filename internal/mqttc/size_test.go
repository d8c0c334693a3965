package mqttc

import (
	"errors"
	"strings"
	"testing"
)

func TestPublishSize(t *testing.T) {
	pf := byte(1)
	tests := []struct {
		name string
		v    Version
		m    Message
		want int
	}{
		{"v311 qos0", V311, Message{Topic: "t", Payload: []byte("abc")}, 1 + 1 + 2 + 1 + 3},
		{"v311 qos1", V311, Message{Topic: "t", Payload: []byte("abc"), QoS: 1}, 1 + 1 + 2 + 1 + 2 + 3},
		{"v5 qos0", V5, Message{Topic: "t", Payload: []byte("abc")}, 1 + 1 + 2 + 1 + 1 + 3},
		{"v5 props", V5, Message{Topic: "t", Properties: &PublishProperties{PayloadFormat: &pf, UserProperties: []UserProperty{{"k", "v"}}}},
			1 + 1 + 2 + 1 + 1 + 2 + (1 + 2 + 1 + 2 + 1)},
		{"v5 two-byte length", V5, Message{Topic: "limited", Payload: make([]byte, 2000)}, 2013},
	}
	for _, tt := range tests {
		got, err := PublishSize(tt.v, tt.m)
		if err != nil || got != tt.want {
			t.Errorf("%s: PublishSize = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}

func TestCheckSize(t *testing.T) {
	m := Message{Topic: "t", Payload: make([]byte, 268435455)}
	err := checkSize(V5, m, 0)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Broker || !strings.Contains(err.Error(), "exceeds MQTT's limit of 268435455 bytes") {
		t.Fatalf("protocol limit: %v", err)
	}
	err = checkSize(V5, Message{Topic: "t", Payload: make([]byte, 100)}, 50)
	if !errors.As(err, &tl) || !tl.Broker || tl.Limit != 50 || tl.Size != 106 {
		t.Fatalf("broker limit: %v", err)
	}
	if err := checkSize(V5, Message{Topic: "t", Payload: make([]byte, 10)}, 50); err != nil {
		t.Fatalf("fits: %v", err)
	}
}
