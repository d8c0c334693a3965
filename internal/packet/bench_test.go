package packet

import (
	"fmt"
	"testing"
)

func benchPublishes() []struct {
	name string
	v    Version
	p    *Publish
} {
	payload := make([]byte, 256)
	for i := range payload {
		payload[i] = byte(i)
	}
	var props Properties
	props.SetMessageExpiry(300)
	props.SetContentType([]byte("application/json"))
	props.User = []UserProperty{{Key: []byte("trace"), Value: []byte("abc123")}}
	var out []struct {
		name string
		v    Version
		p    *Publish
	}
	for _, v := range []Version{V311, V5} {
		for _, qos := range []byte{0, 1} {
			p := &Publish{Topic: []byte("sensors/building-1/floor-2/temp"), Payload: payload, QoS: qos}
			if qos > 0 {
				p.PacketID = 42
			}
			if v == V5 {
				p.Properties = props
			}
			out = append(out, struct {
				name string
				v    Version
				p    *Publish
			}{fmt.Sprintf("v%s/qos%d", v, qos), v, p})
		}
	}
	return out
}

// BenchmarkDecodePublish decodes a 256-byte PUBLISH into a reused *Publish: 0 allocs/op.
func BenchmarkDecodePublish(b *testing.B) {
	for _, bc := range benchPublishes() {
		b.Run(bc.name, func(b *testing.B) {
			enc, err := bc.p.AppendTo(nil, bc.v)
			if err != nil {
				b.Fatal(err)
			}
			h, body, _, err := ReadRaw(bufioReader(enc), 0, nil)
			if err != nil {
				b.Fatal(err)
			}
			first := h.First()
			var p Publish
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := p.DecodeInto(first, body, bc.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodePublish appends a 256-byte PUBLISH to a reused buffer: 0 allocs/op.
func BenchmarkEncodePublish(b *testing.B) {
	for _, bc := range benchPublishes() {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var err error
				buf, err = bc.p.AppendTo(buf[:0], bc.v)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

// TestPublishZeroAlloc guards the allocation-free PUBLISH path the benchmarks measure.
func TestPublishZeroAlloc(t *testing.T) {
	for _, bc := range benchPublishes() {
		buf := make([]byte, 0, 1024)
		var p Publish
		enc, _ := bc.p.AppendTo(nil, bc.v)
		h, body, _, err := ReadRaw(bufioReader(enc), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = p.DecodeInto(h.First(), body, bc.v) // warm the reused slices
		allocs := testing.AllocsPerRun(100, func() {
			buf, _ = bc.p.AppendTo(buf[:0], bc.v)
			if err := p.DecodeInto(h.First(), body, bc.v); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocs per encode+decode, want 0", bc.name, allocs)
		}
	}
}
