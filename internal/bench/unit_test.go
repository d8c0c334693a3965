package bench

import (
	"bufio"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/mqttx/mqttx/internal/packet"
)

func TestTracker(t *testing.T) {
	tests := []struct {
		name                   string
		seqs                   []uint64
		received, lost, dup, o int64
	}{
		{"in order", []uint64{1, 2, 3, 4}, 4, 0, 0, 0},
		{"joined late", []uint64{7, 8, 9}, 3, 0, 0, 0},
		{"gap", []uint64{1, 2, 5, 6}, 4, 2, 0, 0},
		{"reordered", []uint64{1, 3, 2, 4}, 4, 0, 0, 1},
		{"duplicate", []uint64{1, 2, 2, 3, 1}, 3, 0, 2, 0},
		{"late and duplicate", []uint64{1, 4, 2, 2, 3}, 4, 0, 1, 2},
		{"before the first", []uint64{5, 6, 3}, 3, 1, 0, 1},
		{"far past the window", []uint64{1, 2 + seqWindow*2, 2}, 2, 2*seqWindow - 1 + 1, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr tracker
			for _, s := range tt.seqs {
				tr.add(s)
			}
			if tr.received != tt.received || tr.lost != tt.lost || tr.duplicates != tt.dup || tr.outOfOrder != tt.o {
				t.Errorf("received %d lost %d duplicates %d out of order %d; want %d %d %d %d",
					tr.received, tr.lost, tr.duplicates, tr.outOfOrder, tt.received, tt.lost, tt.dup, tt.o)
			}
		})
	}
}

// FuzzTracker checks that whatever order messages arrive in, every distinct message is
// received once and the rest are duplicates, and that nothing is lost once every
// sequence number from the first to the last has arrived.
func FuzzTracker(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint64(1))
	f.Add([]byte{3, 1, 2, 2}, uint64(10))
	f.Fuzz(func(t *testing.T, order []byte, base uint64) {
		base = base%1e9 + 1
		var tr tracker
		distinct := map[uint64]bool{}
		lo, hi := ^uint64(0), uint64(0)
		for _, b := range order {
			s := base + uint64(b)
			tr.add(s)
			distinct[s] = true
			lo, hi = min(lo, s), max(hi, s)
		}
		if len(order) == 0 {
			return
		}
		if tr.received != int64(len(distinct)) || tr.received+tr.duplicates != int64(len(order)) {
			t.Fatalf("received %d duplicates %d of %d (%d distinct)", tr.received, tr.duplicates, len(order), len(distinct))
		}
		if want := int64(hi-lo+1) - int64(len(distinct)); tr.lost != want {
			t.Fatalf("lost %d, want %d (range %d..%d)", tr.lost, want, lo, hi)
		}
	})
}

func TestTemplate(t *testing.T) {
	tests := []struct {
		in, want, filter string
		perMsg           bool
	}{
		{"t/%i/%c/%u", "t/7/cid/user", "t/+/+/+", false},
		{"t/%s", "t/42", "t/+", true},
		{"t/%rand_1", "t/1", "t/+", true},
		{"50%/x%", "50%/x%", "50%/x%", false},
		{"a/b%ic", "a/b7c", "a/+", false},
	}
	for _, tt := range tests {
		tp, err := ParseTemplate(tt.in)
		if err != nil {
			t.Fatalf("ParseTemplate(%q): %v", tt.in, err)
		}
		b := tp.Bind(7, "cid", "user")
		if got := string(b.Append(nil, 42, rand.New(rand.NewPCG(1, 2)))); got != tt.want {
			t.Errorf("%q expands to %q, want %q", tt.in, got, tt.want)
		}
		if got := tp.Filter(); got != tt.filter {
			t.Errorf("%q filter %q, want %q", tt.in, got, tt.filter)
		}
		if tp.PerMessage() != tt.perMsg {
			t.Errorf("%q PerMessage %v", tt.in, !tt.perMsg)
		}
	}
	for _, bad := range []string{"t/%rand_", "t/%rand_0", "%rand_x"} {
		if _, err := ParseTemplate(bad); err == nil {
			t.Errorf("ParseTemplate(%q) succeeded", bad)
		}
	}
	tp, _ := ParseTemplate("t/%rand_5")
	b := tp.Bind(0, "", "")
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		if v := string(b.Append(nil, 0, rnd)); v < "t/1" || v > "t/5" || len(v) != 3 {
			t.Fatalf("%%rand_5 gave %q", v)
		}
	}
}

func TestStamp(t *testing.T) {
	p := make([]byte, StampSize+3)
	PutStamp(p, 123456789, 7, 99)
	sent, pub, seq, ok := ReadStamp(p)
	if !ok || sent != 123456789 || pub != 7 || seq != 99 {
		t.Errorf("ReadStamp = %d %d %d %v", sent, pub, seq, ok)
	}
	if _, _, _, ok := ReadStamp([]byte("some other payload, not a stamp")); ok {
		t.Error("ReadStamp accepted a foreign payload")
	}
	if _, _, _, ok := ReadStamp(p[:StampSize-1]); ok {
		t.Error("ReadStamp accepted a short payload")
	}
}

// TestMergeSummaries checks that merged percentiles are those of all samples together,
// not an average of the runs' percentiles.
func TestMergeSummaries(t *testing.T) {
	a, b, all := NewHistogram(), NewHistogram(), NewHistogram()
	for i := int64(1); i <= 1000; i++ {
		RecordLatency(a, i*int64(time.Microsecond))
		RecordLatency(all, i*int64(time.Microsecond))
	}
	for i := int64(1); i <= 10; i++ {
		RecordLatency(b, i*int64(time.Second))
		RecordLatency(all, i*int64(time.Second))
	}
	s1 := &Summary{Parameters: Parameters{Command: "sub", Count: 2}, Elapsed: 3, Received: 1000, ReceiveRate: 100, Errors: map[string]int64{"timeout": 1}, Hist: Histograms{Latency: encodeHist(a)}}
	s2 := &Summary{Parameters: Parameters{Command: "sub", Count: 3, StartIndex: 2}, Elapsed: 4, Received: 10, ReceiveRate: 5, Errors: map[string]int64{"timeout": 2}, Hist: Histograms{Latency: encodeHist(b)}}
	m, err := MergeSummaries([]*Summary{s1, s2})
	if err != nil {
		t.Fatal(err)
	}
	want := summarize(all)
	if *m.Latency != *want {
		t.Errorf("merged latency %+v, want %+v", *m.Latency, *want)
	}
	if m.Received != 1010 || m.ReceiveRate != 105 || m.Elapsed != 4 || m.Parameters.Count != 5 || m.Runs != 2 || m.Errors["timeout"] != 3 {
		t.Errorf("merged %+v", m)
	}
	if _, err := MergeSummaries([]*Summary{s1, {Parameters: Parameters{Command: "pub"}}}); err == nil {
		t.Error("merging sub and pub succeeded")
	}
	if _, err := MergeSummaries([]*Summary{{Parameters: Parameters{Command: "sub"}, Hist: Histograms{Latency: "not base64!"}}}); err == nil {
		t.Error("merging a corrupt histogram succeeded")
	}
}

// discardConn is a Conn writing into io.Discard, for the publishing path's benchmark.
func discardConn() *Conn {
	return &Conn{version: packet.V5, w: bufio.NewWriterSize(io.Discard, 64<<10), wbuf: make([]byte, 0, 512)}
}

// BenchmarkPublishPath is one message of a publisher's loop: stamp, topic with a
// per-message placeholder, encode into the write buffer.
func BenchmarkPublishPath(b *testing.B) {
	c := discardConn()
	tp, _ := ParseTemplate("bench/%i/%s")
	bound := tp.Bind(3, "c", "u")
	rnd := rand.New(rand.NewPCG(1, 2))
	payload := make([]byte, 256)
	msg := packet.Publish{QoS: 1, Payload: payload}
	var topic []byte
	b.ReportAllocs()
	b.SetBytes(256)
	var seq uint64
	for b.Loop() {
		seq++
		topic = bound.Append(topic[:0], seq, rnd)
		msg.Topic, msg.PacketID = topic, uint16(seq)|1
		PutStamp(payload, time.Now().UnixNano(), 3, seq)
		if err := c.Publish(&msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReceivePath is one message of a subscriber's loop: decode the PUBLISH,
// acknowledge it, read the stamp, record the latency and track the sequence.
func BenchmarkReceivePath(b *testing.B) {
	c := discardConn()
	payload := make([]byte, 256)
	PutStamp(payload, time.Now().UnixNano(), 3, 1)
	raw, err := (&packet.Publish{Topic: []byte("bench/3/1"), QoS: 1, PacketID: 9, Payload: payload}).AppendTo(nil, packet.V5)
	if err != nil {
		b.Fatal(err)
	}
	body := raw[2+1:] // 1-byte header, 2-byte length (256+ bytes)
	var msg packet.Publish
	var h *hdrhistogram.Histogram = NewHistogram()
	var tr tracker
	b.ReportAllocs()
	b.SetBytes(256)
	var seq uint64
	for b.Loop() {
		if err := msg.DecodeInto(raw[0], body, packet.V5); err != nil {
			b.Fatal(err)
		}
		if err := c.Ack(packet.PUBACK, msg.PacketID); err != nil {
			b.Fatal(err)
		}
		sent, _, _, ok := ReadStamp(msg.Payload)
		if !ok {
			b.Fatal("no stamp")
		}
		RecordLatency(h, time.Now().UnixNano()-sent)
		seq++
		tr.add(seq)
	}
}

// FuzzParseTemplate checks that a template without placeholders expands to itself,
// that its filter keeps the topic's levels, and that a message's expansion only
// differs from another's where %s and %rand_N are.
func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"a/b", "t/%i/%c/%u", "t/%s/%rand_10", "50%", "%rand_", "%%i", "x/%rand_3y/z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := ParseTemplate(s)
		if err != nil {
			if !strings.Contains(s, "%rand_") {
				t.Fatalf("ParseTemplate(%q) failed without %%rand_: %v", s, err)
			}
			return
		}
		if tp.String() != s {
			t.Fatalf("String() = %q, want %q", tp.String(), s)
		}
		if got, want := strings.Count(tp.Filter(), "/"), strings.Count(s, "/"); got != want {
			t.Fatalf("Filter() %q has %d levels, %q has %d", tp.Filter(), got+1, s, want+1)
		}
		b := tp.Bind(3, "cid", "user")
		one := string(b.Append(nil, 7, nil))
		if !tp.PerMessage() {
			if two := string(b.Append(nil, 8, rand.New(rand.NewPCG(1, 2)))); two != one {
				t.Fatalf("%q expands to %q and %q for two messages", s, one, two)
			}
		}
		if !strings.Contains(s, "%") && one != s {
			t.Fatalf("%q expands to %q", s, one)
		}
	})
}
