package mqttc

import "testing"

// FuzzTraceReport: whatever bytes arrive in whatever pieces, every packet reported is
// whole, and the sizes reported plus what is left add up to the bytes seen.
func FuzzTraceReport(f *testing.F) {
	f.Add([]byte{0x30, 0x05, 0x00, 0x01, 't', 'x', 'y', 0xc0, 0x00}, uint8(3))
	f.Add([]byte{0x40, 0x02, 0x00, 0x01, 0x90, 0x03, 0x00, 0x01, 0x00}, uint8(1))
	f.Add([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x7f}, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, piece uint8) {
		step := int(piece%16) + 1
		total := 0
		c := &traceConn{v: V5, fn: func(p PacketTrace) { total += p.Size }}
		var buf []byte
		for i := 0; i < len(data); i += step {
			buf = c.report(buf, data[i:min(i+step, len(data))], true)
		}
		if total+len(buf) != len(data) {
			t.Fatalf("reported %d bytes and kept %d of %d", total, len(buf), len(data))
		}
	})
}

func TestTraceDescribe(t *testing.T) {
	var got []PacketTrace
	c := &traceConn{v: V311, fn: func(p PacketTrace) { got = append(got, p) }}
	// A PUBLISH (qos 1, id 7, topic "a/b", payload "hi") in two pieces, then a PUBACK.
	pkt := []byte{0x32, 0x09, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x07, 'h', 'i', 0x40, 0x02, 0x00, 0x07}
	rest := c.report(nil, pkt[:4], false)
	rest = c.report(rest, pkt[4:], false)
	if len(rest) != 0 || len(got) != 2 {
		t.Fatalf("got %+v, rest %x", got, rest)
	}
	if p := got[0]; p.Type != "PUBLISH" || p.Topic != "a/b" || p.QoS != 1 || p.ID != 7 || p.Size != 11 || p.Err != "" {
		t.Errorf("publish: %+v", p)
	}
	if p := got[1]; p.Type != "PUBACK" || p.ID != 7 || p.Size != 4 {
		t.Errorf("puback: %+v", p)
	}
}
