package broker

import "testing"

// BenchmarkByteCounters measures what counting the bytes of $SYS costs per
// message: one packet read and one written, on as many connections as
// GOMAXPROCS, each adding to the shard of its address. Compare ns/op with
// the broker's CPU per message (scripts/brokerbench.sh, about 2.5 us).
func BenchmarkByteCounters(b *testing.B) {
	s := New(Options{})
	b.RunParallel(func(pb *testing.PB) {
		c := &conn{srv: s}
		for pb.Next() {
			c.countIn(300)
			c.countOut(300)
		}
	})
	st := s.Stats()
	if st.BytesReceived != uint64(b.N)*300 || st.BytesSent != uint64(b.N)*300 {
		b.Fatalf("counted %d in, %d out; want %d each", st.BytesReceived, st.BytesSent, b.N*300)
	}
}
